// CONTRACT §5.2 (JWKS) and §4 (JWT_PRIVATE_KEY, JWT_PREVIOUS_PUBLIC_KEYS): the published keys and
// their shape, cacheable without authentication, and a key rotation: tokens signed by a retired key
// listed in JWT_PREVIOUS_PUBLIC_KEYS still verify until they expire; a key not listed never does.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, test } from 'node:test';
import { signingKey } from '@servicios/testing';
import {
  assert401,
  assertAnswer,
  claimsAccess,
  decodificar,
  firmar,
  kidDe,
  TOKEN_NO_VALIDO,
} from './identity-support.ts';
import { type Suite, startUsuarios } from './support.ts';

const actual = signingKey();
const retiradas = [signingKey(), signingKey()];
let s: Suite;

before(async () => {
  s = await startUsuarios('identity_jwks', {
    JWT_PRIVATE_KEY: actual.privateKeyPem,
    // Two retired keys, one PEM block after the other.
    JWT_PREVIOUS_PUBLIC_KEYS: retiradas.map((k) => k.publicKeyPem).join('\n'),
  });
});
after(() => s?.close());

test('GET /.well-known/jwks.json publishes the current key and the retired ones', async () => {
  const res = await s.anon.get('/.well-known/jwks.json');
  assertAnswer(res, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(res.body), ['keys']);
  const esperados = await Promise.all([actual, ...retiradas].map((k) => kidDe(k.publicKeyPem)));
  assert.deepEqual(res.body.keys.map((k: { kid: string }) => k.kid).sort(), [...esperados].sort());
  for (const jwk of res.body.keys) {
    assert.equal(jwk.kty, 'EC');
    assert.equal(jwk.crv, 'P-256');
    assert.equal(jwk.alg, 'ES256');
    assert.equal(jwk.use, 'sig');
    assert.equal(typeof jwk.kid, 'string');
    assert.ok(jwk.kid.length > 0);
    // Public only: never the private scalar.
    assert.equal(jwk.d, undefined);
    // The JWK is the very key whose kid it carries.
    const pem = createPublicKey({ key: jwk, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    assert.equal(await kidDe(pem), jwk.kid);
  }
  assert.equal(new Set(res.body.keys.map((k: { kid: string }) => k.kid)).size, res.body.keys.length);
});

test('the JWKS is cacheable for 5 minutes and needs no authentication', async () => {
  const res = await s.anon.get('/.well-known/jwks.json');
  assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
  // An invalid Authorization header is ignored there.
  const conBasura = await s.anon.get('/.well-known/jwks.json', { authorization: 'Bearer basura' });
  assertAnswer(conBasura, 200, res.body);
});

test('the service signs with the current key', async () => {
  const { refresh } = await s.usuario('cliente');
  assert.equal(decodificar(refresh).header.kid, await kidDe(actual.publicKeyPem));
  assert.equal(decodificar(s.api.token!).header.kid, await kidDe(actual.publicKeyPem));
});

test('a token signed by a retired key still verifies until it expires', async () => {
  const u = await s.usuario('empleado');
  for (const retirada of retiradas) {
    const kid = await kidDe(retirada.publicKeyPem);
    const token = await firmar(retirada.privateKeyPem, claimsAccess(u.id, 'empleado'), kid);
    const me = await s.anon.as(token).get('/api/usuarios/me/');
    assertAnswer(me, 200);
    assert.equal(me.body.id, u.id);
    assertAnswer(await s.anon.post('/api/token/verify/', { token }), 200, {});
    const ahora = Math.floor(Date.now() / 1000);
    const vencido = await firmar(
      retirada.privateKeyPem,
      { ...claimsAccess(u.id, 'empleado'), iat: ahora - 400, exp: ahora - 5 },
      kid,
    );
    assert401(await s.anon.as(vencido).get('/api/usuarios/me/'), TOKEN_NO_VALIDO);
  }
});

test('a key that is neither current nor listed as retired verifies nothing', async () => {
  const u = await s.usuario('cliente');
  const otra = signingKey();
  const propio = await firmar(
    otra.privateKeyPem,
    claimsAccess(u.id, 'cliente'),
    await kidDe(otra.publicKeyPem),
  );
  assert401(await s.anon.as(propio).get('/api/usuarios/me/'), TOKEN_NO_VALIDO);
  // Claiming the kid of a published retired key does not help either.
  const suplantado = await firmar(
    otra.privateKeyPem,
    claimsAccess(u.id, 'cliente'),
    await kidDe(retiradas[0]!.publicKeyPem),
  );
  assert401(await s.anon.as(suplantado).get('/api/usuarios/me/'), TOKEN_NO_VALIDO);
});

test('a refresh token signed by a retired key still rotates, into tokens of the current key', async () => {
  const u = await s.usuario('cliente');
  const retirada = retiradas[1]!;
  // The same login as if it had been issued before the rotation of the signing key.
  const antiguo = await firmar(
    retirada.privateKeyPem,
    decodificar(u.refresh).payload,
    await kidDe(retirada.publicKeyPem),
  );
  const res = await s.anon.post('/api/token/refresh/', { refresh: antiguo });
  assertAnswer(res, 200);
  const actualKid = await kidDe(actual.publicKeyPem);
  assert.equal(decodificar(res.body.access).header.kid, actualKid);
  assert.equal(decodificar(res.body.refresh).header.kid, actualKid);
});
