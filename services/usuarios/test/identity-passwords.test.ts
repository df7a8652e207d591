// CONTRACT §5.1: the password field (required on registration, write-only in every answer, stored
// only as a salted argon2id hash, ignored by PUT/PATCH), Django's four validators with their Spanish
// messages all at once, white space neither blank nor trimmed, at most 128 characters; and the
// password action (own change proves the current one, administradores included; another user's
// does not; validated against the target user; the old password stops logging in).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ApiResponse } from '@servicios/testing';
import { assertAnswer, decodificar } from './identity-support.ts';
import { nuevoUsuario, PASSWORD, type Suite, startUsuarios, type Usuario } from './support.ts';

const CORTA = 'Esta contraseña es demasiado corta. Debe contener al menos 8 caracteres.';
const COMUN = 'Esta contraseña es demasiado común.';
const NUMERICA = 'Esta contraseña es completamente numérica.';
const similar = (atributo: string) => `La contraseña es demasiado similar a la de ${atributo}.`;
const ACTUAL_INCORRECTA = { password_actual: ['Contraseña actual incorrecta.'] };
const NUEVA = 'Otra-clave-2026-puerta';

let s: Suite;

before(async () => {
  s = await startUsuarios('identity_passwords', {
    THROTTLE_LOGIN_ATTEMPTS: '100000',
    THROTTLE_REGISTRATIONS: '100000',
  });
});
after(() => s?.close());

const hash = async (id: number): Promise<string> =>
  (await s.db.query('SELECT password FROM usuarios_usuario WHERE id = $1', [id])).rows[0]!.password;
const entra = async (email: string, password: string) =>
  (await s.anon.post('/api/token/', { email, password })).status;
const registrar = (datos: Record<string, unknown>) => s.anon.post('/api/usuarios/', datos);
const cambiar = (api: Suite['api'], id: number, cuerpo: Record<string, unknown>) =>
  api.post(`/api/usuarios/${id}/password/`, cuerpo);

/** No user in the answer carries a password (or its hash), and the text never holds `secreto`. */
function sinPassword(res: ApiResponse, secreto: string, donde: string): void {
  assert.ok(!res.text.includes(secreto), `${donde} shows the password: ${res.text}`);
  assert.ok(!res.text.includes('$argon2'), `${donde} shows a hash: ${res.text}`);
  const usuarios = Array.isArray(res.body?.results) ? res.body.results : [res.body];
  for (const u of usuarios) {
    // A 400 lists `password` errors by name; only a user (it has an id) must not hold the field.
    if (u && typeof u === 'object' && 'id' in u)
      assert.equal('password' in u, false, `${donde}: ${res.text}`);
  }
}

