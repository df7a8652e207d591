import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  client,
  createTestDatabase,
  type RunningService,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import { buildApp, servicio } from '../src/app.ts';

let db: TestDatabase;
let service: RunningService;
let api: ReturnType<typeof client>;

before(async () => {
  db = await createTestDatabase('usuarios_smoke');
  service = await startService(servicio, buildApp, { DATABASE_URL: db.url });
  api = client(service.url);
});

after(async () => {
  await service?.close();
  await db?.drop();
});

test('creates a user and reads it back over HTTP', async () => {
  const created = await api.post('/api/usuarios/', {
    email: 'Smoke@Example.com',
    nombre: 'Ana',
    apellido: 'Pérez',
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.email, 'smoke@example.com');
  const read = await api.get(`/api/usuarios/${created.body.id}/`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, created.body);
  const stored = await db.query('SELECT email FROM usuarios_usuario WHERE id = $1', [created.body.id]);
  assert.equal(stored.rows[0]?.email, 'smoke@example.com');
});
