// CONTRACT §4–5 (JWT_ISSUER, JWT_AUDIENCE): when configured, issued tokens carry `iss`/`aud` and
// every verification requires them: a token without them, or with other values, is a 401 at a
// protected route and at the token endpoints.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signingKey } from '@servicios/testing';
import {
  assert401,
  assertAnswer,
  claimsAccess,
  decodificar,
  firmar,
  kidDe,
  TOKEN_INVALIDO,
  TOKEN_NO_VALIDO,
} from './identity-support.ts';
import { type Suite, startUsuarios } from './support.ts';

const ISS = 'https://usuarios.example.com';
const AUD = 'servicios-reservas';
const clave = signingKey();
let s: Suite;
let kid: string;

before(async () => {
  s = await startUsuarios('identity_issuer', {
    JWT_PRIVATE_KEY: clave.privateKeyPem,
    JWT_ISSUER: ISS,
    JWT_AUDIENCE: AUD,
  });
  kid = await kidDe(clave.publicKeyPem);
});
after(() => s?.close());

const yo = (token: string) => s.anon.as(token).get('/api/usuarios/me/');

test('issued access and refresh tokens carry iss and aud', async () => {
  const u = await s.usuario('cliente');
  for (const token of [u.api.token!, u.refresh]) {
    const { payload } = decodificar(token);
    assert.equal(payload.iss, ISS);
    assert.ok(payload.aud === AUD || (Array.isArray(payload.aud) && payload.aud.includes(AUD)), payload.aud);
  }
  assertAnswer(await u.api.get('/api/usuarios/me/'), 200);
  const rotado = await s.anon.post('/api/token/refresh/', { refresh: u.refresh });
  assertAnswer(rotado, 200);
  assert.equal(decodificar(rotado.body.access).payload.iss, ISS);
});

test('a token signed with the right key and the right iss/aud is accepted', async () => {
  const u = await s.usuario('cliente');
  const token = await firmar(
    clave.privateKeyPem,
    { ...claimsAccess(u.id, 'cliente'), iss: ISS, aud: AUD },
    kid,
  );
  assertAnswer(await yo(token), 200);
});

test('an access token without aud, without iss, or with other values is a 401', async () => {
  const u = await s.usuario('cliente');
  const base = claimsAccess(u.id, 'cliente');
  const casos: Record<string, Record<string, unknown>> = {
    'no iss, no aud': base,
    'no aud': { ...base, iss: ISS },
    'no iss': { ...base, aud: AUD },
    'wrong aud': { ...base, iss: ISS, aud: 'otro-servicio' },
    'wrong iss': { ...base, iss: 'https://otro.example.com', aud: AUD },
  };
  for (const [caso, claims] of Object.entries(casos)) {
    const token = await firmar(clave.privateKeyPem, claims, kid);
    assert401(await yo(token), TOKEN_NO_VALIDO, caso);
    assert401(await s.anon.post('/api/token/verify/', { token }), TOKEN_INVALIDO, caso);
  }
});

test('a refresh token without the configured aud is refused at refresh and logout', async () => {
  const u = await s.usuario('cliente');
  const { payload } = decodificar(u.refresh);
  const { aud: _aud, ...sinAud } = payload;
  const token = await firmar(clave.privateKeyPem, sinAud, kid);
  assert401(await s.anon.post('/api/token/refresh/', { refresh: token }), TOKEN_INVALIDO);
  assert401(await s.anon.post('/api/token/blacklist/', { refresh: token }), TOKEN_INVALIDO);
  // The genuine token of that login is untouched.
  assertAnswer(await s.anon.post('/api/token/refresh/', { refresh: u.refresh }), 200);
});
