// CONTRACT §4 CORS_ALLOWED_ORIGINS and §5.3's OPTIONS rule on servicio-reservas: a preflight is
// answered without a token and with no body; only the configured origins get
// Access-Control-Allow-Origin; Authorization is an allowed header; any other OPTIONS needs a token.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  client,
  createTestDatabase,
  type RunningService,
  signingKey,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, SignJWT } from 'jose';
import { buildApp, servicio } from '../src/app.ts';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.com';
const key = signingKey();
let db: TestDatabase;
let withCors: RunningService;
let withoutCors: RunningService;
let token: string;

before(async () => {
  db = await createTestDatabase('reservas_identity_cors');
  // No servicio-usuarios here: these requests never need to check a reservation's holder.
  const env = { DATABASE_URL: db.url, JWT_PUBLIC_KEY: key.publicKeyPem, USUARIOS_URL: 'http://127.0.0.1:9' };
  withCors = await startService(servicio, buildApp, {
    ...env,
    CORS_ALLOWED_ORIGINS: `${ALLOWED},http://localhost:3000`,
  });
  withoutCors = await startService(servicio, buildApp, env);
  const kid = await calculateJwkThumbprint(
    await exportJWK(await importSPKI(key.publicKeyPem, 'ES256', { extractable: true })),
  );
  token = await new SignJWT({ token_type: 'access', user_id: 1, tipo_usuario: 'administrador' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(await importPKCS8(key.privateKeyPem, 'ES256'));
});

after(async () => {
  await withCors?.close();
  await withoutCors?.close();
  await db?.drop();
});

const preflight = (on: RunningService, path: string, origin: string, method = 'POST') =>
  client(on.url).request('OPTIONS', path, {
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type',
    },
  });

describe('CORS_ALLOWED_ORIGINS', () => {
  test('a preflight from an allowed origin: 204, no body, no token, Authorization allowed', async () => {
    for (const [path, method] of [
      ['/api/reservas/', 'POST'],
      ['/api/reservas/5/', 'DELETE'],
      ['/api/reservas/abc/confirmar/', 'POST'],
    ] as [string, string][]) {
      const res = await preflight(withCors, path, ALLOWED, method);
      assert.equal(res.status, 204, `${path}: ${res.text}`);
      assert.equal(res.text, '');
      assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
      const allowedHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      assert.match(allowedHeaders, /(^|,\s*)authorization(\s*,|$)/, allowedHeaders);
      assert.match(res.headers.get('access-control-allow-methods') ?? '', new RegExp(method));
      assert.equal(res.headers.get('www-authenticate'), null);
    }
    const second = await preflight(withCors, '/api/reservas/', 'http://localhost:3000');
    assert.equal(second.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  });

  test('a preflight from another origin is still answered without a token, with no body, but not allowed', async () => {
    for (const origin of [OTHER, `${ALLOWED}.evil.com`, 'http://app.example.com']) {
      const res = await preflight(withCors, '/api/reservas/', origin);
      assert.ok(res.status === 204 || res.status === 200, `${origin}: ${res.status}`);
      assert.equal(res.text, '');
      assert.equal(res.headers.get('access-control-allow-origin'), null, origin);
    }
  });

  test('actual requests: the allowed origin gets Access-Control-Allow-Origin, on 200 and on 401 alike', async () => {
    const ok = await client(withCors.url, token).get('/api/reservas/', { origin: ALLOWED });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(ok.headers.get('vary') ?? '', /origin/i);
    const unauthorized = await client(withCors.url).get('/api/reservas/', { origin: ALLOWED });
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers.get('access-control-allow-origin'), ALLOWED);
    const foreign = await client(withCors.url, token).get('/api/reservas/', { origin: OTHER });
    assert.equal(foreign.status, 200);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });

  test('an OPTIONS that is not a preflight needs a token like any other method', async () => {
    const variants: Record<string, string>[] = [
      {},
      { origin: ALLOWED },
      { 'access-control-request-method': 'POST' },
    ];
    for (const headers of variants) {
      const res = await client(withCors.url).request('OPTIONS', '/api/reservas/', { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"');
    }
  });

  test('by default no origin is allowed, yet preflights are answered without a token', async () => {
    const res = await preflight(withoutCors, '/api/reservas/', ALLOWED);
    assert.ok(res.status === 204 || res.status === 200, String(res.status));
    assert.equal(res.text, '');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const get = await client(withoutCors.url, token).get('/api/reservas/', { origin: ALLOWED });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });
});
