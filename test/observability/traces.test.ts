// Issue 11, traces over real HTTP and PostgreSQL: a request that crosses servicio-reservas →
// servicio-usuarios is ONE trace (server span, its database spans and the outgoing client span in
// servicio-reservas; servicio-usuarios' server span as the child of that client span, with database
// spans of its own), continuing the caller's W3C traceparent; span names are route templates; and the
// sampler: a new trace is recorded at OTEL_TRACES_SAMPLER_ARG, a caller's sampled flag wins both ways.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  collect,
  describeSpans,
  enDias,
  eventually,
  isDb,
  parentIdOf,
  requestCount,
  requestsSettled,
  spanIdOf,
  startTracedStack,
  type TracedStack,
  traceIdOf,
  traceparent,
} from './support.ts';

const STATEMENT_NAME = /^([A-Z]+( [a-z_][a-z0-9_]*)?|[a-z_][a-z0-9_]*)$/;

let stack: TracedStack;
let unsampled: TracedStack;

before(async () => {
  [stack, unsampled] = await Promise.all([
    startTracedStack('obs_traces'),
    startTracedStack('obs_traces_ratio0', { OTEL_TRACES_SAMPLER_ARG: '0' }, { reservas: false }),
  ]);
});

after(async () => {
  await stack?.close();
  await unsampled?.close();
});

const serverSpan = (spans: ReadableSpan[], name: string) =>
  spans.filter((s) => s.kind === SpanKind.SERVER && s.name === name);

/** Makes the administrador's reservation for `usuarioId` and returns every span of its trace. */
async function crossServiceTrace(usuarioId: number, headers: Record<string, string>) {
  const reservas = stack.reservas!;
  reservas.spans.reset();
  stack.usuarios.spans.reset();
  const res = await reservas.anon.as(stack.adminToken).request('POST', '/api/reservas/', {
    json: { usuario_id: usuarioId, fecha_reserva: enDias(10), numero_personas: 2 },
    headers,
  });
  assert.equal(res.status, 201, res.text);
  const found = await eventually(() => {
    const spans = serverSpan(reservas.spans.getFinishedSpans(), 'POST /api/reservas/');
    return spans.length ? spans : undefined;
  }, 'the reservas server span');
  assert.equal(found.length, 1, 'one request, one server span');
  const server = found[0]!;
  const trace = traceIdOf(server);
  const usuariosServer = await eventually(
    () =>
      serverSpan(stack.usuarios.spans.getFinishedSpans(), 'GET /api/usuarios/:id/').find(
        (s) => traceIdOf(s) === trace,
      ),
    'the usuarios server span in the same trace',
  );
  const ofTrace = (spans: ReadableSpan[]) => spans.filter((s) => traceIdOf(s) === trace);
  return {
    server,
    usuariosServer,
    reservasSpans: ofTrace(reservas.spans.getFinishedSpans()),
    usuariosSpans: ofTrace(stack.usuarios.spans.getFinishedSpans()),
  };
}

function assertCrossServiceTrace(t: Awaited<ReturnType<typeof crossServiceTrace>>) {
  const { server, usuariosServer, reservasSpans, usuariosSpans } = t;
  const all = [...reservasSpans, ...usuariosSpans];
  const listing = describeSpans(all);
  assert.equal(server.attributes['http.request.method'], 'POST');
  assert.equal(server.attributes['http.route'], '/api/reservas/');
  assert.equal(server.attributes['http.response.status_code'], 201);

  const clients = reservasSpans.filter((s) => s.kind === SpanKind.CLIENT && !isDb(s));
  assert.deepEqual(
    clients.map((s) => s.name),
    ['GET /api/usuarios/:id/'],
    `one outgoing call, named by its template:\n${listing}`,
  );
  const call = clients[0]!;
  assert.equal(parentIdOf(call), spanIdOf(server), 'the client span is a child of the server span');
  assert.equal(call.attributes['http.request.method'], 'GET');
  assert.equal(call.attributes['http.response.status_code'], 200);

  // servicio-usuarios continues the trace that servicio-reservas' client span sent it.
  assert.deepEqual(serverSpan(usuariosSpans, 'GET /api/usuarios/:id/'), [usuariosServer]);
  assert.equal(parentIdOf(usuariosServer), spanIdOf(call), 'usuarios server span: child of the client span');
  assert.equal(usuariosServer.attributes['http.route'], '/api/usuarios/:id/');
  assert.equal(usuariosServer.attributes['http.response.status_code'], 200);
  // Nothing else of servicio-usuarios joined the trace (the JWKS fetch was done before, untraced).
  assert.deepEqual(
    usuariosSpans.filter((s) => !isDb(s)).map((s) => s.name),
    ['GET /api/usuarios/:id/'],
    listing,
  );
  // One tree: every span's parent is a span of the trace, except the root's.
  const ids = new Set(all.map(spanIdOf));
  const orphans = all.filter((s) => s !== server && !ids.has(parentIdOf(s) ?? ''));
  assert.deepEqual(
    orphans.map((s) => s.name),
    [],
    `spans hanging from outside the trace:\n${listing}`,
  );
  // Last, so that a failure here leaves the checks above proved: each service's statements.
  const reservasDb = reservasSpans.filter(isDb);
  assert.ok(
    reservasDb.some((s) => /reservas_reserva/.test(s.name)),
    `the statement writing the reservation is a span of the request:\n${listing}`,
  );
  for (const span of reservasDb) {
    assert.equal(span.kind, SpanKind.CLIENT, span.name);
    assert.equal(parentIdOf(span), spanIdOf(server), `${span.name}: child of the request's span`);
  }
  const usuariosDb = usuariosSpans.filter(isDb);
  assert.ok(usuariosDb.length > 0, `servicio-usuarios' read of the user is a span of the trace:\n${listing}`);
  for (const span of usuariosDb) {
    assert.equal(parentIdOf(span), spanIdOf(usuariosServer), `${span.name}: child of usuarios' server span`);
  }
  // Named by a prepared statement's name or `<KIND> <table>`: never a value.
  for (const span of [...reservasDb, ...usuariosDb]) {
    assert.match(span.name, STATEMENT_NAME);
    assert.equal(span.attributes['db.namespace'], stack.db.name, span.name);
    assert.equal(span.attributes['db.operation.name'], span.name.split(' ')[0], span.name);
  }
}

