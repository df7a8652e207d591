// The shortest path through CONTRACT §2 and §5: a newcomer registers without a token, logs in, and
// reads their own user back; the administrador reads the same representation; the table holds it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { login } from '@servicios/testing';
import { PASSWORD, type Suite, startUsuarios } from './support.ts';

let s: Suite;

before(async () => {
  s = await startUsuarios('usuarios_smoke');
});
after(() => s?.close());

test('registers a user, logs it in and reads it back over HTTP', async () => {
  const created = await s.anon.post('/api/usuarios/', {
    email: 'Smoke@Example.com',
    nombre: 'Ana',
    apellido: 'Pérez',
    password: PASSWORD,
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.email, 'smoke@example.com');
  const yo = s.anon.as((await login(s.anon, 'smoke@example.com', PASSWORD)).access);
  const me = await yo.get('/api/usuarios/me/');
  assert.equal(me.status, 200);
  assert.deepEqual(me.body, created.body);
  const read = await s.api.get(`/api/usuarios/${created.body.id}/`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, created.body);
  const stored = await s.db.query('SELECT email FROM usuarios_usuario WHERE id = $1', [created.body.id]);
  assert.equal(stored.rows[0]?.email, 'smoke@example.com');
});
