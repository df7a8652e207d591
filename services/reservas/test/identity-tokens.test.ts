// CONTRACT §5.3 (authentication) and §5.2's token rules, with servicio-reservas as the verifier:
// the 401 answers and their WWW-Authenticate, the Authorization header's parsing, and every kind of
// forged or unusable token (signed here with the key that servicio-usuarios signs with, or another).
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type ApiResponse,
  type Client,
  client,
  type RunningService,
  signingKey,
  startService,
} from '@servicios/testing';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, type JWTPayload, SignJWT } from 'jose';
import { type Suite, startUsuarios } from '../../usuarios/test/support.ts';
import { buildApp, servicio } from '../src/app.ts';

const NO_CREDENTIALS = { detail: 'Las credenciales de autenticación no se proveyeron.' };
const TOKEN_NOT_VALID = {
  detail: 'El token dado no es valido para ningun tipo de token',
  code: 'token_not_valid',
};
const BAD_HEADER = {
  detail: "El encabezado 'Authorization' debe contener valores delimitados por espacios",
  code: 'bad_authorization_header',
};
const ISSUER = 'https://usuarios.example.com';
const AUDIENCE = 'servicio-reservas';

const key = signingKey();
const foreign = signingKey();
let kid: string;
let usuarios: Suite;
let reservas: RunningService;
/** The same servicio-reservas, but requiring JWT_ISSUER / JWT_AUDIENCE. */
let strict: RunningService;
let anon: Client;

