// Issue 11, metrics over real HTTP and PostgreSQL: http.server.request.duration counts exactly the
// requests made, by method, route template and status ('unmatched' without a route); the pool's gauges
// and servicio-usuarios' hashing gauges report; servicios.jwks.fetches counts servicio-reservas' key
// fetches; and labels stay bounded: 1,000 distinct ids make a handful of series, and no label carries
// an id, an e-mail or a token. (servicios.events.* are proved on the emulator: events.test.ts.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  collect,
  enDias,
  nuevoUsuario,
  type Point,
  requestCount,
  requestsSettled,
  startTracedStack,
  type TracedStack,
} from './support.ts';

let stack: TracedStack;

before(async () => {
  stack = await startTracedStack('obs_metrics');
});

after(() => stack?.close());

const DURATION = 'http.server.request.duration';
const named = (points: Point[], metric: string) => points.filter((p) => p.metric === metric);

test('http.server.request.duration counts exactly the requests made, per method, route and status', async () => {
  const { usuarios, admin } = stack;
  const otro = await stack.usuario('cliente');
  const before = (await collect(usuarios.metrics)).points;
  const made = [
    { method: 'GET', route: '/api/usuarios/:id/', status: 200, times: 3, path: `/api/usuarios/${otro.id}/` },
    { method: 'GET', route: '/api/usuarios/:id/', status: 404, times: 2, path: '/api/usuarios/99999999/' },
    { method: 'GET', route: '/api/usuarios/', status: 200, times: 2, path: '/api/usuarios/?page=1' },
    { method: 'GET', route: 'unmatched', status: 404, times: 2, path: '/api/no-existe/' },
  ];
  for (const m of made)
    for (let i = 0; i < m.times; i++) assert.equal((await admin.get(m.path)).status, m.status, m.path);
  const creado = await admin.post('/api/usuarios/', nuevoUsuario());
  assert.equal(creado.status, 201);
  made.push({ method: 'POST', route: '/api/usuarios/', status: 201, times: 1, path: '' });
  const anonimo = await usuarios.anon.get('/api/usuarios/');
  assert.equal(anonimo.status, 401);
  made.push({ method: 'GET', route: '/api/usuarios/', status: 401, times: 1, path: '' });

  for (const m of made)
    await requestsSettled(usuarios.metrics, m, requestCount(before, m.method, m.route, m.status) + m.times);
  const after = (await collect(usuarios.metrics)).points;
  for (const m of made) {
    assert.equal(
      requestCount(after, m.method, m.route, m.status) - requestCount(before, m.method, m.route, m.status),
      m.times,
      `${m.method} ${m.route} ${m.status}`,
    );
  }
  for (const p of named(after, DURATION)) {
    assert.deepEqual(Object.keys(p.attributes).sort(), [
      'http.request.method',
      'http.response.status_code',
      'http.route',
    ]);
    assert.equal(
      p.value.count,
      p.value.buckets.counts.reduce((a: number, b: number) => a + b, 0),
    );
  }

  // servicio-reservas measures its requests the same way.
  const reservas = stack.reservas!;
  const r0 = (await collect(reservas.metrics)).points;
  const api = reservas.anon.as(stack.adminToken);
  const res = await api.post('/api/reservas/', {
    usuario_id: otro.id,
    fecha_reserva: enDias(3),
    numero_personas: 2,
  });
  assert.equal(res.status, 201, res.text);
  const r1 = await requestsSettled(
    reservas.metrics,
    { method: 'POST', route: '/api/reservas/', status: 201 },
    requestCount(r0, 'POST', '/api/reservas/', 201) + 1,
  );
  assert.equal(
    requestCount(r1, 'POST', '/api/reservas/', 201) - requestCount(r0, 'POST', '/api/reservas/', 201),
    1,
  );
});

