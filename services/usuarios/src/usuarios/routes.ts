import {
  type Access,
  assertReaches,
  body,
  bodyErrors,
  type Config,
  callerOf,
  type Db,
  type Field,
  type FieldErrors,
  fields,
  forbidden,
  idParams,
  isTipoUsuario,
  notFound,
  pageParameters,
  pageSchema,
  paginate,
  query,
  record,
  schemas,
  ValidationError,
  type Values,
} from '@servicios/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { repositorioLimites } from '../tokens/limites.js';
import { regulada } from '../tokens/routes.js';
import type { Contrasenas } from './password.js';
import { type FiltroUsuarios, repositorioUsuarios } from './repository.js';
import { TIPOS_USUARIO, type TipoUsuario } from './schema.js';
import { validarPassword } from './validar-password.js';

/**
 * Who may call what (CONTRACT §5.4). `own`: other users look missing (404); `own-else-403`: they are
 * refused. A role that is not listed gets 403 before the id is even read; anonymous callers get 401.
 * What a role may *write* (another tipo_usuario) is checked in the handlers below.
 */
const quien = {
  registrar: 'optional',
  listar: { empleado: 'all', administrador: 'all' },
  ver: { cliente: 'own', empleado: 'all', administrador: 'all' },
  yo: { cliente: 'own', empleado: 'own', administrador: 'own' },
  editar: { cliente: 'own', empleado: 'own-else-403', administrador: 'all' },
  borrar: { cliente: 'own', empleado: 'own-else-403', administrador: 'all' },
  activar: { administrador: 'all' },
  password: { cliente: 'own', empleado: 'own-else-403', administrador: 'all' },
} satisfies Record<string, Access>;

/** What a client may write; everything else in a body is ignored, as DRF does. */
const escritura = {
  email: fields.email({ max: 254 }),
  nombre: fields.string({ max: 150 }),
  apellido: fields.string({ max: 150 }),
  telefono: fields.string({
    max: 20,
    required: false,
    pattern: /^[\d +()-]*$/,
    patternMessage: 'Introduzca un teléfono válido: solo dígitos, espacios y los signos + - ( ).',
  }),
  tipo_usuario: fields.choice(TIPOS_USUARIO, { fallback: 'cliente' }),
};
type Escritura = Values<typeof escritura>;
const registro = { ...escritura, password: fields.password({ max: 128 }) };

/** `password_actual` is judged against the stored hash, not by its shape: whatever is wrong, one message. */
const cualquiera: Field<unknown> = {
  required: false,
  schema: { type: 'string', format: 'password', writeOnly: true },
  parse: (value) => ({ ok: true, value }),
};
const cambioPassword = { password: fields.password({ max: 128 }), password_actual: cualquiera };
const ACTUAL_INCORRECTA = 'Contraseña actual incorrecta.';

const filtros = {
  activo: fields.boolean(),
  tipo_usuario: fields.choice(TIPOS_USUARIO),
  search: fields.string({
    max: 200,
    required: false,
    description: 'Texto buscado en nombre, apellido y email, sin distinguir mayúsculas ni acentos.',
  }),
  ordering: fields.ordering(['email', 'nombre', 'apellido', 'fecha_creacion'] as const),
};

const usuario = record({
  id: { type: 'integer', readOnly: true },
  email: { type: 'string', format: 'email' },
  nombre: { type: 'string' },
  apellido: { type: 'string' },
  nombre_completo: { type: 'string', readOnly: true },
  telefono: { type: 'string' },
  tipo_usuario: { type: 'string', enum: [...TIPOS_USUARIO] },
  activo: { type: 'boolean', readOnly: true },
  fecha_creacion: { ...schemas.dateTime, readOnly: true },
  fecha_actualizacion: { ...schemas.dateTime, readOnly: true },
});
const tags = ['usuarios'];
const { problem } = schemas;
const errores = { 400: problem, 401: problem, 403: problem, 404: problem };

