import {
  type Access,
  assertReaches,
  body,
  bodyErrors,
  callerOf,
  type FieldErrors,
  fields,
  forbidden,
  HttpError,
  idParams,
  notFound,
  pageParameters,
  pageSchema,
  paginate,
  parseDateTime,
  query,
  record,
  type ServiceContext,
  schemas,
  ValidationError,
  type Values,
} from '@servicios/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Accion, type FiltroReservas, repositorioReservas, TRANSICIONES } from './repository.js';
import { ESTADOS } from './schema.js';
import { TITULAR_INVALIDO, titulares } from './titulares.js';

/**
 * Who may call what (CONTRACT §5.4). A cliente reaches its own reservations only (`own`: others look
 * missing); `see-own`: it sees its own but may not act on them (403), others' still look missing. A
 * role that is not listed gets 403 before the id is read; anonymous callers get 401.
 */
const quien = {
  listar: { cliente: 'own', empleado: 'all', administrador: 'all' },
  crear: { cliente: 'own', empleado: 'all', administrador: 'all' },
  ver: { cliente: 'own', empleado: 'all', administrador: 'all' },
  editar: { cliente: 'own', empleado: 'all', administrador: 'all' },
  cancelar: { cliente: 'own', empleado: 'all', administrador: 'all' },
  confirmar: { cliente: 'see-own', empleado: 'all', administrador: 'all' },
  completar: { cliente: 'see-own', empleado: 'all', administrador: 'all' },
  borrar: { cliente: 'see-own', administrador: 'all' },
} satisfies Record<string, Access>;

const FECHA_PASADA = 'La fecha de la reserva debe estar en el futuro.';

function escritura(fechaFutura: boolean) {
  return {
    // Optional: omitted on POST it is the caller; omitted on PUT it stays as it is.
    usuario_id: {
      ...fields.integer({
        min: 1,
        max: Number.MAX_SAFE_INTEGER,
        description: 'Usuario de servicio-usuarios; por omisión, quien llama.',
      }),
      required: false,
    },
    fecha_reserva: fields.dateTime({ future: fechaFutura ? FECHA_PASADA : undefined }),
    numero_personas: fields.integer({ min: 1, max: 50 }),
    notas: fields.string({ max: 500, required: false }),
  };
}
type Escritura = Values<ReturnType<typeof escritura>>;

const filtros = {
  estado: fields.choice(ESTADOS),
  usuario_id: fields.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  fecha_desde: fields.dateTime({ bound: 'start', description: 'fecha_reserva ≥ este instante (o día).' }),
  fecha_hasta: fields.dateTime({ bound: 'end', description: 'fecha_reserva ≤ este instante (o día).' }),
  ordering: fields.ordering(['fecha_reserva', 'fecha_creacion', 'numero_personas'] as const),
};

const reserva = record({
  id: { type: 'integer', readOnly: true },
  usuario_id: { type: 'integer', minimum: 1 },
  fecha_reserva: schemas.dateTime,
  numero_personas: { type: 'integer', minimum: 1, maximum: 50 },
  estado: { type: 'string', enum: [...ESTADOS], readOnly: true },
  notas: { type: 'string' },
  fecha_creacion: { ...schemas.dateTime, readOnly: true },
  fecha_actualizacion: { ...schemas.dateTime, readOnly: true },
});
const tags = ['reservas'];
const { problem } = schemas;
const errores = { 400: problem, 401: problem, 403: problem, 404: problem };

/**
 * A cliente naming another holder is refused before the body is judged (CONTRACT §5.4): the raw
 * `usuario_id` counts when it is a valid id; an invalid one is left to validation (400 for everyone).
 */
function otroTitular(request: FastifyRequest): void {
  const caller = callerOf(request);
  if (caller.scope === 'all') return;
  const pedido = fields
    .integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
    .parse((request.body as { usuario_id?: unknown } | null)?.usuario_id);
  if (pedido.ok && pedido.value !== caller.id) throw forbidden();
}

/** The holder a write is restricted to: the caller, unless its scope reaches every reservation. */
const titularDe = (request: FastifyRequest) => {
  const caller = callerOf(request);
  return caller.scope === 'all' ? undefined : caller.id;
};

