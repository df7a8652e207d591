// CONTRACT §2: create, read, PUT, PATCH, soft DELETE, activar/desactivar, read-only fields and the
// e-mail uniqueness rule, each checked over HTTP and, where it matters, in the table itself; §5.1: the
// password is write-only and stored only as an argon2id hash. All calls are the administrador's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nuevoUsuario, PASSWORD, type Suite, startUsuarios, UTC_Z } from './support.ts';

let s: Suite;
before(async () => {
  s = await startUsuarios('usuarios_crud');
});
after(() => s?.close());

const DUPLICADO = { email: ['Email ya existe'] };

async function crear(overrides: Record<string, unknown> = {}) {
  const res = await s.api.post('/api/usuarios/', nuevoUsuario(overrides));
  assert.equal(res.status, 201, res.text);
  return res.body;
}

/** Moves the stored fecha_actualizacion far into the past, so that any change is visible without a clock. */
async function envejecer(id: number) {
  await s.db.query(`UPDATE usuarios_usuario SET fecha_actualizacion = '2000-01-01T00:00:00Z' WHERE id = $1`, [
    id,
  ]);
}

describe('POST /api/usuarios/', () => {
  test('201 with defaults, nombre_completo and UTC dates', async () => {
    const res = await s.api.post('/api/usuarios/', {
      email: 'ana@example.com',
      nombre: 'Ana',
      apellido: 'Pérez',
      password: PASSWORD,
    });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
    const u = res.body;
    assert.ok(Number.isInteger(u.id) && u.id > 0);
    assert.deepEqual(
      { ...u, id: 0, fecha_creacion: '', fecha_actualizacion: '' },
      {
        id: 0,
        email: 'ana@example.com',
        nombre: 'Ana',
        apellido: 'Pérez',
        nombre_completo: 'Ana Pérez',
        telefono: '',
        tipo_usuario: 'cliente',
        activo: true,
        fecha_creacion: '',
        fecha_actualizacion: '',
      },
    );
    assert.match(u.fecha_creacion, UTC_Z);
    assert.match(u.fecha_actualizacion, UTC_Z);
    const { rows } = await s.db.query('SELECT * FROM usuarios_usuario WHERE id = $1', [u.id]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.telefono, '');
    assert.equal(rows[0]!.tipo_usuario, 'cliente');
    assert.equal(rows[0]!.activo, true);
    assert.equal(new Date(u.fecha_creacion).getTime(), rows[0]!.fecha_creacion.getTime());
  });

  test('read-only fields (id, activo, nombre_completo, fechas) and unknown fields are ignored', async () => {
    const res = await s.api.post(
      '/api/usuarios/',
      nuevoUsuario({
        id: 999999,
        activo: false,
        nombre_completo: 'Otro Nombre',
        fecha_creacion: '2000-01-01T00:00:00Z',
        fecha_actualizacion: '2000-01-01T00:00:00Z',
        es_admin: true,
        is_superuser: true,
      }),
    );
    assert.equal(res.status, 201, res.text);
    assert.notEqual(res.body.id, 999999);
    assert.equal(res.body.activo, true);
    assert.equal(res.body.nombre_completo, 'Ana Pérez');
    assert.notEqual(res.body.fecha_creacion.slice(0, 4), '2000');
    assert.notEqual(res.body.fecha_actualizacion.slice(0, 4), '2000');
    assert.equal('es_admin' in res.body, false);
    assert.equal('is_superuser' in res.body, false);
    const { rows } = await s.db.query('SELECT count(*)::int AS n FROM usuarios_usuario WHERE id = 999999');
    assert.equal(rows[0]!.n, 0);
  });

  test('password is write-only: never answered, stored only as an argon2id hash', async () => {
    const creado = await s.api.post('/api/usuarios/', nuevoUsuario());
    assert.equal(creado.status, 201, creado.text);
    const { id } = creado.body;
    const leidos = [
      await s.api.get(`/api/usuarios/${id}/`),
      await s.api.patch(`/api/usuarios/${id}/`, { nombre: 'Eva' }),
      await s.api.post(`/api/usuarios/${id}/desactivar/`),
      await s.api.post(`/api/usuarios/${id}/activar/`),
      await s.api.get(`/api/usuarios/?search=${encodeURIComponent(creado.body.email)}`),
    ];
    for (const res of leidos) assert.equal(res.status, 200, res.text);
    for (const res of [creado, ...leidos]) {
      assert.doesNotMatch(res.text, /password/i);
      assert.equal(res.text.includes(PASSWORD), false);
      assert.doesNotMatch(res.text, /\$argon2/);
    }
    const { rows } = await s.db.query<{ password: string }>(
      'SELECT password FROM usuarios_usuario WHERE id = $1',
      [id],
    );
    assert.match(rows[0]!.password, /^\$argon2id\$/);
    assert.equal(rows[0]!.password.includes(PASSWORD), false);
  });

  test('PUT and PATCH ignore password: the stored hash stays and the old password still logs in', async () => {
    const u = await s.usuario();
    const antes = await s.db.query('SELECT password FROM usuarios_usuario WHERE id = $1', [u.id]);
    const otra = 'Otra-clave-larga-2026';
    const patch = await s.api.patch(`/api/usuarios/${u.id}/`, { password: otra });
    assert.equal(patch.status, 200, patch.text);
    const put = await s.api.put(`/api/usuarios/${u.id}/`, {
      email: u.email,
      nombre: 'Ana',
      apellido: 'Pérez',
      password: otra,
    });
    assert.equal(put.status, 200, put.text);
    const despues = await s.db.query('SELECT password FROM usuarios_usuario WHERE id = $1', [u.id]);
    assert.equal(despues.rows[0]!.password, antes.rows[0]!.password);
    const viejo = await s.anon.post('/api/token/', { email: u.email, password: u.password });
    assert.equal(viejo.status, 200, viejo.text);
    const nuevo = await s.anon.post('/api/token/', { email: u.email, password: otra });
    assert.equal(nuevo.status, 401, nuevo.text);
  });

  test('a duplicate e-mail in any case is 400 {"email": ["Email ya existe"]}', async () => {
    await crear({ email: 'dup@example.com' });
    for (const email of ['dup@example.com', 'DUP@Example.COM', '  Dup@example.com  ']) {
      const res = await s.api.post('/api/usuarios/', nuevoUsuario({ email }));
      assert.equal(res.status, 400, email);
      assert.deepEqual(res.body, DUPLICADO);
    }
    const { rows } = await s.db.query(
      `SELECT count(*)::int AS n FROM usuarios_usuario WHERE lower(email) = 'dup@example.com'`,
    );
    assert.equal(rows[0]!.n, 1);
  });

  test('an inactive user still owns its e-mail', async () => {
    const u = await crear({ email: 'baja@example.com' });
    assert.equal((await s.api.delete(`/api/usuarios/${u.id}/`)).status, 204);
    const res = await s.api.post('/api/usuarios/', nuevoUsuario({ email: 'BAJA@example.com' }));
    assert.deepEqual([res.status, res.body], [400, DUPLICADO]);
  });
});

