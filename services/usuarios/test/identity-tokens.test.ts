// CONTRACT §5.2, the token endpoints of servicio-usuarios: login (shape, claims, default lifetimes,
// e-mail without case, one 401 for every bad credential), refresh rotation with reuse detection,
// verify, blacklist (logout) and the revocations that a deactivation or a password change causes.
// The suite signs with a key the test generated, so that it can make expired tokens of its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signingKey } from '@servicios/testing';
import {
  assert401,
  assertAnswer,
  decodificar,
  firmar,
  kidDe,
  pausa,
  SIN_CUENTA,
  sinFirma,
  TOKEN_INVALIDO,
} from './identity-support.ts';
import { ADMIN, nuevoUsuario, PASSWORD, type Suite, startUsuarios } from './support.ts';

const clave = signingKey();
let s: Suite;
let kid: string;

before(async () => {
  s = await startUsuarios('identity_tokens', {
    JWT_PRIVATE_KEY: clave.privateKeyPem,
    // Empty is unset: the default lifetimes (300 s, 86400 s) are under test here.
    JWT_ACCESS_TTL_S: '',
    // This file logs in far more than the per-address limit allows; throttling has its own files.
    THROTTLE_LOGIN_ATTEMPTS: '100000',
  });
  kid = await kidDe(clave.publicKeyPem);
});
after(() => s?.close());

const loginRes = (email: unknown, password: unknown) => s.anon.post('/api/token/', { email, password });
const refrescar = (refresh: string) => s.anon.post('/api/token/refresh/', { refresh });
const verificar = (token: string) => s.anon.post('/api/token/verify/', { token });
const cerrar = (refresh: string) => s.anon.post('/api/token/blacklist/', { refresh });
const yo = (access: string) => s.anon.as(access).get('/api/usuarios/me/');

/** A new user (created by the administrador) that has not logged in yet. */
async function nuevo(overrides: Record<string, unknown> = {}) {
  const datos = nuevoUsuario(overrides);
  const res = await s.api.post('/api/usuarios/', datos);
  assert.equal(res.status, 201, res.text);
  return { id: res.body.id as number, email: String(datos.email), password: String(datos.password) };
}

async function entrar(email: string, password: string): Promise<{ access: string; refresh: string }> {
  const res = await loginRes(email, password);
  assertAnswer(res, 200);
  return res.body;
}