describe('the password field', () => {
  test('is required on registration, as a 400 on that field', async () => {
    const { password: _p, ...sinClave } = nuevoUsuario();
    assertAnswer(await registrar(sinClave), 400, { password: ['Este campo es requerido.'] });
    assertAnswer(await registrar({ ...sinClave, password: null }), 400, {
      password: ['Este campo no puede ser nulo.'],
    });
    assertAnswer(await registrar({ ...sinClave, password: '' }), 400, {
      password: ['Este campo no puede estar en blanco.'],
    });
  });

  test('never appears in any answer', async () => {
    const secreto = 'Secreto-Unico-2026-xyz';
    const datos = nuevoUsuario({ password: secreto });
    const creado = await registrar(datos);
    assertAnswer(creado, 201);
    const id = creado.body.id as number;
    const login = await s.anon.post('/api/token/', { email: datos.email, password: secreto });
    assertAnswer(login, 200);
    const api = s.anon.as(login.body.access);
    const respuestas: Record<string, ApiResponse> = {
      'POST /api/usuarios/': creado,
      'POST /api/token/': login,
      'GET me': await api.get('/api/usuarios/me/'),
      'GET id': await s.api.get(`/api/usuarios/${id}/`),
      'GET list': await s.api.get(`/api/usuarios/?search=${encodeURIComponent(String(datos.email))}`),
      PATCH: await api.patch(`/api/usuarios/${id}/`, { nombre: 'Berta', password: secreto }),
      PUT: await api.put(`/api/usuarios/${id}/`, { ...datos, password: secreto }),
      desactivar: await s.api.post(`/api/usuarios/${id}/desactivar/`),
      activar: await s.api.post(`/api/usuarios/${id}/activar/`),
      'POST 400 (duplicate e-mail)': await registrar({ ...datos }),
      'POST 400 (similar to e-mail)': await registrar(
        nuevoUsuario({ email: 'secreto.unico@example.com', password: 'secreto.unico' }),
      ),
      'login 401': await s.anon.post('/api/token/', { email: datos.email, password: `${secreto}!` }),
      'password 400': await cambiar(api, id, { password: '1', password_actual: `${secreto}!` }),
    };
    for (const [donde, res] of Object.entries(respuestas)) {
      assert.ok(res.status < 500, `${donde}: ${res.status}`);
      sinPassword(res, secreto, donde);
      sinPassword(res, `${secreto}!`, donde);
      sinPassword(res, 'secreto.unico', donde);
    }
    assert.equal(respuestas['GET list']!.body.count, 1);
    // Nor in the tokens' claims.
    for (const token of [login.body.access, login.body.refresh]) {
      assert.ok(!JSON.stringify(decodificar(token)).includes(secreto));
    }
    assertAnswer(await cambiar(api, id, { password: NUEVA, password_actual: secreto }), 204);
  });

  test('is stored only as a salted argon2id hash', async () => {
    const a = await s.usuario('cliente');
    const b = await s.usuario('cliente');
    assert.equal(a.password, b.password);
    for (const u of [a, b]) {
      const almacenado = await hash(u.id);
      assert.match(almacenado, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[\w+/]+\$[\w+/]+$/);
      assert.ok(!almacenado.includes(u.password));
    }
    // Salted: the same password, two hashes.
    assert.notEqual(await hash(a.id), await hash(b.id));
  });

  test('is ignored by PUT and PATCH: the hash stays, the old password still logs in', async () => {
    const u = await s.usuario('cliente');
    const antes = await hash(u.id);
    const parche = await u.api.patch(`/api/usuarios/${u.id}/`, { password: NUEVA });
    assertAnswer(parche, 200);
    const reemplazo = await s.api.put(`/api/usuarios/${u.id}/`, {
      email: u.email,
      nombre: 'Ana',
      apellido: 'Pérez',
      password: NUEVA,
    });
    assertAnswer(reemplazo, 200);
    // Even an invalid one is ignored, not judged.
    assertAnswer(await u.api.patch(`/api/usuarios/${u.id}/`, { password: '1' }), 200);
    assert.equal(await hash(u.id), antes);
    assert.equal(await entra(u.email, u.password), 200);
    assert.equal(await entra(u.email, NUEVA), 401);
  });
});

