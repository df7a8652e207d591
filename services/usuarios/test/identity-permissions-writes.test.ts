// CONTRACT §5.4, servicio-usuarios' table, the rows that write: PUT/PATCH (own only for cliente, with
// others 404; own only for empleado, with others 403 before validation; "a different tipo_usuario"
// judged against the target's current value, a 403 before validation; an invalid tipo_usuario a 400),
// DELETE (soft) and the password action, for anonymous/cliente/empleado/administrador.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert401, assertAnswer, NO_ENCONTRADO, PROHIBIDO, SIN_CREDENCIALES } from './identity-support.ts';
import { type Suite, startUsuarios, type Usuario } from './support.ts';

let s: Suite;
let testigo: Usuario;

before(async () => {
  s = await startUsuarios('identity_permissions_writes', { THROTTLE_LOGIN_ATTEMPTS: '100000' });
  // A user no test may change: every refused write is checked against its row.
  testigo = await s.usuario('cliente');
});
after(() => s?.close());

const fila = async (id: number) =>
  (await s.db.query('SELECT * FROM usuarios_usuario WHERE id = $1', [id])).rows[0] as Record<string, unknown>;

/** A full PUT body for that user as it is now, with changes. */
const completo = (u: Usuario, cambios: Record<string, unknown> = {}) => ({
  email: u.email,
  nombre: u.body.nombre,
  apellido: u.body.apellido,
  telefono: u.body.telefono,
  tipo_usuario: u.body.tipo_usuario,
  ...cambios,
});

/** The target's row did not move (a refused request changes nothing). */
async function intacto(u: Usuario, antes: Record<string, unknown>) {
  assert.deepEqual(await fila(u.id), antes);
}