test('a reservation for another user is one trace across servicio-reservas and servicio-usuarios', async () => {
  const otro = await stack.usuario('cliente');
  // The first token check fetches the JWKS: done before, so that only the reservation's calls remain.
  assert.equal((await stack.reservas!.anon.as(stack.adminToken).get('/api/reservas/')).status, 200);
  const t = await crossServiceTrace(otro.id, {});
  assert.equal(parentIdOf(t.server), undefined, 'without traceparent the server span is the root');
  assertCrossServiceTrace(t);
});

test("an incoming traceparent is continued: its trace id is kept, the server span is its span's child", async () => {
  const otro = await stack.usuario('cliente');
  const caller = traceparent('01');
  const t = await crossServiceTrace(otro.id, { traceparent: caller.header });
  assert.equal(traceIdOf(t.server), caller.traceId);
  assert.equal(parentIdOf(t.server), caller.spanId);
  assert.equal(t.server.parentSpanContext?.isRemote, true);
  assertCrossServiceTrace(t);
});

test('span names are route templates: an id or an unknown path never becomes a span name', async () => {
  const { usuarios } = stack;
  usuarios.spans.reset();
  const before = (await collect(usuarios.metrics)).points;
  assert.equal((await stack.admin.get('/api/usuarios/987654321/')).status, 404);
  assert.equal((await stack.admin.get('/api/no-existe/123456789/')).status, 404);
  await requestsSettled(
    usuarios.metrics,
    { method: 'GET', route: '/api/usuarios/:id/', status: 404 },
    requestCount(before, 'GET', '/api/usuarios/:id/', 404) + 1,
  );
  await requestsSettled(
    usuarios.metrics,
    { method: 'GET', route: 'unmatched', status: 404 },
    requestCount(before, 'GET', 'unmatched', 404) + 1,
  );
  const servers = usuarios.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  assert.deepEqual(servers.map((s) => s.name).sort(), ['GET /api/usuarios/:id/', 'GET unmatched']);
  assert.doesNotMatch(JSON.stringify(servers.map((s) => [s.name, s.attributes])), /987654321|123456789/);
});

/** Spans recorded for one GET /api/usuarios/me/ of `service`, once the request has fully ended. */
async function spansOfRequest(s: TracedStack, headers: Record<string, string>) {
  const { usuarios } = s;
  usuarios.spans.reset();
  const counted = requestCount((await collect(usuarios.metrics)).points, 'GET', '/api/usuarios/me/', 200);
  assert.equal((await s.admin.get('/api/usuarios/me/', headers)).status, 200);
  await requestsSettled(
    usuarios.metrics,
    { method: 'GET', route: '/api/usuarios/me/', status: 200 },
    counted + 1,
  );
  return usuarios.spans.getFinishedSpans();
}

test('OTEL_TRACES_SAMPLER_ARG=0: a new trace is not recorded; a caller sampled flag (01) is, 00 is not', async () => {
  assert.deepEqual(
    describeSpans(await spansOfRequest(unsampled, {})),
    '',
    'no traceparent: nothing recorded',
  );
  const off = traceparent('00');
  assert.deepEqual(
    describeSpans(await spansOfRequest(unsampled, { traceparent: off.header })),
    '',
    'flags 00: nothing recorded',
  );
  const on = traceparent('01');
  const spans = await spansOfRequest(unsampled, { traceparent: on.header });
  const [server] = serverSpan(spans, 'GET /api/usuarios/me/');
  assert.ok(server, `flags 01: the request is recorded:\n${describeSpans(spans)}`);
  assert.equal(traceIdOf(server), on.traceId);
  assert.equal(parentIdOf(server), on.spanId);
  // Nothing else (no background work) is recorded; its children follow the caller's decision too.
  assert.deepEqual(
    spans.filter((s) => traceIdOf(s) !== on.traceId).map((s) => s.name),
    [],
    'only the sampled trace is recorded',
  );
  assert.ok(spans.some(isDb), `its statements are recorded:\n${describeSpans(spans)}`);
});

test('OTEL_TRACES_SAMPLER_ARG=1 (the default): every new trace is recorded, yet a caller flag 00 still wins', async () => {
  const spans = await spansOfRequest(stack, {});
  const [server] = serverSpan(spans, 'GET /api/usuarios/me/');
  assert.ok(server, describeSpans(spans));
  assert.equal(parentIdOf(server), undefined);
  assert.equal(server.spanContext().traceFlags & 1, 1);

  const off = traceparent('00');
  const unsampledSpans = await spansOfRequest(stack, { traceparent: off.header });
  assert.deepEqual(
    unsampledSpans
      .filter((s) => s.kind === SpanKind.SERVER || traceIdOf(s) === off.traceId)
      .map((s) => s.name),
    [],
    'flags 00: the request is not recorded',
  );
  assert.ok(
    spans.some((s) => isDb(s) && parentIdOf(s) === spanIdOf(server)),
    `the sampled request's statements are recorded:\n${describeSpans(spans)}`,
  );
});
