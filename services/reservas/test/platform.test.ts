// CONTRACT §1 common rules (health, docs, 415, malformed JSON, 405 with Allow, 404 for bad ids, 413,
// final slash, absolute pagination links) and §5.3 authentication order on those paths: 401 first
// whatever the id, slash or method, OPTIONS with a token only, a CORS preflight bodiless without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nuevaReserva, servicioReservas, sinCredenciales } from './setup.ts';

// The shared plumbing is proven in depth by servicio-usuarios' suite; these check that reservas
// gets all of it from @servicios/platform too.
const ctx = servicioReservas('reservas_plataforma');

test('health and readiness endpoints, without a token', async () => {
  for (const path of ['/healthz', '/health', '/readyz', '/ready']) {
    const res = await ctx.anon.get(path);
    assert.equal(res.status, 200, path);
    assert.deepEqual(res.body, { status: 'OK' });
  }
});

test('OpenAPI 3.1 document lists every reservas route; interactive docs are served; no token needed', async () => {
  const schema = await ctx.anon.get('/api/schema/');
  assert.equal(schema.status, 200);
  assert.match(schema.body.openapi, /^3\.1/);
  const paths = Object.keys(schema.body.paths);
  for (const path of [
    '/api/reservas/',
    '/api/reservas/{id}/',
    '/api/reservas/{id}/confirmar/',
    '/api/reservas/{id}/cancelar/',
    '/api/reservas/{id}/completar/',
  ]) {
    assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
  }
  const docs = await ctx.anon.get('/api/docs/');
  assert.equal(docs.status, 200);
  assert.match(docs.headers.get('content-type') ?? '', /html/);
});

test('DRF-shaped errors: 415, malformed JSON, 405 with Allow, 404 for bad ids, never a 5xx', async () => {
  const text = await ctx.api.request('POST', '/api/reservas/', {
    body: 'usuario_id=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(text.status, 415);
  assert.equal(typeof text.body.detail, 'string');
  const broken = await ctx.api.request('POST', '/api/reservas/', {
    body: '{"usuario_id": ',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(broken.status, 400);
  assert.equal(typeof broken.body.detail, 'string');
  const put = await ctx.api.put('/api/reservas/', nuevaReserva());
  assert.equal(put.status, 405);
  assert.match(put.headers.get('allow') ?? '', /GET.*POST|POST.*GET/);
  for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
    const res = await ctx.api.get(`/api/reservas/${id}/`);
    assert.equal(res.status, 404, id);
    assert.deepEqual(res.body, { detail: 'No encontrado.' });
  }
  const huge = await ctx.api.post('/api/reservas/', nuevaReserva({ notas: 'x'.repeat(200_000) }));
  assert.equal(huge.status, 413);
  assert.equal((await ctx.api.get('/readyz')).status, 200);
});

test('without a token those paths are a 401 first: before 415, 400, 405 and any id', async () => {
  sinCredenciales(
    await ctx.anon.request('POST', '/api/reservas/', {
      body: 'usuario_id=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    '415',
  );
  sinCredenciales(
    await ctx.anon.request('POST', '/api/reservas/', {
      body: '{"usuario_id": ',
      headers: { 'content-type': 'application/json' },
    }),
    'malformed JSON',
  );
  sinCredenciales(await ctx.anon.put('/api/reservas/', nuevaReserva()), '405');
  for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
    sinCredenciales(await ctx.anon.get(`/api/reservas/${id}/`), `GET ${id}`);
  }
  // A path that no route serves is still a 404.
  const nowhere = await ctx.anon.get('/api/reservas/1/nada/');
  assert.equal(nowhere.status, 404);
  assert.deepEqual(nowhere.body, { detail: 'No encontrado.' });
});

test('OPTIONS needs a token; a CORS preflight does not, and has no body', async () => {
  for (const path of [
    '/api/reservas/',
    '/api/reservas/1/',
    '/api/reservas/abc/',
    '/api/reservas/1/confirmar/',
  ]) {
    sinCredenciales(await ctx.anon.request('OPTIONS', path), `OPTIONS ${path}`);
    // As DRF, OPTIONS with a token answers the view's metadata and the methods it allows.
    const metadata = await ctx.api.request('OPTIONS', path.replace('abc', '1'));
    assert.equal(metadata.status, 200, `OPTIONS ${path}: ${metadata.text}`);
    assert.match(metadata.headers.get('allow') ?? '', /OPTIONS/, path);
    const preflight = await ctx.anon.request('OPTIONS', path, {
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204, `preflight ${path}: ${preflight.text}`);
    assert.equal(preflight.text, '', path);
    // No origin is allowed by default (CORS_ALLOWED_ORIGINS empty).
    assert.equal(preflight.headers.get('access-control-allow-origin'), null, path);
  }
});

test('every route answers with and without the final slash', async () => {
  const created = await ctx.api.post('/api/reservas', nuevaReserva());
  assert.equal(created.status, 201);
  const id = created.body.id;
  // Without a token those paths are served too: a 401, never a 404.
  sinCredenciales(await ctx.anon.get('/api/reservas'), 'GET list');
  sinCredenciales(await ctx.anon.post('/api/reservas', nuevaReserva()), 'POST list');
  sinCredenciales(await ctx.anon.get(`/api/reservas/${id}`), 'GET one');
  sinCredenciales(await ctx.anon.patch(`/api/reservas/${id}`, { notas: 'x' }), 'PATCH');
  sinCredenciales(await ctx.anon.post(`/api/reservas/${id}/confirmar`), 'confirmar');
  sinCredenciales(await ctx.anon.delete(`/api/reservas/${id}`), 'DELETE');
  assert.equal((await ctx.api.get(`/api/reservas/${id}`)).status, 200);
  assert.equal((await ctx.api.patch(`/api/reservas/${id}`, { notas: 'sin barra' })).body.notas, 'sin barra');
  assert.equal((await ctx.api.post(`/api/reservas/${id}/confirmar`)).body.estado, 'confirmada');
  assert.equal((await ctx.api.get('/api/reservas')).body.count, 1);
  assert.equal((await ctx.api.delete(`/api/reservas/${id}`)).status, 204);
});

test('pagination links are absolute and honour X-Forwarded-Proto and X-Forwarded-Host', async () => {
  const titular = await ctx.nuevoCliente();
  for (let i = 0; i < 3; i++) {
    const res = await ctx.api.post('/api/reservas/', nuevaReserva({ usuario_id: titular }));
    assert.equal(res.status, 201, res.text);
  }
  const res = await ctx.api.get(`/api/reservas/?usuario_id=${titular}&page_size=2`, {
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'reservas.example.com',
  });
  assert.equal(
    res.body.next,
    `https://reservas.example.com/api/reservas/?usuario_id=${titular}&page_size=2&page=2`,
  );
});
