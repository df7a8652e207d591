// CONTRACT §5.4, the last active administrador: it cannot be deactivated, deleted or changed to
// another tipo_usuario (409, nothing changes); an inactive administrador does not count; with two,
// two concurrent deactivations of each other leave exactly one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertAnswer, ULTIMO_ADMIN } from './identity-support.ts';
import { type Suite, startUsuarios } from './support.ts';

let s: Suite;

before(async () => {
  s = await startUsuarios('identity_last_admin', { THROTTLE_LOGIN_ATTEMPTS: '100000' });
});
after(() => s?.close());

const adminsActivos = async () =>
  (
    await s.db.query(
      "SELECT id FROM usuarios_usuario WHERE tipo_usuario = 'administrador' AND activo ORDER BY id",
    )
  ).rows.map((f) => Number(f.id));
const fila = async (id: number) =>
  (await s.db.query('SELECT * FROM usuarios_usuario WHERE id = $1', [id])).rows[0] as Record<string, unknown>;

/** Every way of removing the only active administrador `id`, as that caller. */
async function intentosDeQuitar(api: Suite['api'], id: number) {
  const yo = (await api.get(`/api/usuarios/${id}/`)).body;
  const completo = { email: yo.email, nombre: yo.nombre, apellido: yo.apellido, telefono: yo.telefono };
  return {
    desactivar: await api.post(`/api/usuarios/${id}/desactivar/`),
    DELETE: await api.delete(`/api/usuarios/${id}/`),
    'PATCH empleado': await api.patch(`/api/usuarios/${id}/`, { tipo_usuario: 'empleado' }),
    'PATCH cliente': await api.patch(`/api/usuarios/${id}/`, { tipo_usuario: 'cliente', nombre: 'Otro' }),
    'PUT cliente': await api.put(`/api/usuarios/${id}/`, { ...completo, tipo_usuario: 'cliente' }),
    'PUT empleado': await api.put(`/api/usuarios/${id}/`, { ...completo, tipo_usuario: 'empleado' }),
  };
}

test('the only active administrador cannot remove itself: 409, nothing changes', async () => {
  assert.deepEqual(await adminsActivos(), [s.admin.id]);
  const antes = await fila(s.admin.id);
  for (const [intento, res] of Object.entries(await intentosDeQuitar(s.api, s.admin.id))) {
    assertAnswer(res, 409, ULTIMO_ADMIN, intento);
  }
  assert.deepEqual(await fila(s.admin.id), antes);
  // Changes that keep it an active administrador are allowed (a PUT that omits tipo_usuario too).
  assertAnswer(await s.api.patch(`/api/usuarios/${s.admin.id}/`, { tipo_usuario: 'administrador' }), 200);
  const put = await s.api.put(`/api/usuarios/${s.admin.id}/`, {
    email: antes.email,
    nombre: 'Ada',
    apellido: 'Root',
  });
  assertAnswer(put, 200);
  assert.equal(put.body.tipo_usuario, 'administrador');
  assertAnswer(await s.api.post(`/api/usuarios/${s.admin.id}/activar/`), 200);
});

test('an inactive administrador does not count', async () => {
  const inactivo = await s.usuario('administrador');
  assertAnswer(await s.api.post(`/api/usuarios/${inactivo.id}/desactivar/`), 200);
  assert.deepEqual(await adminsActivos(), [s.admin.id]);
  for (const [intento, res] of Object.entries(await intentosDeQuitar(s.api, s.admin.id))) {
    assertAnswer(res, 409, ULTIMO_ADMIN, intento);
  }
  // The inactive one itself may be changed freely (it removes no active administrador).
  assertAnswer(await s.api.patch(`/api/usuarios/${inactivo.id}/`, { tipo_usuario: 'empleado' }), 200);
  assertAnswer(await s.api.delete(`/api/usuarios/${inactivo.id}/`), 204);
});

test('with two, one may go; then the other is the last one', async () => {
  const segundo = await s.usuario('administrador');
  assertAnswer(await segundo.api.post(`/api/usuarios/${s.admin.id}/desactivar/`), 200);
  assert.deepEqual(await adminsActivos(), [segundo.id]);
  // The first one's access token still works for its lifetime, but cannot remove the last one.
  for (const [intento, res] of Object.entries(await intentosDeQuitar(s.api, segundo.id))) {
    assertAnswer(res, 409, ULTIMO_ADMIN, intento);
  }
  for (const [intento, res] of Object.entries(await intentosDeQuitar(segundo.api, segundo.id))) {
    assertAnswer(res, 409, ULTIMO_ADMIN, intento);
  }
  assertAnswer(await segundo.api.post(`/api/usuarios/${s.admin.id}/activar/`), 200);
  // Demoting, as deleting, is allowed while another active administrador remains.
  assertAnswer(await s.api.patch(`/api/usuarios/${segundo.id}/`, { tipo_usuario: 'empleado' }), 200);
  assert.deepEqual(await adminsActivos(), [s.admin.id]);
});

test('two administradores deactivating each other at once: exactly one succeeds', async () => {
  // Repeated: one lucky interleaving proves little.
  for (let vuelta = 0; vuelta < 5; vuelta++) {
    const otro = await s.usuario('administrador');
    assert.deepEqual(await adminsActivos(), [s.admin.id, otro.id]);
    const [a, b] = await Promise.all([
      s.api.post(`/api/usuarios/${otro.id}/desactivar/`),
      otro.api.post(`/api/usuarios/${s.admin.id}/desactivar/`),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], `${a.text} ${b.text}`);
    assert.deepEqual((a.status === 409 ? a : b).body, ULTIMO_ADMIN);
    const quedan = await adminsActivos();
    assert.equal(quedan.length, 1);
    // Put the suite's administrador back as the only active one.
    if (quedan[0] !== s.admin.id) {
      assertAnswer(await otro.api.post(`/api/usuarios/${s.admin.id}/activar/`), 200);
      assertAnswer(await s.api.post(`/api/usuarios/${otro.id}/desactivar/`), 200);
    }
    assert.deepEqual(await adminsActivos(), [s.admin.id]);
  }
});

test('two administradores demoting and deleting each other at once: exactly one succeeds', async () => {
  const otro = await s.usuario('administrador');
  const [a, b] = await Promise.all([
    s.api.delete(`/api/usuarios/${otro.id}/`),
    otro.api.patch(`/api/usuarios/${s.admin.id}/`, { tipo_usuario: 'cliente' }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [204, 409], `${a.text} ${b.text}`);
  assert.equal((await adminsActivos()).length, 1);
});
