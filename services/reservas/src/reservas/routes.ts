import {
  body,
  bodyErrors,
  type Db,
  fields,
  HttpError,
  idParams,
  notFound,
  pageParameters,
  pageSchema,
  paginate,
  parseDateTime,
  query,
  record,
  schemas,
  ValidationError,
  type Values,
} from '@servicios/platform';
import type { FastifyInstance } from 'fastify';
import { type Accion, type FiltroReservas, repositorioReservas, TRANSICIONES } from './repository.js';
import { ESTADOS } from './schema.js';

const FECHA_PASADA = 'La fecha de la reserva debe estar en el futuro.';

function escritura(fechaFutura: boolean) {
  return {
    usuario_id: fields.integer({
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
      description: 'Usuario de servicio-usuarios.',
    }),
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

export async function rutasReservas(app: FastifyInstance, { db }: { db: Db }): Promise<void> {
  const repo = repositorioReservas(db);

  /** After a conditional update matched nothing: the row is gone (404) or in the wrong state (409). */
  async function rechazo(id: number, accion: string): Promise<never> {
    const actual = await repo.obtener(id);
    if (!actual) throw notFound();
    throw new HttpError(409, `No se puede ${accion} una reserva en estado "${actual.estado}".`);
  }

  app.get(
    '/api/reservas/',
    {
      schema: {
        tags,
        summary: 'Lista paginada de reservas',
        querystring: query(filtros, pageParameters),
        response: { 200: pageSchema(reserva) },
      },
    },
    async (request) => {
      const filtro = request.query as FiltroReservas;
      return paginate(request, {
        count: () => repo.contar(filtro),
        page: (limit, offset) => repo.pagina(filtro, limit, offset),
      });
    },
  );

  app.post(
    '/api/reservas/',
    {
      schema: {
        tags,
        summary: 'Crea una reserva pendiente',
        body: body(escritura(true), 'create'),
        response: { 201: reserva, 400: problem },
      },
    },
    async (request, reply) => reply.code(201).send(await repo.crear(request.body as Escritura)),
  );

  app.get(
    '/api/reservas/:id/',
    { schema: { tags, summary: 'Una reserva', params: idParams, response: { 200: reserva, 404: problem } } },
    async (request) =>
      (await repo.obtener((request.params as { id: number }).id)) ?? Promise.reject(notFound()),
  );

  for (const [method, mode] of [
    ['PUT', 'replace'],
    ['PATCH', 'partial'],
  ] as const) {
    app.route({
      method,
      url: '/api/reservas/:id/',
      schema: {
        tags,
        summary: 'Modifica una reserva pendiente o confirmada (409 si cancelada o completada)',
        params: idParams,
        body: body(escritura(false), mode),
        response: { 200: reserva, 400: problem, 404: problem, 409: problem },
      },
      attachValidation: true,
      handler: async (request) => {
        const errores = bodyErrors(request);
        const { id } = request.params as { id: number };
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
        if (pasada || Object.keys(errores).length) {
          const actual = await repo.obtener(id);
          if (!actual) throw notFound();
          if (pasada && actual.fecha_reserva.getTime() !== fecha.getTime())
            errores.fecha_reserva ??= [FECHA_PASADA];
        }
        if (Object.keys(errores).length) throw new ValidationError(errores);
        const cambios = { ...(request.body as Partial<Escritura>) };
        if (pasada) delete cambios.fecha_reserva;
        return (await repo.actualizarSiEditable(id, cambios)) ?? rechazo(id, 'modificar');
      },
    });
  }

  app.delete(
    '/api/reservas/:id/',
    {
      schema: {
        tags,
        summary: 'Elimina la reserva',
        params: idParams,
        response: { 204: schemas.noContent, 404: problem },
      },
    },
    async (request, reply) => {
      if (!(await repo.eliminar((request.params as { id: number }).id))) throw notFound();
      return reply.code(204).send();
    },
  );

  for (const accion of Object.keys(TRANSICIONES) as Accion[]) {
    const { desde, hacia } = TRANSICIONES[accion];
    app.post(
      `/api/reservas/:id/${accion}/`,
      {
        schema: {
          tags,
          summary: `${desde.join(' | ')} → ${hacia} (409 desde cualquier otro estado)`,
          params: idParams,
          response: { 200: reserva, 404: problem, 409: problem },
        },
      },
      async (request) => {
        const { id } = request.params as { id: number };
        return (await repo.transicion(id, accion)) ?? rechazo(id, accion);
      },
    );
  }
}