describe("Django's validators", () => {
  const casos: [string, Record<string, unknown>, string[]][] = [
    ['too short', { password: 'Ab-1x9' }, [CORTA]],
    [
      'similar to the e-mail',
      { email: 'mariposa.azul@example.com', password: 'mariposa2026' },
      [similar('email')],
    ],
    ['similar to nombre', { nombre: 'Florentina', password: 'Florentina77' }, [similar('nombre')]],
    ['similar to apellido', { apellido: 'Montenegro', password: 'Montenegro!9' }, [similar('apellido')]],
    ['common', { password: 'iloveyou' }, [COMUN]],
    ['entirely numeric', { password: '73910264835' }, [NUMERICA]],
    ['short, common and numeric at once', { password: '12345' }, [CORTA, COMUN, NUMERICA]],
    ['similar and short at once', { password: 'Pérez2' }, [similar('apellido'), CORTA]],
  ];
  for (const [caso, datos, mensajes] of casos) {
    test(`${caso}: 400 with Django's Spanish messages`, async () => {
      const cuerpo = nuevoUsuario(datos);
      assertAnswer(await registrar(cuerpo), 400, { password: mensajes });
      const filas = await s.db.query('SELECT 1 FROM usuarios_usuario WHERE lower(email) = lower($1)', [
        cuerpo.email,
      ]);
      assert.equal(filas.rowCount, 0);
    });
  }

  test('the e-mail comes first: one message for the first attribute it resembles', async () => {
    const cuerpo = nuevoUsuario({
      email: 'valentina@example.com',
      nombre: 'Valentina',
      password: 'Valentina-88',
    });
    assertAnswer(await registrar(cuerpo), 400, { password: [similar('email')] });
  });

  test('password errors are reported with every other field error at once', async () => {
    const res = await registrar({
      email: 'no-es-un-correo',
      nombre: '',
      apellido: 'Pérez',
      password: '12345',
    });
    assertAnswer(res, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ['email', 'nombre', 'password']);
    assert.deepEqual(res.body.password, [CORTA, COMUN, NUMERICA]);
  });

  test('a valid password creates the user, who logs in with it', async () => {
    const cuerpo = nuevoUsuario({ password: 'Tortuga-Marina-1987' });
    assertAnswer(await registrar(cuerpo), 201);
    assert.equal(await entra(String(cuerpo.email), 'Tortuga-Marina-1987'), 200);
  });
});

describe('white space and length', () => {
  test('white space alone is not blank: eight spaces are a valid password', async () => {
    const cuerpo = nuevoUsuario({ password: '        ' });
    const res = await registrar(cuerpo);
    assertAnswer(res, 201);
    assert.equal(await entra(String(cuerpo.email), '        '), 200);
    assert.equal(await entra(String(cuerpo.email), '       '), 401);
  });

  test('three spaces are too short, never "blank"', async () => {
    assertAnswer(await registrar(nuevoUsuario({ password: '   ' })), 400, { password: [CORTA] });
  });

  test('a password is never trimmed, at registration or at login', async () => {
    const conEspacios = ' Clave-de-prueba-77 ';
    const cuerpo = nuevoUsuario({ password: conEspacios });
    assertAnswer(await registrar(cuerpo), 201);
    assert.equal(await entra(String(cuerpo.email), conEspacios.trim()), 401);
    assert.equal(await entra(String(cuerpo.email), conEspacios), 200);
    const u = await s.usuario('cliente');
    assert.equal(await entra(u.email, `${PASSWORD} `), 401);
    assert.equal(await entra(u.email, ` ${PASSWORD}`), 401);
  });

  test('at most 128 characters, counted as characters', async () => {
    const larga = 'ñ'.repeat(128);
    const cuerpo = nuevoUsuario({ password: larga });
    assertAnswer(await registrar(cuerpo), 201);
    assert.equal(await entra(String(cuerpo.email), larga), 200);
    for (const demasiado of ['ñ'.repeat(129), `${'Ab3-'.repeat(32)}x`]) {
      assertAnswer(await registrar(nuevoUsuario({ password: demasiado })), 400, {
        password: ['Asegúrese de que este campo no tenga más de 128 caracteres.'],
      });
    }
  });
});