describe('POST /api/token/ (login)', () => {
  test('answers 200 {refresh, access}, ES256 tokens with a kid published in the JWKS', async () => {
    const u = await nuevo();
    const res = await loginRes(u.email, u.password);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['access', 'refresh']);
    const jwks = await s.anon.get('/.well-known/jwks.json');
    const kids = jwks.body.keys.map((k: { kid: string }) => k.kid);
    for (const token of [res.body.access, res.body.refresh]) {
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const { header } = decodificar(token);
      assert.equal(header.alg, 'ES256');
      assert.ok(kids.includes(header.kid), `kid ${header.kid} not in ${kids}`);
      assert.equal(header.kid, kid);
    }
  });

  test('access claims: token_type, exp, iat, jti, user_id, tipo_usuario; 5 minutes by default', async () => {
    const u = await nuevo({ tipo_usuario: 'empleado' });
    const { access, refresh } = await entrar(u.email, u.password);
    const a = decodificar(access).payload;
    assert.equal(a.token_type, 'access');
    assert.equal(a.user_id, u.id);
    assert.ok(Number.isInteger(a.user_id));
    assert.equal(a.tipo_usuario, 'empleado');
    assert.equal(typeof a.jti, 'string');
    assert.ok(a.jti.length > 0);
    assert.ok(Number.isInteger(a.iat) && Number.isInteger(a.exp));
    assert.equal(a.exp - a.iat, 300);
    assert.ok(Math.abs(a.iat - Date.now() / 1000) < 60);
    // Not configured in this suite: no iss/aud.
    assert.equal(a.iss, undefined);
    assert.equal(a.aud, undefined);
    const r = decodificar(refresh).payload;
    assert.equal(r.token_type, 'refresh');
    assert.equal(r.user_id, u.id);
    assert.equal(r.exp - r.iat, 86_400);
    assert.notEqual(r.jti, a.jti);
  });

  test('the access token opens the protected routes as its user', async () => {
    const u = await nuevo();
    const { access } = await entrar(u.email, u.password);
    const me = await yo(access);
    assertAnswer(me, 200);
    assert.equal(me.body.id, u.id);
  });

  test('matches the e-mail without case and with surrounding white space', async () => {
    const u = await nuevo();
    const res = await loginRes(`  ${u.email.toUpperCase()}\t`, u.password);
    assertAnswer(res, 200);
    assert.equal(decodificar(res.body.access).payload.user_id, u.id);
  });

  test('missing fields are 400 field errors', async () => {
    assertAnswer(await s.anon.post('/api/token/', {}), 400, {
      email: ['Este campo es requerido.'],
      password: ['Este campo es requerido.'],
    });
    assertAnswer(await s.anon.post('/api/token/', { email: ADMIN.email }), 400, {
      password: ['Este campo es requerido.'],
    });
    assertAnswer(await s.anon.post('/api/token/', { password: ADMIN.password }), 400, {
      email: ['Este campo es requerido.'],
    });
  });

  test('unknown e-mail, wrong password and inactive user get the same 401', async () => {
    const u = await nuevo();
    const inactivo = await nuevo();
    assertAnswer(await s.api.post(`/api/usuarios/${inactivo.id}/desactivar/`), 200);
    const respuestas = [
      await loginRes('nadie-con-este-correo@example.com', PASSWORD),
      await loginRes(u.email, `${u.password}x`),
      await loginRes(inactivo.email, inactivo.password),
    ];
    for (const res of respuestas) assert401(res, SIN_CUENTA);
    assert.equal(new Set(respuestas.map((r) => r.text)).size, 1);
  });
});

