import {
  body,
  bodyErrors,
  type Db,
  fields,
  idParams,
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
import type { FastifyInstance } from 'fastify';
import { type FiltroUsuarios, repositorioUsuarios } from './repository.js';
import { TIPOS_USUARIO } from './schema.js';

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

const filtros = {
  activo: fields.boolean(),
  tipo_usuario: fields.choice(TIPOS_USUARIO),
  search: fields.string({
    max: 200,
    required: false,
    description: 'Texto buscado en nombre, apellido y email.',
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

export async function rutasUsuarios(app: FastifyInstance, { db }: { db: Db }): Promise<void> {
  const repo = repositorioUsuarios(db);
  const existente = async (id: number) => (await repo.obtener(id)) ?? Promise.reject(notFound());

  app.get(
    '/api/usuarios/',
    {
      schema: {
        tags,
        summary: 'Lista paginada de usuarios',
        querystring: query(filtros, pageParameters),
        response: { 200: pageSchema(usuario) },
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
      schema: {
        tags,
        summary: 'Crea un usuario',
        body: body(escritura, 'create'),
        response: { 201: usuario, 400: problem },
      },
    },
    async (request, reply) => reply.code(201).send(await repo.crear(request.body as Escritura)),
  );

  app.get(
    '/api/usuarios/:id/',
    {
      schema: {
        tags,
        summary: 'Un usuario (activo o no)',
        params: idParams,
        response: { 200: usuario, 404: problem },
      },
    },
    async (request) => existente((request.params as { id: number }).id),
  );

  for (const [method, mode] of [
    ['PUT', 'replace'],
    ['PATCH', 'partial'],
  ] as const) {
    app.route({
      method,
      url: '/api/usuarios/:id/',
      schema: {
        tags,
        summary: mode === 'replace' ? 'Reemplaza los campos escribibles' : 'Cambia solo los campos dados',
        params: idParams,
        body: body(escritura, mode),
        response: { 200: usuario, 400: problem, 404: problem },
      },
      attachValidation: true,
      handler: async (request) => {
        const errores = bodyErrors(request);
        const { id } = request.params as { id: number };
        if (Object.keys(errores).length) {
          await existente(id);
          throw new ValidationError(errores);
        }
        return (await repo.actualizar(id, request.body as Partial<Escritura>)) ?? Promise.reject(notFound());
      },
    });
  }

  app.delete(
    '/api/usuarios/:id/',
    {
      schema: {
        tags,
        summary: 'Baja lógica: activo pasa a false',
        params: idParams,
        response: { 204: schemas.noContent, 404: problem },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: number };
      if (!(await repo.actualizar(id, { activo: false }))) throw notFound();
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
        schema: {
          tags,
          summary: `activo: ${activo} (idempotente)`,
          params: idParams,
          response: { 200: usuario, 404: problem },
        },
      },
      async (request) =>
        (await repo.actualizar((request.params as { id: number }).id, { activo })) ??
        Promise.reject(notFound()),
    );
  }
}
