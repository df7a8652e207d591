import { randomBytes } from 'node:crypto';
import {
  type BuildOptions,
  type Config,
  loadConfig,
  type Migrations,
  migrateDatabase,
} from '@servicios/platform';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';

/** The PostgreSQL server the suites use; each suite makes its own database on it and drops it after. */
export const ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL straight against the test database (setup and assertions that bypass the API). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  return {
    name,
    url: url.toString(),
    query: (text, values) => pool.query(text, values),
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface RunningService {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  config: Readonly<Config>;
  close(): Promise<void>;
}

/** Migrates the database as the migrations job would, then serves the app on a free port. */
export async function startService(
  service: { name: string; migrations: Migrations },
  buildApp: (options: BuildOptions) => Promise<FastifyInstance>,
  env: Record<string, string>,
): Promise<RunningService> {
  const config = loadConfig(env, { service: service.name });
  await migrateDatabase(config.database, service.migrations);
  const app = await buildApp({ config, logger: process.env.TEST_LOGS === '1' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return { app, url: `http://127.0.0.1:${address.port}`, config, close: () => app.close() };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A thin fetch wrapper: JSON in, JSON (or text) out, nothing hidden. */
export function client(baseUrl: string) {
  async function request<T = any>(
    method: string,
    path: string,
    options: { json?: unknown; body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(new URL(path, baseUrl), { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('json') && text) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }
  return {
    request,
    get: <T = any>(path: string, headers?: Record<string, string>) => request<T>('GET', path, { headers }),
    post: <T = any>(path: string, json?: unknown) =>
      request<T>('POST', path, json === undefined ? {} : { json }),
    put: <T = any>(path: string, json: unknown) => request<T>('PUT', path, { json }),
    patch: <T = any>(path: string, json: unknown) => request<T>('PATCH', path, { json }),
    delete: <T = any>(path: string) => request<T>('DELETE', path),
  };
}

export type Client = ReturnType<typeof client>;