describe('PUT and PATCH /api/usuarios/{id}/', () => {
  test('anonymous is a 401, whatever the id', async () => {
    const antes = await fila(testigo.id);
    for (const id of [testigo.id, 99999999, 'abc']) {
      assert401(await s.anon.patch(`/api/usuarios/${id}/`, { nombre: 'X' }), SIN_CREDENCIALES);
      assert401(await s.anon.put(`/api/usuarios/${id}/`, completo(testigo)), SIN_CREDENCIALES);
    }
    await intacto(testigo, antes);
  });

  test('a cliente edits itself with PATCH and PUT', async () => {
    const c = await s.usuario('cliente');
    const parche = await c.api.patch(`/api/usuarios/${c.id}/`, { nombre: 'Lucía' });
    assertAnswer(parche, 200);
    assert.equal(parche.body.nombre, 'Lucía');
    const reemplazo = await c.api.put(
      `/api/usuarios/${c.id}/`,
      completo(c, { apellido: 'Gómez', telefono: '600 1' }),
    );
    assertAnswer(reemplazo, 200);
    assert.equal(reemplazo.body.apellido, 'Gómez');
    assert.equal((await fila(c.id)).apellido, 'Gómez');
  });

  test('a cliente editing anyone else gets a 404, whatever the body', async () => {
    const c = await s.usuario('cliente');
    const empleado = await s.usuario('empleado');
    const antes = await fila(testigo.id);
    for (const otro of [testigo, empleado]) {
      for (const cuerpo of [{ nombre: 'X' }, { email: 'no-es-correo' }, { tipo_usuario: 'administrador' }]) {
        assertAnswer(await c.api.patch(`/api/usuarios/${otro.id}/`, cuerpo), 404, NO_ENCONTRADO);
      }
      assertAnswer(await c.api.put(`/api/usuarios/${otro.id}/`, completo(otro)), 404, NO_ENCONTRADO);
    }
    assertAnswer(await c.api.patch(`/api/usuarios/${s.admin.id}/`, { nombre: 'X' }), 404, NO_ENCONTRADO);
    await intacto(testigo, antes);
  });

  test('an empleado edits itself with PATCH and PUT', async () => {
    const e = await s.usuario('empleado');
    assertAnswer(await e.api.patch(`/api/usuarios/${e.id}/`, { telefono: '+34 600' }), 200);
    const res = await e.api.put(`/api/usuarios/${e.id}/`, completo(e, { nombre: 'Marta' }));
    assertAnswer(res, 200);
    assert.equal(res.body.nombre, 'Marta');
    assert.equal(res.body.tipo_usuario, 'empleado');
  });

  test('an empleado editing anyone else gets a 403, before validation', async () => {
    const e = await s.usuario('empleado');
    const otroEmpleado = await s.usuario('empleado');
    const antes = await fila(testigo.id);
    for (const otro of [testigo, otroEmpleado]) {
      for (const cuerpo of [
        { nombre: 'X' },
        { email: 'no-es-correo', nombre: '' },
        { tipo_usuario: 'jefe' },
        {},
      ]) {
        assertAnswer(
          await e.api.patch(`/api/usuarios/${otro.id}/`, cuerpo),
          403,
          PROHIBIDO,
          JSON.stringify(cuerpo),
        );
      }
      assertAnswer(await e.api.put(`/api/usuarios/${otro.id}/`, completo(otro)), 403, PROHIBIDO);
      assertAnswer(await e.api.put(`/api/usuarios/${otro.id}/`, { email: 'mal' }), 403, PROHIBIDO);
    }
    assertAnswer(await e.api.patch(`/api/usuarios/${s.admin.id}/`, { nombre: 'X' }), 403, PROHIBIDO);
    await intacto(testigo, antes);
  });

  test('a non-administrador sending its current tipo_usuario is no change (200)', async () => {
    for (const tipo of ['cliente', 'empleado'] as const) {
      const u = await s.usuario(tipo);
      assertAnswer(await u.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: tipo, nombre: 'Eva' }), 200);
      const res = await u.api.put(`/api/usuarios/${u.id}/`, completo(u, { tipo_usuario: tipo }));
      assertAnswer(res, 200);
      assert.equal(res.body.tipo_usuario, tipo);
    }
  });

  test('a PUT that omits tipo_usuario keeps the current role: no change, so no 403', async () => {
    const e = await s.usuario('empleado');
    const { tipo_usuario: _t, ...sinTipo } = completo(e, { nombre: 'Irene' });
    const res = await e.api.put(`/api/usuarios/${e.id}/`, sinTipo);
    assertAnswer(res, 200);
    assert.equal(res.body.tipo_usuario, 'empleado');
    assert.equal((await fila(e.id)).tipo_usuario, 'empleado');
  });

  test('a non-administrador changing its own tipo_usuario is a 403 (an empleado becoming cliente too)', async () => {
    for (const [tipo, otros] of [
      ['cliente', ['empleado', 'administrador']],
      ['empleado', ['cliente', 'administrador']],
    ] as const) {
      const u = await s.usuario(tipo);
      const antes = await fila(u.id);
      for (const otro of otros) {
        assertAnswer(await u.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: otro }), 403, PROHIBIDO);
        assertAnswer(
          await u.api.put(`/api/usuarios/${u.id}/`, completo(u, { tipo_usuario: otro })),
          403,
          PROHIBIDO,
        );
        // Decided by the value before the other fields are validated.
        const invalido = { tipo_usuario: otro, email: 'no-es-correo', nombre: '' };
        assertAnswer(await u.api.patch(`/api/usuarios/${u.id}/`, invalido), 403, PROHIBIDO);
        assertAnswer(await u.api.put(`/api/usuarios/${u.id}/`, invalido), 403, PROHIBIDO);
      }
      await intacto(u, antes);
    }
  });

  test('"a different tipo_usuario" is judged against the stored role, not the token’s', async () => {
    const u = await s.usuario('cliente');
    // Promoted after login: its access token still says cliente.
    assertAnswer(await s.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: 'empleado' }), 200);
    assertAnswer(await u.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: 'empleado' }), 200);
    assertAnswer(await u.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: 'cliente' }), 403, PROHIBIDO);
    assert.equal((await fila(u.id)).tipo_usuario, 'empleado');
  });

  test('an invalid tipo_usuario is a 400 on that field for whoever may write the user', async () => {
    const c = await s.usuario('cliente');
    const e = await s.usuario('empleado');
    const casos: [string, Usuario['api'], Usuario][] = [
      ['cliente on itself', c.api, c],
      ['empleado on itself', e.api, e],
      ['administrador on a cliente', s.api, c],
    ];
    for (const [quien, api, u] of casos) {
      for (const tipo of ['jefe', null, 3]) {
        const res = await api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: tipo });
        assertAnswer(res, 400, undefined, `${quien} ${JSON.stringify(tipo)}`);
        assert.deepEqual(Object.keys(res.body), ['tipo_usuario']);
        const put = await api.put(`/api/usuarios/${u.id}/`, completo(u, { tipo_usuario: tipo }));
        assertAnswer(put, 400, undefined, `${quien} PUT ${JSON.stringify(tipo)}`);
        assert.deepEqual(Object.keys(put.body), ['tipo_usuario']);
      }
    }
  });

  test('an administrador edits anyone, tipo_usuario included', async () => {
    const u = await s.usuario('cliente');
    const e = await s.usuario('empleado');
    assertAnswer(
      await s.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: 'empleado', nombre: 'Rosa' }),
      200,
    );
    assert.equal((await fila(u.id)).tipo_usuario, 'empleado');
    const res = await s.api.put(`/api/usuarios/${e.id}/`, completo(e, { tipo_usuario: 'administrador' }));
    assertAnswer(res, 200);
    assert.equal(res.body.tipo_usuario, 'administrador');
    assertAnswer(await s.api.patch(`/api/usuarios/${e.id}/`, { tipo_usuario: 'cliente' }), 200);
    assertAnswer(await s.api.patch('/api/usuarios/99999999/', { nombre: 'X' }), 404, NO_ENCONTRADO);
  });
});