describe('POST /api/token/refresh/', () => {
  test('rotates: a new pair, and the presented refresh token stops working', async () => {
    const u = await nuevo();
    const primero = await entrar(u.email, u.password);
    const res = await refrescar(primero.refresh);
    assertAnswer(res, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['access', 'refresh']);
    assert.notEqual(res.body.refresh, primero.refresh);
    assert.equal(decodificar(res.body.access).payload.user_id, u.id);
    assert.equal(decodificar(res.body.access).payload.tipo_usuario, 'cliente');
    assertAnswer(await yo(res.body.access), 200);
    assert401(await verificar(primero.refresh), TOKEN_INVALIDO);
    // The new refresh token works once more, the old one never again.
    assertAnswer(await refrescar(res.body.refresh), 200);
  });

  test('a rotated token presented again is a reuse: 401, and its whole login is revoked', async () => {
    const u = await nuevo();
    const robado = await entrar(u.email, u.password);
    const otroLogin = await entrar(u.email, u.password);
    const rotado = await refrescar(robado.refresh);
    assertAnswer(rotado, 200);
    assert401(await refrescar(robado.refresh), TOKEN_INVALIDO);
    // The token born of the first rotation belongs to the revoked family too.
    assert401(await refrescar(rotado.body.refresh), TOKEN_INVALIDO);
    assert401(await verificar(rotado.body.refresh), TOKEN_INVALIDO);
    // Another login of the same user goes on.
    assertAnswer(await verificar(otroLogin.refresh), 200, {});
    assertAnswer(await refrescar(otroLogin.refresh), 200);
  });

  test('two concurrent refreshes with one token: one 200, one 401, and the login is revoked', async () => {
    const u = await nuevo();
    const { refresh } = await entrar(u.email, u.password);
    const [a, b] = await Promise.all([refrescar(refresh), refrescar(refresh)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 401], `${a.text} ${b.text}`);
    const perdedor = a.status === 401 ? a : b;
    const ganador = a.status === 200 ? a : b;
    assert401(perdedor, TOKEN_INVALIDO);
    // No grace period: the second use is a reuse, which ends the family, winner's token included.
    assert401(await refrescar(ganador.body.refresh), TOKEN_INVALIDO);
  });

  test('a refresh token of a user deactivated since is refused', async () => {
    const u = await nuevo();
    const { refresh } = await entrar(u.email, u.password);
    assertAnswer(await s.api.post(`/api/usuarios/${u.id}/desactivar/`), 200);
    assert401(await refrescar(refresh), TOKEN_INVALIDO);
  });

  test('the new access token carries the current tipo_usuario', async () => {
    const u = await nuevo();
    const { refresh } = await entrar(u.email, u.password);
    assertAnswer(await s.api.patch(`/api/usuarios/${u.id}/`, { tipo_usuario: 'empleado' }), 200);
    const res = await refrescar(refresh);
    assertAnswer(res, 200);
    assert.equal(decodificar(res.body.access).payload.tipo_usuario, 'empleado');
  });

  test("a refresh token's lifetime restarts at each rotation", async () => {
    const u = await nuevo();
    const { refresh } = await entrar(u.email, u.password);
    const antes = decodificar(refresh).payload;
    await pausa(1100);
    const res = await refrescar(refresh);
    assertAnswer(res, 200);
    const despues = decodificar(res.body.refresh).payload;
    assert.equal(despues.exp - despues.iat, 86_400);
    assert.ok(despues.exp > antes.exp, `${despues.exp} should be after ${antes.exp}`);
  });

  test('an access token, a tampered, an expired or a garbage token is 401 token_not_valid', async () => {
    const u = await nuevo();
    const { access, refresh } = await entrar(u.email, u.password);
    const ahora = Math.floor(Date.now() / 1000);
    const vencido = await firmar(
      clave.privateKeyPem,
      { ...decodificar(refresh).payload, iat: ahora - 200_000, exp: ahora - 100 },
      kid,
    );
    const [cabeza, cuerpo, firma] = refresh.split('.');
    const manipulado = `${cabeza}.${cuerpo}.${firma!.slice(0, -4)}AAAA`;
    for (const token of [access, vencido, manipulado, 'basura', 'a.b.c']) {
      assert401(await refrescar(token), TOKEN_INVALIDO, token);
    }
    // None of those spent the genuine token.
    assertAnswer(await refrescar(refresh), 200);
  });

  test('a missing refresh field is a 400 field error', async () => {
    assertAnswer(await s.anon.post('/api/token/refresh/', {}), 400, {
      refresh: ['Este campo es requerido.'],
    });
  });
});

describe('POST /api/token/verify/', () => {
  test('200 {} for a valid access token and for the current refresh token', async () => {
    const u = await nuevo();
    const { access, refresh } = await entrar(u.email, u.password);
    assertAnswer(await verificar(access), 200, {});
    assertAnswer(await verificar(refresh), 200, {});
  });

  test('401 for a rotated or a revoked refresh token', async () => {
    const u = await nuevo();
    const login1 = await entrar(u.email, u.password);
    const rotado = await refrescar(login1.refresh);
    assertAnswer(rotado, 200);
    // verify is no use of the token: checking the rotated one twice revokes nothing.
    assert401(await verificar(login1.refresh), TOKEN_INVALIDO);
    assert401(await verificar(login1.refresh), TOKEN_INVALIDO);
    assertAnswer(await verificar(rotado.body.refresh), 200, {});
    const login2 = await entrar(u.email, u.password);
    assertAnswer(await cerrar(login2.refresh), 200, {});
    assert401(await verificar(login2.refresh), TOKEN_INVALIDO);
  });

  test('401 for a tampered, an expired, a foreign or a garbage token', async () => {
    const u = await nuevo();
    const { access } = await entrar(u.email, u.password);
    const ahora = Math.floor(Date.now() / 1000);
    const claims = decodificar(access).payload;
    const tokens = {
      manipulado: `${access.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, user_id: 1 })).toString('base64url')}.${access.split('.')[2]}`,
      vencido: await firmar(clave.privateKeyPem, { ...claims, iat: ahora - 1000, exp: ahora - 10 }, kid),
      ajeno: await firmar(signingKey().privateKeyPem, claims, kid),
      basura: 'no-es-un-jwt',
      'alg none': sinFirma(claims, kid),
    };
    for (const [nombre, token] of Object.entries(tokens))
      assert401(await verificar(token), TOKEN_INVALIDO, nombre);
  });
});