test('the pool gauges report on both services; the hashing gauges on servicio-usuarios only', async () => {
  for (const of of ['usuarios', 'reservas'] as const) {
    const { points } = await collect(stack[of]!.metrics);
    const connections = named(points, 'db.client.connection.count');
    assert.deepEqual(
      connections.map((p) => p.attributes['db.client.connection.state']).sort(),
      ['idle', 'used'],
      `${of}: ${JSON.stringify(connections)}`,
    );
    for (const p of connections) assert.ok(Number.isInteger(p.value) && p.value >= 0, JSON.stringify(p));
    // The suite's requests opened connections, which the pool keeps (idle or in use).
    assert.ok(connections.reduce((sum, p) => sum + p.value, 0) >= 1, `${of}: ${JSON.stringify(connections)}`);
    const pending = named(points, 'db.client.connection.pending_requests');
    assert.equal(pending.length, 1, of);
    assert.equal(pending[0]!.value, 0, `${of}: nobody waits for a connection now`);

    const hashing = ['servicios.password_hash.active', 'servicios.password_hash.queued'].map((m) =>
      named(points, m),
    );
    if (of === 'usuarios') {
      for (const h of hashing)
        assert.deepEqual(
          h.map((p) => p.value),
          [0],
          'idle now: nothing hashing or waiting',
        );
    } else {
      assert.deepEqual(hashing.flat(), [], 'servicio-reservas hashes no password');
    }
  }
});

test('servicios.jwks.fetches counts servicio-reservas fetching the keys once, ok', async () => {
  const api = stack.reservas!.anon.as(stack.adminToken);
  for (let i = 0; i < 3; i++) assert.equal((await api.get('/api/reservas/')).status, 200);
  const fetches = named((await collect(stack.reservas!.metrics)).points, 'servicios.jwks.fetches');
  // Fetched at the first token seen, then cached: three more requests fetch nothing.
  assert.deepEqual(
    fetches.map((p) => [p.attributes, p.value]),
    [[{ outcome: 'ok' }, 1]],
  );
});

test('labels stay bounded: 1,000 distinct ids are a handful of series, and no label names a caller', async () => {
  const { usuarios, admin } = stack;
  const ids = Array.from({ length: 1000 }, (_, i) => 7_300_000 + i * 7);
  const real = await stack.usuario('cliente');
  ids[0] = real.id;
  const earlier = requestCount((await collect(usuarios.metrics)).points, 'GET', '/api/usuarios/:id/', 404);
  const statuses = new Map<number, number>();
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const { status } = await admin.get(`/api/usuarios/${id}/`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  assert.deepEqual(Object.fromEntries(statuses), { 200: 1, 404: 999 });
  // Paths no route serves, with ids and an e-mail in them, and a token in the query.
  for (const path of ['/api/nada/7300001/', `/api/${real.email}/`, `/api/usuarios/?token=${real.access}`]) {
    await admin.get(path);
  }
  await requestsSettled(
    usuarios.metrics,
    { method: 'GET', route: '/api/usuarios/:id/', status: 404 },
    earlier + 999,
  );

  const { points } = await collect(usuarios.metrics);
  const series = named(points, DURATION);
  assert.ok(
    series.length <= 20,
    `${series.length} series of ${DURATION}: ${JSON.stringify(series.map((p) => p.attributes))}`,
  );
  assert.deepEqual(
    series
      .filter(
        (p) =>
          p.attributes['http.route'] === '/api/usuarios/:id/' &&
          p.attributes['http.request.method'] === 'GET',
      )
      .map((p) => p.attributes['http.response.status_code'])
      .sort(),
    [200, 404],
  );
  const labels = points.flatMap((p) => Object.entries(p.attributes).map(([k, v]) => `${k}=${String(v)}`));
  const leaked = labels.filter(
    (label) =>
      ids.some((id) => id > 1000 && label.includes(String(id))) ||
      label.includes(real.email) ||
      label.includes('@') ||
      label.includes('eyJ'),
  );
  assert.deepEqual(leaked, [], 'labels with an id, an e-mail or a token');
});