export async function rutasReservas(
  app: FastifyInstance,
  { db, usuariosUrl, telemetry }: ServiceContext & { usuariosUrl: string },
): Promise<void> {
  const repo = repositorioReservas(db);
  const admite = titulares(usuariosUrl, telemetry);

  /**
   * Staff giving a reservation to someone else: that user must exist and be active now (CONTRACT §6).
   * Reported with the body's other errors; a servicio-usuarios that cannot say is a 503.
   */
  async function comprobarTitular(
    request: FastifyRequest,
    usuarioId: number | undefined,
    problemas: FieldErrors,
  ) {
    if (usuarioId === undefined || usuarioId === callerOf(request).id || problemas.usuario_id) return;
    if (!(await admite(usuarioId, request.headers.authorization ?? '')))
      problemas.usuario_id = [TITULAR_INVALIDO];
  }

  /** The valid `usuario_id` of a body that may have failed validation elsewhere. */
  const usuarioPedido = (request: FastifyRequest) => {
    const pedido = fields
      .integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
      .parse((request.body as { usuario_id?: unknown } | null)?.usuario_id);
    return pedido.ok ? pedido.value : undefined;
  };

  /** The reservation, if the caller reaches it: 404 if missing or someone else's, 403 if visible only. */
  async function alcanzable(request: FastifyRequest, id: number) {
    const actual = await repo.obtener(id);
    if (!actual) throw notFound();
    assertReaches(request, actual.usuario_id);
    return actual;
  }

  /** After a conditional update matched nothing: the row is gone (404) or in the wrong state (409). */
  async function rechazo(request: FastifyRequest, id: number, accion: string): Promise<never> {
    const actual = await alcanzable(request, id);
    throw new HttpError(409, `No se puede ${accion} una reserva en estado "${actual.estado}".`);
  }

  app.get(
    '/api/reservas/',
    {
      config: { access: quien.listar },
      schema: {
        tags,
        summary: 'Lista paginada de reservas (un cliente, solo las suyas)',
        querystring: query(filtros, pageParameters),
        response: { 200: pageSchema(reserva), ...errores },
      },
    },
    async (request) => {
      const filtro: FiltroReservas = { ...(request.query as FiltroReservas), titular: titularDe(request) };
      return paginate(request, {
        count: () => repo.contar(filtro),
        page: (limit, offset) => repo.pagina(filtro, limit, offset),
      });
    },
  );

  app.post(
    '/api/reservas/',
    {
      config: { access: quien.crear },
      schema: {
        tags,
        summary: 'Crea una reserva pendiente (usuario_id por omisión: quien llama)',
        body: body(escritura(true), 'create'),
        response: { 201: reserva, ...errores },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      otroTitular(request);
      const problemas = bodyErrors(request);
      await comprobarTitular(request, usuarioPedido(request), problemas);
      if (Object.keys(problemas).length) throw new ValidationError(problemas);
      const datos = request.body as Escritura;
      const creada = await repo.crear({ ...datos, usuario_id: datos.usuario_id ?? callerOf(request).id });
      return reply.code(201).send(creada);
    },
  );

  app.get(
    '/api/reservas/:id/',
    {
      config: { access: quien.ver },
      schema: { tags, summary: 'Una reserva', params: idParams, response: { 200: reserva, ...errores } },
    },
    async (request) => alcanzable(request, (request.params as { id: number }).id),
  );

  for (const [method, mode] of [
    ['PUT', 'replace'],
    ['PATCH', 'partial'],
  ] as const) {
    app.route({
      method,
      url: '/api/reservas/:id/',
      config: { access: quien.editar },
      schema: {
        tags,
        summary: 'Modifica una reserva pendiente o confirmada (409 si cancelada o completada)',
        params: idParams,
        body: body(escritura(false), mode),
        response: { 200: reserva, ...errores, 409: problem },
      },
      attachValidation: true,
      handler: async (request) => {
        const problemas: FieldErrors = bodyErrors(request);
        const { id } = request.params as { id: number };
        const titular = titularDe(request);
        // A body that failed validation is still raw: its date is read here to be judged with the rest.
        const enviada = (request.body as { fecha_reserva?: unknown } | null)?.fecha_reserva;
        const fecha =
          enviada instanceof Date
            ? enviada
            : typeof enviada === 'string'
              ? parseDateTime(enviada)
              : undefined;
        const pasada = fecha !== undefined && fecha.getTime() <= Date.now();
        // As DRF, the row is looked up before the body is judged (a bad body for a missing id is a
        // 404), and a date in the past is an error only if it changes the stored one.
        // A new holder must be checked unless it stays the same: the row is needed to know.
        const nuevoTitular = usuarioPedido(request);
        const otro = nuevoTitular !== undefined && nuevoTitular !== callerOf(request).id;
        if (titular !== undefined || pasada || otro || Object.keys(problemas).length) {
          const actual = await alcanzable(request, id);
          otroTitular(request);
          if (pasada && actual.fecha_reserva.getTime() !== fecha.getTime())
            problemas.fecha_reserva ??= [FECHA_PASADA];
          if (nuevoTitular !== actual.usuario_id) await comprobarTitular(request, nuevoTitular, problemas);
        }
        if (Object.keys(problemas).length) throw new ValidationError(problemas);
        const cambios = { ...(request.body as Partial<Escritura>) };
        if (pasada) delete cambios.fecha_reserva;
        return (await repo.actualizarSiEditable(id, cambios, titular)) ?? rechazo(request, id, 'modificar');
      },
    });
  }

  app.delete(
    '/api/reservas/:id/',
    {
      config: { access: quien.borrar },
      schema: {
        tags,
        summary: 'Elimina la reserva (administrador)',
        params: idParams,
        response: { 204: schemas.noContent, ...errores },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: number };
      if (titularDe(request) !== undefined) await alcanzable(request, id);
      if (!(await repo.eliminar(id))) throw notFound();
      return reply.code(204).send();
    },
  );

  for (const accion of Object.keys(TRANSICIONES) as Accion[]) {
    const { desde, hacia } = TRANSICIONES[accion];
    app.post(
      `/api/reservas/:id/${accion}/`,
      {
        config: { access: quien[accion] },
        schema: {
          tags,
          summary: `${desde.join(' | ')} → ${hacia} (409 desde cualquier otro estado)`,
          params: idParams,
          response: { 200: reserva, ...errores, 409: problem },
        },
      },
      async (request) => {
        const { id } = request.params as { id: number };
        // A cliente's reach is settled before the state: a confirmar on its own is 403, on others' 404.
        if (callerOf(request).scope === 'see-own') await alcanzable(request, id);
        const quien = { id: callerOf(request).id, titular: titularDe(request) };
        return (await repo.transicion(id, accion, quien)) ?? rechazo(request, id, accion);
      },
    );
  }
}
