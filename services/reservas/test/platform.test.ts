import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nuevaReserva, servicioReservas } from './setup.ts';

// The shared plumbing is proven in depth by servicio-usuarios' suite; these check that reservas
// gets all of it from @servicios/platform too.
const ctx = servicioReservas('reservas_plataforma');

test('health and readiness endpoints', async () => {
  for (const path of ['/healthz', '/health', '/readyz', '/ready']) {
    const res = await ctx.api.get(path);
    assert.equal(res.status, 200, path);
    assert.deepEqual(res.body, { status: 'OK' });
  }
});

test('OpenAPI 3.1 document lists every reservas route; interactive docs are served', async () => {
  const schema = await ctx.api.get('/api/schema/');
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
  const docs = await ctx.api.get('/api/docs/');
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
    assert.deepEqual((await ctx.api.get(`/api/reservas/${id}/`)).body, { detail: 'No encontrado.' });
  }
  const huge = await ctx.api.post('/api/reservas/', nuevaReserva({ notas: 'x'.repeat(200_000) }));
  assert.equal(huge.status, 413);
  assert.equal((await ctx.api.get('/readyz')).status, 200);
});

test('every route answers with and without the final slash', async () => {
  const created = await ctx.api.post('/api/reservas', nuevaReserva());
  assert.equal(created.status, 201);
  const id = created.body.id;
  assert.equal((await ctx.api.get(`/api/reservas/${id}`)).status, 200);
  assert.equal((await ctx.api.patch(`/api/reservas/${id}`, { notas: 'sin barra' })).body.notas, 'sin barra');
  assert.equal((await ctx.api.post(`/api/reservas/${id}/confirmar`)).body.estado, 'confirmada');
  assert.equal((await ctx.api.get('/api/reservas')).body.count, 1);
  assert.equal((await ctx.api.delete(`/api/reservas/${id}`)).status, 204);
});

test('pagination links are absolute and honour X-Forwarded-Proto and X-Forwarded-Host', async () => {
  for (let i = 0; i < 3; i++) await ctx.api.post('/api/reservas/', nuevaReserva({ usuario_id: 42 }));
  const res = await ctx.api.get('/api/reservas/?usuario_id=42&page_size=2', {
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'reservas.example.com',
  });
  assert.equal(res.body.next, 'https://reservas.example.com/api/reservas/?usuario_id=42&page_size=2&page=2');
});