describe('POST /api/usuarios/{id}/password/', () => {
  test('own change: 204; the old password stops logging in, the new one does', async () => {
    const u = await s.usuario('cliente');
    const antes = await hash(u.id);
    const res = await cambiar(u.api, u.id, { password: NUEVA, password_actual: u.password });
    assertAnswer(res, 204);
    assert.equal(res.text, '');
    assert.notEqual(await hash(u.id), antes);
    assert.match(await hash(u.id), /^\$argon2id\$/);
    assert.equal(await entra(u.email, u.password), 401);
    assert.equal(await entra(u.email, NUEVA), 200);
  });

  test('own change without the right password_actual is a 400, and nothing changes', async () => {
    for (const tipo of ['cliente', 'empleado', 'administrador'] as const) {
      const u = await s.usuario(tipo);
      const antes = await hash(u.id);
      const malos: Record<string, unknown>[] = [
        { password: NUEVA },
        { password: NUEVA, password_actual: '' },
        { password: NUEVA, password_actual: null },
        { password: NUEVA, password_actual: 12345678 },
        { password: NUEVA, password_actual: `${u.password}x` },
        { password: NUEVA, password_actual: ` ${u.password}` },
        { password: NUEVA, password_actual: [u.password] },
      ];
      for (const cuerpo of malos) {
        assertAnswer(
          await cambiar(u.api, u.id, cuerpo),
          400,
          ACTUAL_INCORRECTA,
          `${tipo} ${JSON.stringify(cuerpo)}`,
        );
      }
      assert.equal(await hash(u.id), antes);
      assert.equal(await entra(u.email, u.password), 200);
      assertAnswer(
        await cambiar(u.api, u.id, { password: NUEVA, password_actual: u.password }),
        204,
        undefined,
        tipo,
      );
    }
  });

  test('an administrador changing another user’s password needs no password_actual', async () => {
    for (const tipo of ['cliente', 'empleado', 'administrador'] as const) {
      const u = await s.usuario(tipo);
      assertAnswer(await cambiar(s.api, u.id, { password: NUEVA }), 204, undefined, tipo);
      assert.equal(await entra(u.email, u.password), 401);
      assert.equal(await entra(u.email, NUEVA), 200);
    }
    // A wrong one given anyway does not matter either.
    const otro = await s.usuario('cliente');
    assertAnswer(await cambiar(s.api, otro.id, { password: NUEVA, password_actual: 'cualquiera' }), 204);
  });

  test('the new password passes the same validation, against the target user', async () => {
    const florentina: Usuario = await s.usuario('cliente', { nombre: 'Florentina' });
    const antes = await hash(florentina.id);
    assertAnswer(await cambiar(s.api, florentina.id, { password: 'Florentina77' }), 400, {
      password: [similar('nombre')],
    });
    assertAnswer(
      await cambiar(florentina.api, florentina.id, {
        password: '12345',
        password_actual: florentina.password,
      }),
      400,
      { password: [CORTA, COMUN, NUMERICA] },
    );
    assertAnswer(await cambiar(s.api, florentina.id, { password: 'ñ'.repeat(129) }), 400, {
      password: ['Asegúrese de que este campo no tenga más de 128 caracteres.'],
    });
    assertAnswer(await cambiar(s.api, florentina.id, {}), 400, { password: ['Este campo es requerido.'] });
    assert.equal(await hash(florentina.id), antes);
    // The administrador's own attributes (nombre Administrador) do not count for someone else's password.
    assertAnswer(await cambiar(s.api, florentina.id, { password: 'Administrador7' }), 204);
    assert.equal(await entra(florentina.email, 'Administrador7'), 200);
  });

  test('a wrong password_actual and an invalid new password are reported at once', async () => {
    const u = await s.usuario('empleado');
    assertAnswer(await cambiar(u.api, u.id, { password: 'iloveyou', password_actual: 'no-es-esta' }), 400, {
      password: [COMUN],
      password_actual: ['Contraseña actual incorrecta.'],
    });
  });

  test('the new password is not trimmed, and white space alone is valid', async () => {
    const u = await s.usuario('cliente');
    const conEspacios = '  Nueva-clave-2026  ';
    assertAnswer(await cambiar(u.api, u.id, { password: conEspacios, password_actual: u.password }), 204);
    assert.equal(await entra(u.email, conEspacios.trim()), 401);
    assert.equal(await entra(u.email, conEspacios), 200);
    assertAnswer(await cambiar(s.api, u.id, { password: '        ' }), 204);
    assert.equal(await entra(u.email, '        '), 200);
  });
});