/** The body as the client sent it (before validation replaced it), for the checks that come first. */
function crudo(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

/** A valid tipo_usuario in the body, other than `actual`, from a non-administrator: 403 before validation. */
function cambiaDeRol(request: FastifyRequest, actual: TipoUsuario): void {
  const pedido = crudo(request).tipo_usuario;
  if (request.caller?.role !== 'administrador' && isTipoUsuario(pedido) && pedido !== actual)
    throw forbidden();
}

const texto = (value: unknown) => (typeof value === 'string' ? value.trim() : undefined);

export async function rutasUsuarios(
  app: FastifyInstance,
  { db, config, contrasenas }: { db: Db; config: Readonly<Config>; contrasenas: Contrasenas },
): Promise<void> {
  const repo = repositorioUsuarios(db);
  const limites = repositorioLimites(db);
  const existente = async (id: number) => (await repo.obtener(id)) ?? Promise.reject(notFound());
  /** The target of an action on one user: 404 if missing, 404/403 if out of the caller's reach. */
  const alcanzable = async (request: FastifyRequest, id: number) => {
    const actual = await existente(id);
    assertReaches(request, id);
    return actual;
  };

  app.get(
    '/api/usuarios/',
    {
      config: { access: quien.listar },
      schema: {
        tags,
        summary: 'Lista paginada de usuarios (empleado, administrador)',
        querystring: query(filtros, pageParameters),
        response: { 200: pageSchema(usuario), ...errores },
      },
    },
    async (request) => {
      const filtro = request.query as FiltroUsuarios;
      return paginate(request, {
        count: () => repo.contar(filtro),
        page: (limit, offset) => repo.pagina(filtro, limit, offset),
      });
    },
  );

  app.post(
    '/api/usuarios/',
    {
      config: { access: quien.registrar },
      schema: {
        tags,
        summary: 'Registro: crea un usuario (cliente; otro tipo_usuario solo un administrador)',
        body: body(registro, 'create'),
        response: { 201: usuario, ...errores, 429: problem },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      cambiaDeRol(request, 'cliente');
      if (!request.caller) {
        const { registrations, registrationsWindowS } = config.identity.throttle;
        const intento = await limites.intentar([
          { clave: `registro:${request.ip}`, maximo: registrations, ventanaS: registrationsWindowS },
        ]);
        if (!intento.ok) throw regulada(intento.esperaS);
      }
      const problemas = bodyErrors(request);
      const cuerpo = crudo(request);
      if (!problemas.password) {
        const invalida = validarPassword(String(cuerpo.password), {
          email: texto(cuerpo.email),
          nombre: texto(cuerpo.nombre),
          apellido: texto(cuerpo.apellido),
        });
        if (invalida.length) problemas.password = invalida;
      }
      if (Object.keys(problemas).length) throw new ValidationError(problemas);
      const { password, ...datos } = request.body as Escritura & { password: string };
      const creado = await repo.crear({ ...datos, password: await contrasenas.cifrar(password) });
      return reply.code(201).send(creado);
    },
  );

  app.get(
    '/api/usuarios/me/',
    {
      config: { access: quien.yo },
      schema: { tags, summary: 'El usuario del token', response: { 200: usuario, ...errores } },
    },
    async (request) => existente(callerOf(request).id),
  );

  app.get(
    '/api/usuarios/:id/',
    {
      config: { access: quien.ver },
      schema: {
        tags,
        summary: 'Un usuario (activo o no); un cliente, solo a sí mismo',
        params: idParams,
        response: { 200: usuario, ...errores },
      },
    },
    async (request) => alcanzable(request, (request.params as { id: number }).id),
  );

  for (const [method, mode] of [
    ['PUT', 'replace'],
    ['PATCH', 'partial'],
  ] as const) {
    app.route({
      method,
      url: '/api/usuarios/:id/',
      config: { access: quien.editar },
      schema: {
        tags,
        summary:
          mode === 'replace'
            ? 'Reemplaza los campos escribibles (tipo_usuario: solo un administrador lo cambia)'
            : 'Cambia solo los campos dados (tipo_usuario: solo un administrador lo cambia)',
        params: idParams,
        body: body(escritura, mode),
        response: { 200: usuario, ...errores, 409: problem },
      },
      attachValidation: true,
      handler: async (request) => {
        const problemas = bodyErrors(request);
        const { id } = request.params as { id: number };
        const actual = await alcanzable(request, id);
        cambiaDeRol(request, actual.tipo_usuario);
        if (Object.keys(problemas).length) throw new ValidationError(problemas);
        return (await repo.actualizar(id, request.body as Partial<Escritura>)) ?? Promise.reject(notFound());
      },
    });
  }

  app.delete(
    '/api/usuarios/:id/',
    {
      config: { access: quien.borrar },
      schema: {
        tags,
        summary: 'Baja lógica: activo pasa a false',
        params: idParams,
        response: { 204: schemas.noContent, ...errores, 409: problem },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: number };
      await alcanzable(request, id);
      if (!(await repo.actualizar(id, { activo: false }, 'desactivado'))) throw notFound();
      return reply.code(204).send();
    },
  );

  for (const [accion, activo] of [
    ['activar', true],
    ['desactivar', false],
  ] as const) {
    app.post(
      `/api/usuarios/:id/${accion}/`,
      {
        config: { access: quien.activar },
        schema: {
          tags,
          summary: `activo: ${activo} (idempotente; administrador)`,
          params: idParams,
          response: { 200: usuario, ...errores, 409: problem },
        },
      },
      async (request) =>
        (await repo.actualizar(
          (request.params as { id: number }).id,
          { activo },
          activo ? 'activado' : 'desactivado',
        )) ?? Promise.reject(notFound()),
    );
  }

  app.post(
    '/api/usuarios/:id/password/',
    {
      config: { access: quien.password },
      schema: {
        tags,
        summary: 'Cambia la contraseña (la propia exige password_actual); cierra todas sus sesiones',
        params: idParams,
        body: body(cambioPassword, 'create'),
        response: { 204: schemas.noContent, ...errores },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const problemas: FieldErrors = bodyErrors(request);
      const { id } = request.params as { id: number };
      const actual = await alcanzable(request, id);
      const cuerpo = crudo(request);
      // One's own password, administrators included, is changed only by proving the current one.
      if (callerOf(request).id === id) {
        const dada = cuerpo.password_actual;
        const correcta =
          typeof dada === 'string' && dada !== '' && (await contrasenas.coincide(dada, await repo.hash(id)));
        if (!correcta) problemas.password_actual = [ACTUAL_INCORRECTA];
      }
      if (!problemas.password) {
        const invalida = validarPassword(String(cuerpo.password), actual);
        if (invalida.length) problemas.password = invalida;
      }
      if (Object.keys(problemas).length) throw new ValidationError(problemas);
      const hash = await contrasenas.cifrar(String(cuerpo.password));
      if (!(await repo.cambiarPassword(id, hash))) throw notFound();
      return reply.code(204).send();
    },
  );
}