describe('GET /api/usuarios/{id}/', () => {
  test('200 the same representation as created', async () => {
    const u = await crear({ telefono: '+34 600 000 000', tipo_usuario: 'empleado' });
    const res = await s.api.get(`/api/usuarios/${u.id}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, u);
  });

  test('an id that does not exist is 404 {"detail": "No encontrado."}', async () => {
    const res = await s.api.get('/api/usuarios/987654321/');
    assert.deepEqual([res.status, res.body], [404, { detail: 'No encontrado.' }]);
  });
});

describe('PUT /api/usuarios/{id}/', () => {
  test('replaces the writable fields; read-only ones in the body are ignored', async () => {
    const u = await crear({ telefono: '600', tipo_usuario: 'empleado' });
    await envejecer(u.id);
    const res = await s.api.put(`/api/usuarios/${u.id}/`, {
      email: ' Nuevo.Correo@Example.com ',
      nombre: ' Beatriz ',
      apellido: 'López',
      telefono: '(91) 555-0101',
      tipo_usuario: 'administrador',
      id: 1,
      activo: false,
      nombre_completo: 'x',
      fecha_creacion: '2001-01-01T00:00:00Z',
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, u.id);
    assert.equal(res.body.email, 'nuevo.correo@example.com');
    assert.equal(res.body.nombre, 'Beatriz');
    assert.equal(res.body.nombre_completo, 'Beatriz López');
    assert.equal(res.body.telefono, '(91) 555-0101');
    assert.equal(res.body.tipo_usuario, 'administrador');
    assert.equal(res.body.activo, true);
    assert.equal(res.body.fecha_creacion, u.fecha_creacion);
    assert.ok(res.body.fecha_actualizacion > '2000-01-01T00:00:00.000Z');
    assert.deepEqual((await s.api.get(`/api/usuarios/${u.id}/`)).body, res.body);
  });

  test('requires every required writable field, all reported at once', async () => {
    const u = await crear();
    const res = await s.api.put(`/api/usuarios/${u.id}/`, { telefono: '1' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      email: ['Este campo es requerido.'],
      nombre: ['Este campo es requerido.'],
      apellido: ['Este campo es requerido.'],
    });
    assert.deepEqual((await s.api.get(`/api/usuarios/${u.id}/`)).body, u);
  });

  test('optional fields left out keep their stored value (as DRF)', async () => {
    const u = await crear({ telefono: '123', tipo_usuario: 'empleado' });
    const res = await s.api.put(`/api/usuarios/${u.id}/`, {
      email: u.email,
      nombre: 'Eva',
      apellido: 'Ruiz',
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.telefono, '123');
    assert.equal(res.body.tipo_usuario, 'empleado');
  });

  test("keeping one's own e-mail in another case is not a duplicate", async () => {
    const u = await crear({ email: 'propio@example.com' });
    const res = await s.api.put(`/api/usuarios/${u.id}/`, {
      email: 'PROPIO@Example.com',
      nombre: 'A',
      apellido: 'B',
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.email, 'propio@example.com');
  });

  test('another user\'s e-mail is 400 {"email": ["Email ya existe"]}', async () => {
    const a = await crear({ email: 'put-a@example.com' });
    const b = await crear();
    const res = await s.api.put(`/api/usuarios/${b.id}/`, {
      email: 'PUT-A@example.com',
      nombre: 'A',
      apellido: 'B',
    });
    assert.deepEqual([res.status, res.body], [400, DUPLICADO]);
    assert.deepEqual((await s.api.get(`/api/usuarios/${b.id}/`)).body, b);
    assert.deepEqual((await s.api.get(`/api/usuarios/${a.id}/`)).body, a);
  });

  test('404 for an id that does not exist', async () => {
    const res = await s.api.put('/api/usuarios/987654321/', nuevoUsuario());
    assert.deepEqual([res.status, res.body], [404, { detail: 'No encontrado.' }]);
  });
});

describe('PATCH /api/usuarios/{id}/', () => {
  test('changes only the fields given and moves fecha_actualizacion', async () => {
    const u = await crear({ telefono: '555', tipo_usuario: 'empleado' });
    await envejecer(u.id);
    const res = await s.api.patch(`/api/usuarios/${u.id}/`, { apellido: 'Gómez' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      { ...res.body, fecha_actualizacion: '' },
      { ...u, apellido: 'Gómez', nombre_completo: 'Ana Gómez', fecha_actualizacion: '' },
    );
    assert.ok(res.body.fecha_actualizacion > '2000-01-01T00:00:00.000Z');
    assert.match(res.body.fecha_actualizacion, UTC_Z);
    const { rows } = await s.db.query('SELECT fecha_actualizacion FROM usuarios_usuario WHERE id = $1', [
      u.id,
    ]);
    assert.equal(rows[0]!.fecha_actualizacion.toISOString(), res.body.fecha_actualizacion);
  });

  test('an empty PATCH is valid and changes nothing writable', async () => {
    const u = await crear();
    const res = await s.api.patch(`/api/usuarios/${u.id}/`, {});
    assert.equal(res.status, 200);
    assert.deepEqual({ ...res.body, fecha_actualizacion: '' }, { ...u, fecha_actualizacion: '' });
  });

  test('read-only fields in a PATCH are ignored (activo changes only by its actions)', async () => {
    const u = await crear();
    const res = await s.api.patch(`/api/usuarios/${u.id}/`, { activo: false, id: 5, nombre_completo: 'Z Z' });
    assert.equal(res.status, 200);
    assert.equal(res.body.activo, true);
    assert.equal(res.body.id, u.id);
    assert.equal(res.body.nombre_completo, u.nombre_completo);
  });

  test("own e-mail in another case is fine; another user's is a duplicate", async () => {
    await crear({ email: 'patch-a@example.com' });
    const b = await crear({ email: 'patch-b@example.com' });
    const own = await s.api.patch(`/api/usuarios/${b.id}/`, { email: 'Patch-B@EXAMPLE.com' });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.email, 'patch-b@example.com');
    const taken = await s.api.patch(`/api/usuarios/${b.id}/`, { email: 'PATCH-A@example.com' });
    assert.deepEqual([taken.status, taken.body], [400, DUPLICADO]);
  });

  test('validates the fields given', async () => {
    const u = await crear();
    const res = await s.api.patch(`/api/usuarios/${u.id}/`, { nombre: '   ', tipo_usuario: 'jefe' });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ['nombre', 'tipo_usuario']);
  });
});

describe('DELETE and the activo actions', () => {
  test('DELETE is a soft delete: 204, the row stays with activo false, GET still 200', async () => {
    const u = await crear();
    await envejecer(u.id);
    const res = await s.api.delete(`/api/usuarios/${u.id}/`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    const { rows } = await s.db.query(
      'SELECT activo, fecha_actualizacion FROM usuarios_usuario WHERE id = $1',
      [u.id],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.activo, false);
    assert.ok(rows[0]!.fecha_actualizacion > new Date('2000-01-02T00:00:00Z'));
    const read = await s.api.get(`/api/usuarios/${u.id}/`);
    assert.equal(read.status, 200);
    assert.equal(read.body.activo, false);
    assert.equal((await s.api.delete(`/api/usuarios/${u.id}/`)).status, 204);
  });

  test('DELETE of an id that does not exist is 404', async () => {
    const res = await s.api.delete('/api/usuarios/987654321/');
    assert.deepEqual([res.status, res.body], [404, { detail: 'No encontrado.' }]);
  });

  test('desactivar and activar answer the user and are idempotent', async () => {
    const u = await crear();
    for (const [accion, activo] of [
      ['desactivar', false],
      ['desactivar', false],
      ['activar', true],
      ['activar', true],
    ] as const) {
      await envejecer(u.id);
      const res = await s.api.post(`/api/usuarios/${u.id}/${accion}/`);
      assert.equal(res.status, 200, `${accion}: ${res.text}`);
      assert.equal(res.body.activo, activo);
      assert.equal(res.body.id, u.id);
      assert.equal(res.body.email, u.email);
      assert.ok(res.body.fecha_actualizacion > '2000-01-01T00:00:00.000Z');
      const { rows } = await s.db.query('SELECT activo FROM usuarios_usuario WHERE id = $1', [u.id]);
      assert.equal(rows[0]!.activo, activo);
    }
  });

  test('activar reactivates a deleted user', async () => {
    const u = await crear();
    await s.api.delete(`/api/usuarios/${u.id}/`);
    const res = await s.api.post(`/api/usuarios/${u.id}/activar/`);
    assert.equal(res.status, 200);
    assert.equal(res.body.activo, true);
  });

  test('the actions on an id that does not exist are 404', async () => {
    for (const accion of ['activar', 'desactivar']) {
      const res = await s.api.post(`/api/usuarios/987654321/${accion}/`);
      assert.deepEqual([res.status, res.body], [404, { detail: 'No encontrado.' }]);
    }
  });
});