describe('POST /api/token/blacklist/ (logout)', () => {
  test('ends the login of that token; idempotent; other logins go on', async () => {
    const u = await nuevo();
    const sesion = await entrar(u.email, u.password);
    const otra = await entrar(u.email, u.password);
    assertAnswer(await cerrar(sesion.refresh), 200, {});
    assertAnswer(await cerrar(sesion.refresh), 200, {});
    assert401(await refrescar(sesion.refresh), TOKEN_INVALIDO);
    assertAnswer(await refrescar(otra.refresh), 200);
  });

  test('a rotated token of the login ends it too (the newest token stops working)', async () => {
    const u = await nuevo();
    const sesion = await entrar(u.email, u.password);
    const rotado = await refrescar(sesion.refresh);
    assertAnswer(rotado, 200);
    assertAnswer(await cerrar(sesion.refresh), 200, {});
    assert401(await refrescar(rotado.body.refresh), TOKEN_INVALIDO);
    assert401(await verificar(rotado.body.refresh), TOKEN_INVALIDO);
  });

  test('an expired refresh token signed here is still a logout of its login', async () => {
    const u = await nuevo();
    const sesion = await entrar(u.email, u.password);
    const ahora = Math.floor(Date.now() / 1000);
    // The same login (same claims, `sid` included) in a token that has already expired.
    const vencido = await firmar(
      clave.privateKeyPem,
      { ...decodificar(sesion.refresh).payload, iat: ahora - 90_000, exp: ahora - 60 },
      kid,
    );
    assertAnswer(await cerrar(vencido), 200, {});
    assert401(await refrescar(sesion.refresh), TOKEN_INVALIDO);
  });

  test('401 for an access token or a token signed by another key', async () => {
    const u = await nuevo();
    const sesion = await entrar(u.email, u.password);
    assert401(await cerrar(sesion.access), TOKEN_INVALIDO);
    const ajena = signingKey();
    const claims = decodificar(sesion.refresh).payload;
    assert401(await cerrar(await firmar(ajena.privateKeyPem, claims, kid)), TOKEN_INVALIDO);
    assert401(
      await cerrar(await firmar(ajena.privateKeyPem, claims, await kidDe(ajena.publicKeyPem))),
      TOKEN_INVALIDO,
    );
    assert401(await cerrar('basura'), TOKEN_INVALIDO);
    // The login those attempts named is untouched.
    assertAnswer(await refrescar(sesion.refresh), 200);
  });
});

describe('revocation by the user changes', () => {
  test('a password change revokes every refresh token of that user, the caller’s own included', async () => {
    const u = await nuevo();
    const propio = await entrar(u.email, u.password);
    const otro = await entrar(u.email, u.password);
    const rotado = await refrescar(otro.refresh);
    assertAnswer(rotado, 200);
    const nueva = 'Otra-clave-2026-puerta';
    const cambio = await s.anon
      .as(propio.access)
      .post(`/api/usuarios/${u.id}/password/`, { password: nueva, password_actual: u.password });
    assertAnswer(cambio, 204);
    for (const token of [propio.refresh, rotado.body.refresh]) {
      assert401(await refrescar(token), TOKEN_INVALIDO);
      assert401(await verificar(token), TOKEN_INVALIDO);
    }
    // Access tokens live out their lifetime (they are never checked against the database).
    assertAnswer(await yo(propio.access), 200);
    // The user logs in again with the new password.
    const nuevoLogin = await entrar(u.email, nueva);
    assertAnswer(await refrescar(nuevoLogin.refresh), 200);
  });

  test('a password change by an administrador revokes the user’s logins too', async () => {
    const u = await nuevo();
    const sesion = await entrar(u.email, u.password);
    assertAnswer(
      await s.api.post(`/api/usuarios/${u.id}/password/`, { password: 'Otra-clave-2026-puerta' }),
      204,
    );
    assert401(await refrescar(sesion.refresh), TOKEN_INVALIDO);
  });
});
