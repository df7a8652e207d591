// CONTRACT §5.4, servicio-usuarios' table, the rows that read and the role-only actions: registration
// (POST /api/usuarios/) for every role, with the 403 by the value of tipo_usuario before validation
// and the 400 of an invalid tipo_usuario; list, retrieve and /me/; activar/desactivar, decided by role
// alone. PUT/PATCH/DELETE/password are in identity-permissions-writes.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert401, assertAnswer, NO_ENCONTRADO, PROHIBIDO, SIN_CREDENCIALES } from './identity-support.ts';
import { nuevoUsuario, type Suite, startUsuarios, type Usuario } from './support.ts';

let s: Suite;
let cliente: Usuario;
let otroCliente: Usuario;
let empleado: Usuario;
let inactivo: Usuario;

before(async () => {
  s = await startUsuarios('identity_permissions', {
    THROTTLE_LOGIN_ATTEMPTS: '100000',
    THROTTLE_REGISTRATIONS: '100000',
  });
  cliente = await s.usuario('cliente');
  otroCliente = await s.usuario('cliente');
  empleado = await s.usuario('empleado');
  inactivo = await s.usuario('cliente');
  assertAnswer(await s.api.post(`/api/usuarios/${inactivo.id}/desactivar/`), 200);
});
after(() => s?.close());

const tipoEnBase = async (email: unknown) =>
  (await s.db.query('SELECT tipo_usuario FROM usuarios_usuario WHERE email = $1', [email])).rows[0]
    ?.tipo_usuario;

describe('POST /api/usuarios/ (registration)', () => {
  // Anonymous, a cliente and an empleado are the same cell: "as anonymous".
  const noAdministradores = () =>
    [
      ['anonymous', s.anon],
      ['cliente', cliente.api],
      ['empleado', empleado.api],
    ] as const;

  test('without tipo_usuario, or with cliente, anyone creates a cliente', async () => {
    for (const [quien, api] of noAdministradores()) {
      for (const extra of [{}, { tipo_usuario: 'cliente' }]) {
        const datos = nuevoUsuario(extra);
        const res = await api.post('/api/usuarios/', datos);
        assertAnswer(res, 201, undefined, quien);
        assert.equal(res.body.tipo_usuario, 'cliente');
        assert.equal(await tipoEnBase(datos.email), 'cliente');
      }
    }
  });

  test('another valid tipo_usuario from a non-administrador is 403, and nothing is created', async () => {
    for (const [quien, api] of noAdministradores()) {
      for (const tipo of ['empleado', 'administrador']) {
        const datos = nuevoUsuario({ tipo_usuario: tipo });
        assertAnswer(await api.post('/api/usuarios/', datos), 403, PROHIBIDO, `${quien} → ${tipo}`);
        assert.equal(await tipoEnBase(datos.email), undefined);
      }
    }
  });

  test('that 403 comes before the validation of the other fields', async () => {
    for (const [quien, api] of noAdministradores()) {
      const cuerpos = [
        { ...nuevoUsuario({ tipo_usuario: 'administrador' }), email: 'no-es-un-correo' },
        { tipo_usuario: 'empleado' },
        { tipo_usuario: 'administrador', email: 'x', nombre: '', apellido: null, password: '1' },
      ];
      for (const cuerpo of cuerpos) {
        assertAnswer(
          await api.post('/api/usuarios/', cuerpo),
          403,
          PROHIBIDO,
          `${quien} ${JSON.stringify(cuerpo)}`,
        );
      }
    }
  });

  test('an invalid tipo_usuario is a 400 on that field for anyone, anonymous included', async () => {
    for (const [quien, api] of [...noAdministradores(), ['administrador', s.api] as const]) {
      for (const tipo of ['jefe', null, 7, '', 'Administrador']) {
        const datos = nuevoUsuario({ tipo_usuario: tipo });
        const res = await api.post('/api/usuarios/', datos);
        assertAnswer(res, 400, undefined, `${quien} ${JSON.stringify(tipo)}`);
        assert.deepEqual(Object.keys(res.body), ['tipo_usuario'], `${quien} ${JSON.stringify(tipo)}`);
        assert.equal(await tipoEnBase(datos.email), undefined);
      }
    }
  });

  test('an administrador creates any tipo_usuario', async () => {
    for (const tipo of ['cliente', 'empleado', 'administrador']) {
      const datos = nuevoUsuario({ tipo_usuario: tipo });
      const res = await s.api.post('/api/usuarios/', datos);
      assertAnswer(res, 201, undefined, tipo);
      assert.equal(res.body.tipo_usuario, tipo);
      assert.equal(await tipoEnBase(datos.email), tipo);
    }
  });
});