describe('DELETE /api/usuarios/{id}/', () => {
  test('anonymous is a 401', async () => {
    assert401(await s.anon.delete(`/api/usuarios/${testigo.id}/`), SIN_CREDENCIALES);
    assert401(await s.anon.delete('/api/usuarios/abc/'), SIN_CREDENCIALES);
    assert.equal((await fila(testigo.id)).activo, true);
  });

  test('a cliente deletes itself (soft); anyone else is a 404', async () => {
    const c = await s.usuario('cliente');
    const e = await s.usuario('empleado');
    for (const id of [testigo.id, e.id, s.admin.id]) {
      assertAnswer(await c.api.delete(`/api/usuarios/${id}/`), 404, NO_ENCONTRADO);
      assert.equal((await fila(id)).activo, true);
    }
    const res = await c.api.delete(`/api/usuarios/${c.id}/`);
    assertAnswer(res, 204);
    assert.equal(res.text, '');
    assert.equal((await fila(c.id)).activo, false);
    const visto = await s.api.get(`/api/usuarios/${c.id}/`);
    assertAnswer(visto, 200);
    assert.equal(visto.body.activo, false);
  });

  test('an empleado deletes itself; anyone else is a 403', async () => {
    const e = await s.usuario('empleado');
    const otroEmpleado = await s.usuario('empleado');
    for (const id of [testigo.id, otroEmpleado.id, s.admin.id]) {
      assertAnswer(await e.api.delete(`/api/usuarios/${id}/`), 403, PROHIBIDO);
      assert.equal((await fila(id)).activo, true);
    }
    assertAnswer(await e.api.delete(`/api/usuarios/${e.id}/`), 204);
    assert.equal((await fila(e.id)).activo, false);
  });

  test('an administrador deletes anyone', async () => {
    for (const tipo of ['cliente', 'empleado', 'administrador'] as const) {
      const u = await s.usuario(tipo);
      assertAnswer(await s.api.delete(`/api/usuarios/${u.id}/`), 204);
      assert.equal((await fila(u.id)).activo, false);
    }
    assertAnswer(await s.api.delete('/api/usuarios/99999999/'), 404, NO_ENCONTRADO);
  });
});

describe('POST /api/usuarios/{id}/password/', () => {
  const NUEVA = 'Otra-clave-2026-puerta';

  test('anonymous is a 401', async () => {
    assert401(
      await s.anon.post(`/api/usuarios/${testigo.id}/password/`, { password: NUEVA }),
      SIN_CREDENCIALES,
    );
  });

  test('a cliente changes its own; anyone else is a 404, whatever the body', async () => {
    const c = await s.usuario('cliente');
    const antes = await fila(testigo.id);
    for (const cuerpo of [{ password: NUEVA, password_actual: c.password }, {}, { password: '1' }]) {
      assertAnswer(await c.api.post(`/api/usuarios/${testigo.id}/password/`, cuerpo), 404, NO_ENCONTRADO);
    }
    assertAnswer(
      await c.api.post(`/api/usuarios/${s.admin.id}/password/`, { password: NUEVA }),
      404,
      NO_ENCONTRADO,
    );
    await intacto(testigo, antes);
    const res = await c.api.post(`/api/usuarios/${c.id}/password/`, {
      password: NUEVA,
      password_actual: c.password,
    });
    assertAnswer(res, 204);
    assert.equal(res.text, '');
  });

  test('an empleado changes its own; anyone else is a 403, before validation', async () => {
    const e = await s.usuario('empleado');
    const antes = await fila(testigo.id);
    for (const cuerpo of [{ password: NUEVA, password_actual: e.password }, {}, { password: '1' }]) {
      assertAnswer(await e.api.post(`/api/usuarios/${testigo.id}/password/`, cuerpo), 403, PROHIBIDO);
    }
    await intacto(testigo, antes);
    assertAnswer(
      await e.api.post(`/api/usuarios/${e.id}/password/`, { password: NUEVA, password_actual: e.password }),
      204,
    );
  });

  test('an administrador changes anyone’s without password_actual', async () => {
    for (const tipo of ['cliente', 'empleado', 'administrador'] as const) {
      const u = await s.usuario(tipo);
      assertAnswer(
        await s.api.post(`/api/usuarios/${u.id}/password/`, { password: NUEVA }),
        204,
        undefined,
        tipo,
      );
      assertAnswer(await s.anon.post('/api/token/', { email: u.email, password: NUEVA }), 200);
    }
    assertAnswer(
      await s.api.post('/api/usuarios/99999999/password/', { password: NUEVA }),
      404,
      NO_ENCONTRADO,
    );
  });
});
