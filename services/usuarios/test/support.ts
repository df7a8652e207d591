// Shared set-up of the usuarios suites: a throw-away database, the service migrated by its own migrate
// step (which creates the first administrador) on a free port, and clients logged in as each role.
// Not a test file itself (no `.test.ts`).
import { randomBytes } from 'node:crypto';
import {
  type Client,
  client,
  createTestDatabase,
  login,
  type RunningService,
  signingKey,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import { buildApp, servicio } from '../src/app.ts';
import { migrar } from '../src/bootstrap.ts';

/** The administrador that the migrate step creates in every suite's database. */
export const ADMIN = { email: 'admin@example.com', password: 'Admin-de-pruebas-2026' };
/** A password that passes Django's validators for any user the factories make. */
export const PASSWORD = 'Reserva-2026-ventana';

export interface Suite {
  db: TestDatabase;
  /** Logged in as the administrador. */
  api: Client;
  /** No token. */
  anon: Client;
  url: string;
  service: RunningService;
  admin: { id: number };
  /** Creates a user of that role (through the API, as the administrador) and logs it in. */
  usuario(
    tipo?: 'cliente' | 'empleado' | 'administrador',
    overrides?: Record<string, unknown>,
  ): Promise<Usuario>;
  close(): Promise<void>;
}

export interface Usuario {
  id: number;
  email: string;
  password: string;
  body: Record<string, any>;
  api: Client;
  refresh: string;
}

export async function startUsuarios(label: string, env: Record<string, string> = {}): Promise<Suite> {
  const db = await createTestDatabase(label);
  const service = await startService(
    servicio,
    buildApp,
    {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEY: signingKey().privateKeyPem,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Suites run for minutes: their tokens must not expire under them.
      JWT_ACCESS_TTL_S: '3600',
      ...env,
    },
    { migrate: migrar },
  );
  const anon = client(service.url);
  let api: Client;
  let yo: { body: { id: number } };
  try {
    // A suite that restricts ALLOWED_HOSTS logs its administrador in under one of its hosts.
    const permitido = env.ALLOWED_HOSTS?.split(',')[0]?.replace(/^\./, 'api.');
    const host: Record<string, string> = permitido ? { 'x-forwarded-host': permitido } : {};
    api = anon.as((await login(anon, ADMIN.email, ADMIN.password, host)).access);
    yo = await api.get('/api/usuarios/me/', host);
  } catch (err) {
    await service.close();
    await db.drop();
    throw err;
  }
  return {
    db,
    api,
    anon,
    url: service.url,
    service,
    admin: { id: yo.body.id },
    async usuario(tipo = 'cliente', overrides = {}) {
      const datos = nuevoUsuario({ tipo_usuario: tipo, ...overrides });
      const res = await api.post('/api/usuarios/', datos);
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
      const tokens = await login(anon, String(datos.email), String(datos.password));
      return {
        id: res.body.id,
        email: res.body.email,
        password: String(datos.password),
        body: res.body,
        api: anon.as(tokens.access),
        refresh: tokens.refresh,
      };
    },
    async close() {
      await service.close();
      await db.drop();
    },
  };
}

/** A valid creation body whose e-mail no other call returns. */
export function nuevoUsuario(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email: `u-${randomBytes(5).toString('hex')}@example.com`,
    nombre: 'Ana',
    apellido: 'Pérez',
    password: PASSWORD,
    ...overrides,
  };
}

/** UTC ISO 8601 with a Z suffix, fractional seconds allowed. */
export const UTC_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