before(async () => {
  kid = await calculateJwkThumbprint(
    await exportJWK(await importSPKI(key.publicKeyPem, 'ES256', { extractable: true })),
  );
  usuarios = await startUsuarios('reservas_identity_tokens', { JWT_PRIVATE_KEY: key.privateKeyPem });
  const env = {
    DATABASE_URL: usuarios.db.url,
    JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
    USUARIOS_URL: usuarios.url,
  };
  reservas = await startService(servicio, buildApp, env);
  strict = await startService(servicio, buildApp, { ...env, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  anon = client(reservas.url);
});

after(async () => {
  await strict?.close();
  await reservas?.close();
  await usuarios?.close();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function accessClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  return { token_type: 'access', user_id: usuarios.admin.id, tipo_usuario: 'administrador', ...overrides };
}

/** An ES256 token as servicio-usuarios signs them; `pem`/`header` let a test forge the rest. */
async function sign(
  claims: JWTPayload = accessClaims(),
  options: { pem?: string; header?: Record<string, unknown>; exp?: string | number } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid, ...options.header } as { alg: string })
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .setJti(randomUUID())
    .sign(await importPKCS8(options.pem ?? key.privateKeyPem, 'ES256'));
}

/** A compact JWS with any header, signed (or not) by the given function over `header.payload`. */
function forge(
  header: Record<string, unknown>,
  claims: JWTPayload,
  signer: (input: string) => string = () => '',
) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64(header)}.${b64({ iat: now, exp: now + 300, jti: randomUUID(), ...claims })}`;
  return `${input}.${signer(input)}`;
}

const list = (token: string, on: RunningService = reservas) => client(on.url, token).get('/api/reservas/');

function expect401(res: ApiResponse, body: unknown, label: string) {
  assert.equal(res.status, 401, `${label}: ${res.status} ${res.text}`);
  assert.deepEqual(res.body, body, label);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"', label);
}

describe('the Authorization header', () => {
  test('no header, or another scheme, is "no credentials" with WWW-Authenticate: Bearer realm="api"', async () => {
    const token = await sign();
    expect401(await anon.get('/api/reservas/'), NO_CREDENTIALS, 'no header');
    for (const value of [
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      `Token ${token}`,
      `JWT ${token}`,
      token,
    ]) {
      expect401(
        await anon.get('/api/reservas/', { authorization: value }),
        NO_CREDENTIALS,
        value.slice(0, 10),
      );
    }
  });

  test('"Bearer" with no value or with two values is bad_authorization_header', async () => {
    const token = await sign();
    for (const value of ['Bearer', 'bearer', `Bearer ${token} ${token}`, 'Bearer a b']) {
      expect401(await anon.get('/api/reservas/', { authorization: value }), BAD_HEADER, value.slice(0, 20));
    }
  });

  test('the scheme is matched without case; a genuine token of either origin is accepted', async () => {
    for (const value of [`Bearer ${await sign()}`, `bearer ${await sign()}`, `BEARER ${await sign()}`]) {
      const res = await anon.get('/api/reservas/', { authorization: value });
      assert.equal(res.status, 200, `${value.slice(0, 7)}: ${res.text}`);
    }
    const issued = await list(usuarios.api.token as string);
    assert.equal(issued.status, 200, issued.text);
  });

  test('authentication comes before the id: anonymous /api/reservas/abc/ is a 401; unrouted paths are 404', async () => {
    for (const path of ['/api/reservas/abc/', '/api/reservas/abc', '/api/reservas/0/confirmar/']) {
      expect401(await anon.get(path), NO_CREDENTIALS, path);
    }
    expect401(await anon.delete('/api/reservas/abc/'), NO_CREDENTIALS, 'DELETE abc');
    const unrouted = await anon.get('/api/nada/');
    assert.equal(unrouted.status, 404);
    assert.deepEqual(unrouted.body, { detail: 'No encontrado.' });
  });

  test('health and docs ignore the Authorization header', async () => {
    for (const path of ['/healthz', '/health', '/api/schema/']) {
      const res = await anon.get(path, { authorization: 'Bearer roto' });
      assert.equal(res.status, 200, path);
    }
  });
});

describe('tokens that are not valid access tokens: 401 token_not_valid', () => {
  test('malformed tokens', async () => {
    const good = await sign();
    for (const token of ['abc', 'a.b.c', good.split('.').slice(0, 2).join('.'), `${good}x`, `${good}.x`]) {
      expect401(await list(token), TOKEN_NOT_VALID, token.slice(-12));
    }
  });

  test('alg "none", with or without a signature', async () => {
    const unsigned = forge({ alg: 'none', kid, typ: 'JWT' }, accessClaims());
    expect401(await list(unsigned), TOKEN_NOT_VALID, 'none');
    const good = (await sign()).split('.')[2];
    expect401(await list(`${unsigned}${good}`), TOKEN_NOT_VALID, 'none with a signature');
    const noneUpper = forge({ alg: 'NONE', kid }, accessClaims());
    expect401(await list(noneUpper), TOKEN_NOT_VALID, 'NONE');
  });

  test('HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const hmac = (secret: string | Buffer) => (input: string) =>
      createHmac('sha256', secret).update(input).digest('base64url');
    const jwk = await exportJWK(await importSPKI(key.publicKeyPem, 'ES256', { extractable: true }));
    for (const secret of [
      key.publicKeyPem,
      key.publicKeyPem.trim(),
      JSON.stringify(jwk),
      Buffer.from(jwk.x ?? '', 'base64url'),
    ]) {
      const token = forge({ alg: 'HS256', kid, typ: 'JWT' }, accessClaims(), hmac(secret));
      expect401(await list(token), TOKEN_NOT_VALID, 'HS256');
    }
  });

  test('other algorithms than ES256 (RS256, ES384) even with the known kid', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const rs256 = await new SignJWT(accessClaims())
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(await importPKCS8(rsa.toString(), 'RS256'));
    expect401(await list(rs256), TOKEN_NOT_VALID, 'RS256');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const es384 = await new SignJWT(accessClaims())
      .setProtectedHeader({ alg: 'ES384', kid })
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(await importPKCS8(p384.toString(), 'ES384'));
    expect401(await list(es384), TOKEN_NOT_VALID, 'ES384');
  });

  test('a tampered payload: a genuine signature over other claims', async () => {
    const genuine = await sign(accessClaims({ tipo_usuario: 'cliente', user_id: 424242 }));
    assert.equal((await list(genuine)).status, 200);
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    for (const changed of [
      { ...claims, tipo_usuario: 'administrador' },
      { ...claims, user_id: usuarios.admin.id },
      { ...claims, exp: claims.exp + 3600 },
    ]) {
      expect401(
        await list(`${header}.${b64(changed)}.${signature}`),
        TOKEN_NOT_VALID,
        JSON.stringify(changed),
      );
    }
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect401(await list(`${header}.${payload}.${flipped}`), TOKEN_NOT_VALID, 'tampered signature');
  });

  test('signed by a foreign key that claims the known kid', async () => {
    expect401(
      await list(await sign(accessClaims(), { pem: foreign.privateKeyPem })),
      TOKEN_NOT_VALID,
      'foreign',
    );
  });

  test('expired', async () => {
    const expired = await sign(accessClaims(), { exp: Math.floor(Date.now() / 1000) - 60 });
    expect401(await list(expired), TOKEN_NOT_VALID, 'expired');
  });

  test('a refresh token used as an access token, or a token without token_type', async () => {
    const refresh = await usuarios.usuario('administrador');
    expect401(await list(refresh.refresh), TOKEN_NOT_VALID, 'issued refresh');
    expect401(
      await list(await sign(accessClaims({ token_type: 'refresh' }))),
      TOKEN_NOT_VALID,
      'signed refresh',
    );
    const { token_type: _, ...sinTipo } = accessClaims();
    expect401(await list(await sign(sinTipo)), TOKEN_NOT_VALID, 'no token_type');
  });

  test('a token of an unknown kid, once the JWKS has been fetched and does not know it', async () => {
    // The keys are fetched by now (earlier tests used genuine tokens); this one is a fresh token anyway.
    assert.equal((await list(await sign())).status, 200);
    for (const other of [
      'desconocido',
      await calculateJwkThumbprint(
        await exportJWK(await importSPKI(foreign.publicKeyPem, 'ES256', { extractable: true })),
      ),
    ]) {
      const token = await sign(accessClaims(), { pem: foreign.privateKeyPem, header: { kid: other } });
      expect401(await list(token), TOKEN_NOT_VALID, other);
    }
    const noKid = forge({ alg: 'ES256', typ: 'JWT' }, accessClaims());
    expect401(await list(noKid), TOKEN_NOT_VALID, 'no kid');
  });

  test('every kind of 401 is the same on other methods and routes', async () => {
    const expired = await sign(accessClaims(), { exp: Math.floor(Date.now() / 1000) - 60 });
    const as = client(reservas.url, expired);
    expect401(await as.post('/api/reservas/', {}), TOKEN_NOT_VALID, 'POST');
    expect401(await as.delete('/api/reservas/abc/'), TOKEN_NOT_VALID, 'DELETE abc');
    expect401(await as.post('/api/reservas/1/confirmar/'), TOKEN_NOT_VALID, 'confirmar');
  });
});

describe('claims', () => {
  test('extra claims are allowed and ignored', async () => {
    const token = await sign(
      accessClaims({
        nombre: 'Ana',
        scope: 'todo',
        nested: { a: [1, 2] },
        nbf: Math.floor(Date.now() / 1000) - 5,
      }),
    );
    const res = await list(token);
    assert.equal(res.status, 200, res.text);
  });

  test('with JWT_ISSUER / JWT_AUDIENCE both are required and must match', async () => {
    const matching = accessClaims({ iss: ISSUER, aud: AUDIENCE });
    const ok = await list(await sign(matching), strict);
    assert.equal(ok.status, 200, ok.text);
    const wrong: [string, JWTPayload][] = [
      ['wrong iss', { ...matching, iss: 'https://otro.example.com' }],
      ['wrong aud', { ...matching, aud: 'servicio-otro' }],
      ['no iss', accessClaims({ aud: AUDIENCE })],
      ['no aud', accessClaims({ iss: ISSUER })],
      ['neither', accessClaims()],
    ];
    for (const [label, claims] of wrong)
      expect401(await list(await sign(claims), strict), TOKEN_NOT_VALID, label);
    // Tokens issued by a servicio-usuarios without iss/aud are refused by this verifier too.
    expect401(await list(usuarios.api.token as string, strict), TOKEN_NOT_VALID, 'issued without iss/aud');
  });
});