describe('GET /api/usuarios/', () => {
  test('anonymous 401, cliente 403, empleado and administrador see everyone', async () => {
    assert401(await s.anon.get('/api/usuarios/'), SIN_CREDENCIALES);
    assertAnswer(await cliente.api.get('/api/usuarios/'), 403, PROHIBIDO);
    assertAnswer(await cliente.api.get('/api/usuarios/?search=zzz&page=99'), 403, PROHIBIDO);
    const total = Number((await s.db.query('SELECT count(*) FROM usuarios_usuario')).rows[0]!.count);
    for (const api of [empleado.api, s.api]) {
      const res = await api.get('/api/usuarios/?page_size=100');
      assertAnswer(res, 200);
      assert.equal(res.body.count, total);
      const ids = res.body.results.map((u: { id: number }) => u.id);
      for (const id of [cliente.id, otroCliente.id, empleado.id, inactivo.id, s.admin.id])
        assert.ok(ids.includes(id));
    }
  });
});

describe('GET /api/usuarios/{id}/', () => {
  test('anonymous is a 401, whatever the id', async () => {
    for (const id of [cliente.id, 99999999, 'abc']) {
      assert401(await s.anon.get(`/api/usuarios/${id}/`), SIN_CREDENCIALES, String(id));
    }
  });

  test('a cliente sees itself; every other user is a 404, as if it did not exist', async () => {
    const propio = await cliente.api.get(`/api/usuarios/${cliente.id}/`);
    assertAnswer(propio, 200);
    assert.equal(propio.body.id, cliente.id);
    for (const id of [otroCliente.id, empleado.id, s.admin.id, inactivo.id, 99999999]) {
      assertAnswer(await cliente.api.get(`/api/usuarios/${id}/`), 404, NO_ENCONTRADO, String(id));
    }
  });

  test('an empleado and an administrador see every user, inactive ones too', async () => {
    for (const api of [empleado.api, s.api]) {
      for (const u of [cliente, otroCliente, empleado, inactivo]) {
        const res = await api.get(`/api/usuarios/${u.id}/`);
        assertAnswer(res, 200);
        assert.equal(res.body.id, u.id);
      }
      assertAnswer(await api.get(`/api/usuarios/${s.admin.id}/`), 200);
      assertAnswer(await api.get('/api/usuarios/99999999/'), 404, NO_ENCONTRADO);
    }
  });
});

describe('GET /api/usuarios/me/', () => {
  test('anonymous 401; every role gets itself', async () => {
    assert401(await s.anon.get('/api/usuarios/me/'), SIN_CREDENCIALES);
    const admin = await s.usuario('administrador');
    for (const [u, tipo] of [
      [cliente, 'cliente'],
      [empleado, 'empleado'],
      [admin, 'administrador'],
    ] as const) {
      const res = await u.api.get('/api/usuarios/me/');
      assertAnswer(res, 200);
      assert.equal(res.body.id, u.id);
      assert.equal(res.body.email, u.email);
      assert.equal(res.body.tipo_usuario, tipo);
      assert.deepEqual(res.body, (await s.api.get(`/api/usuarios/${u.id}/`)).body);
    }
    const propio = await s.api.get('/api/usuarios/me/');
    assert.equal(propio.body.id, s.admin.id);
  });
});

describe('POST /api/usuarios/{id}/activar/ and /desactivar/', () => {
  test('anonymous is a 401', async () => {
    for (const accion of ['activar', 'desactivar']) {
      assert401(await s.anon.post(`/api/usuarios/${cliente.id}/${accion}/`), SIN_CREDENCIALES);
    }
  });

  test('cliente and empleado: 403 for any id, their own, missing or not a number', async () => {
    for (const u of [cliente, empleado]) {
      for (const accion of ['activar', 'desactivar']) {
        for (const id of [u.id, otroCliente.id, inactivo.id, s.admin.id, 99999999, 0, 'abc', '-3']) {
          assertAnswer(await u.api.post(`/api/usuarios/${id}/${accion}/`), 403, PROHIBIDO, `${accion} ${id}`);
        }
      }
    }
    const filas = await s.db.query('SELECT id, activo FROM usuarios_usuario WHERE id = ANY($1)', [
      [cliente.id, empleado.id, otroCliente.id, inactivo.id],
    ]);
    const activo = Object.fromEntries(filas.rows.map((f) => [Number(f.id), f.activo]));
    assert.deepEqual(activo, {
      [cliente.id]: true,
      [empleado.id]: true,
      [otroCliente.id]: true,
      [inactivo.id]: false,
    });
  });

  test('an administrador deactivates and activates anyone (idempotent); missing ids are 404', async () => {
    const u = await s.usuario('empleado');
    for (const [accion, activo] of [
      ['desactivar', false],
      ['desactivar', false],
      ['activar', true],
      ['activar', true],
    ] as const) {
      const res = await s.api.post(`/api/usuarios/${u.id}/${accion}/`);
      assertAnswer(res, 200);
      assert.equal(res.body.activo, activo);
      const fila = await s.db.query('SELECT activo FROM usuarios_usuario WHERE id = $1', [u.id]);
      assert.equal(fila.rows[0]!.activo, activo);
    }
    assertAnswer(await s.api.post('/api/usuarios/99999999/desactivar/'), 404, NO_ENCONTRADO);
    assertAnswer(await s.api.post('/api/usuarios/abc/activar/'), 404, NO_ENCONTRADO);
  });
});
