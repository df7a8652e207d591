// CONTRACT §4 (CORS_ALLOWED_ORIGINS) and §5.3 (preflight): with an origin configured, its browser
// pages get the Access-Control-Allow-* headers (Authorization allowed), on errors too; a preflight
// is answered without a token and without a body; other origins get no allow-origin header.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assert401, assertAnswer, SIN_CREDENCIALES } from './identity-support.ts';
import { type Suite, startUsuarios } from './support.ts';

const PERMITIDO = 'https://app.example.com';
const OTRO = 'https://malicioso.example.net';
let s: Suite;

before(async () => {
  s = await startUsuarios('identity_cors', { CORS_ALLOWED_ORIGINS: PERMITIDO });
});
after(() => s?.close());

const preflight = (origin: string, path = '/api/usuarios/', method = 'PATCH') =>
  s.anon.request('OPTIONS', path, {
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type',
    },
  });

test('a preflight from the allowed origin: 204, no body, its origin and Authorization allowed', async () => {
  for (const path of ['/api/usuarios/', '/api/usuarios/1/', '/api/token/', '/api/usuarios/abc/desactivar/']) {
    const res = await preflight(PERMITIDO, path);
    assert.equal(res.status, 204, `${path}: ${res.text}`);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('access-control-allow-origin'), PERMITIDO);
    const cabeceras = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    assert.ok(cabeceras.includes('authorization'), `allow-headers: ${cabeceras}`);
    const metodos = (res.headers.get('access-control-allow-methods') ?? '').toUpperCase();
    assert.match(metodos, /PATCH/);
    assert.equal(res.headers.get('www-authenticate'), null);
  }
});

test('a preflight from another origin gets no allow-origin header, and still no 401', async () => {
  const res = await preflight(OTRO);
  assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
  assert.equal(res.text, '');
  assert.equal(res.headers.get('access-control-allow-origin'), null);
});

test('a normal request from the allowed origin carries Access-Control-Allow-Origin', async () => {
  const res = await s.api.get('/api/usuarios/me/', { origin: PERMITIDO });
  assertAnswer(res, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), PERMITIDO);
});

test('a 401 to the allowed origin carries it too, so the page can read the answer', async () => {
  const res = await s.anon.get('/api/usuarios/', { origin: PERMITIDO });
  assert401(res, SIN_CREDENCIALES);
  assert.equal(res.headers.get('access-control-allow-origin'), PERMITIDO);
});

test('a normal request from another origin carries no allow-origin header', async () => {
  const res = await s.api.get('/api/usuarios/me/', { origin: OTRO });
  assertAnswer(res, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
});

test('an OPTIONS that is no preflight (no Access-Control-Request-Method) still needs a token', async () => {
  const res = await s.anon.request('OPTIONS', '/api/usuarios/', { headers: { origin: PERMITIDO } });
  assert401(res, SIN_CREDENCIALES);
});
