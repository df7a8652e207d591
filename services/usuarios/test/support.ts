// Shared set-up of the usuarios suites: a throw-away database, the migrated service on a free port,
// and a factory of valid bodies with unique e-mails. Not a test file itself (no `.test.ts`).
import { randomBytes } from 'node:crypto';
import { type Client, client, createTestDatabase, startService, type TestDatabase } from '@servicios/testing';
import { buildApp, servicio } from '../src/app.ts';

export interface Suite {
  db: TestDatabase;
  api: Client;
  url: string;
  close(): Promise<void>;
}

export async function startUsuarios(label: string, env: Record<string, string> = {}): Promise<Suite> {
  const db = await createTestDatabase(label);
  const service = await startService(servicio, buildApp, { DATABASE_URL: db.url, ...env });
  return {
    db,
    api: client(service.url),
    url: service.url,
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
    ...overrides,
  };
}

/** UTC ISO 8601 with a Z suffix, fractional seconds allowed. */
export const UTC_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
