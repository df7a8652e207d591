// Shared set-up of the reservas suites (not a test file itself): servicio-usuarios as the identity
// provider and servicio-reservas verifying its tokens, both on one throw-away database.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  type ApiResponse,
  type Client,
  client,
  type RunningService,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import { nuevoUsuario, type Suite, startUsuarios, type Usuario } from '../../usuarios/test/support.ts';
import { buildApp, servicio } from '../src/app.ts';

export interface Contexto {
  /** servicio-reservas, as the administrador. */
  api: Client;
  /** servicio-reservas, without a token. */
  anon: Client;
  db: TestDatabase;
  service: RunningService;
  /** The identity provider the tokens come from, on the same database (the two services may share one). */
  usuarios: Suite;
  /** servicio-reservas as a user of that role (created in servicio-usuarios and logged in there). */
  como(tipo: 'cliente' | 'empleado' | 'administrador'): Promise<Usuario & { reservas: Client }>;
  /** A cliente made in the set-up: the holder `nuevaReserva` names unless told otherwise. */
  cliente: Usuario & { reservas: Client };
  /**
   * The id of a new active cliente of servicio-usuarios, not logged in (cheaper than `como`): a real
   * holder for reservations that must not mix with the others of the suite.
   */
  nuevoCliente(): Promise<number>;
}

/** Who `nuevaReserva` names by default: the suite's `ctx.cliente`, once the set-up has made it. */
let titularPorOmision: number | undefined;

/**
 * One database, servicio-usuarios (the identity provider) and servicio-reservas verifying its tokens
 * through its JWKS, over real HTTP, per test file; seeded by `seed` if given.
 */
export function servicioReservas(label: string, seed?: (ctx: Contexto) => Promise<void>): Contexto {
  const ctx = {} as Contexto;
  before(async () => {
    ctx.usuarios = await startUsuarios(label);
    ctx.db = ctx.usuarios.db;
    ctx.service = await startService(servicio, buildApp, {
      DATABASE_URL: ctx.db.url,
      JWT_JWKS_URL: `${ctx.usuarios.url}/.well-known/jwks.json`,
      USUARIOS_URL: ctx.usuarios.url,
    });
    ctx.anon = client(ctx.service.url);
    ctx.api = ctx.anon.as(ctx.usuarios.api.token);
    ctx.como = async (tipo) => {
      const usuario = await ctx.usuarios.usuario(tipo);
      return { ...usuario, reservas: ctx.anon.as(usuario.api.token) };
    };
    ctx.nuevoCliente = async () => {
      const res = await ctx.usuarios.api.post('/api/usuarios/', nuevoUsuario({ tipo_usuario: 'cliente' }));
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
      return res.body.id as number;
    };
    // Staff creating for someone else will need that user to exist in servicio-usuarios (CONTRACT
    // §6): the default holder is a real cliente, not an invented id.
    ctx.cliente = await ctx.como('cliente');
    titularPorOmision = ctx.cliente.id;
    await seed?.(ctx);
  });
  after(async () => {
    await ctx.service?.close();
    await ctx.usuarios?.close();
  });
  return ctx;
}

/** An ISO date-time `days` from now (negative: in the past). */
export function enDias(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

/**
 * A valid creation body held by the suite's `ctx.cliente`; `usuario_id: undefined` in `overrides`
 * leaves the field out (the caller then holds the reservation).
 */
export function nuevaReserva(overrides: Record<string, unknown> = {}) {
  if (!('usuario_id' in overrides) && titularPorOmision === undefined)
    throw new Error('nuevaReserva needs servicioReservas set up first (or an explicit usuario_id)');
  return { usuario_id: titularPorOmision, fecha_reserva: enDias(10), numero_personas: 4, ...overrides };
}

/** The answer to a request without credentials on a protected path (CONTRACT §5.3). */
export function sinCredenciales(res: ApiResponse, label?: string): void {
  assert.equal(res.status, 401, `${label ?? ''} ${res.status} ${res.text}`.trim());
  assert.deepEqual(res.body, { detail: 'Las credenciales de autenticación no se proveyeron.' }, label);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, label);
}

/** Creates a reservation and walks it to `estado` through the API's own transitions. */
export async function reservaEn(api: Client, estado: string, overrides: Record<string, unknown> = {}) {
  const created = await api.post('/api/reservas/', nuevaReserva(overrides));
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.text}`);
  const id = created.body.id as number;
  const camino: Record<string, string[]> = {
    pendiente: [],
    confirmada: ['confirmar'],
    cancelada: ['cancelar'],
    completada: ['confirmar', 'completar'],
  };
  let body = created.body;
  for (const accion of camino[estado] ?? []) {
    const res = await api.post(`/api/reservas/${id}/${accion}/`);
    if (res.status !== 200) throw new Error(`${accion} failed: ${res.status} ${res.text}`);
    body = res.body;
  }
  return body;
}
