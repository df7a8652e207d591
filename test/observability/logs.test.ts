// Issue 11 with the logging rules (DESIGN: Cloud Logging's trace fields): the real process of
// servicio-usuarios, LOG_LEVEL=debug (one line per request). With tracing on, each line of a request
// (its request line, and a warning: the readiness check's 503 when PostgreSQL is cut) carries
// `logging.googleapis.com/trace` (projects/<GOOGLE_CLOUD_PROJECT>/traces/<trace id>) and the spanId of
// its server span, as exported; with tracing off, the caller's traceparent still fills them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '@servicios/platform';
import { client, createTestDatabase, login, signingKey, type TestDatabase } from '@servicios/testing';
import { servicio } from '../../services/usuarios/src/app.ts';
import { migrar } from '../../services/usuarios/src/bootstrap.ts';
import { freePort, PgProxy } from '../delivery/support.ts';
import { type OtlpReceiver, runService, startOtlpReceiver } from './processes.ts';
import { ADMIN, eventually, traceparent } from './support.ts';

const PROJECT = 'proyecto-obs';
const KEY = signingKey();
let db: TestDatabase;
let receiver: OtlpReceiver;
let proxy: PgProxy;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  db = await createTestDatabase('obs_logs');
  const env = {
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEY: KEY.privateKeyPem,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  await migrar(loadConfig(env, { service: servicio.name }));
  receiver = await startOtlpReceiver();
  proxy = new PgProxy();
  await proxy.start();
});

after(async () => {
  for (const stop of stops) await stop();
  await proxy?.close();
  await receiver?.close();
  await db?.drop();
});

async function usuarios(env: Record<string, string>) {
  const port = await freePort();
  const service = await runService('usuarios', {
    PORT: String(port),
    JWT_PRIVATE_KEY: KEY.privateKeyPem,
    LOG_LEVEL: 'debug',
    GOOGLE_CLOUD_PROJECT: PROJECT,
    DATABASE_URL: db.url,
    ...env,
  });
  stops.push(service.stop);
  const { access } = await login(client(service.url), ADMIN.email, ADMIN.password);
  return { ...service, access };
}

const TRACE = /^projects\/proyecto-obs\/traces\/([\da-f]{32})$/;

/** The log line whose message starts with `prefix` (a request line: `GET /path 200`). */
function lineOf(logs: Record<string, any>[], prefix: string) {
  const found = logs.filter((l) => String(l.message).startsWith(prefix));
  assert.equal(found.length, 1, `one line "${prefix}":\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
  return found[0]!;
}

test('with tracing on, request and warning lines carry the trace and span of their server span', async () => {
  const dbUrl = new URL(db.url);
  dbUrl.port = String(proxy.port);
  const service = await usuarios({
    DATABASE_URL: dbUrl.toString(),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${service.access}`, ...headers } });

  assert.equal((await get('/api/usuarios/me/?n=1')).status, 200);
  const caller = traceparent('01');
  assert.equal((await get('/api/usuarios/me/?n=2', { traceparent: caller.header })).status, 200);
  proxy.cut('reset');
  const ready = await get('/readyz', { traceparent: traceparent('01').header });
  proxy.restore();
  assert.equal(ready.status, 503);
  await eventually(
    () => (service.logs().some((l) => String(l.message).startsWith('GET /readyz 503')) ? true : undefined),
    'the readyz request line',
  );
  // SIGTERM closes the app, which flushes the spans still batched.
  await service.stop();

  const logs = service.logs();
  const spans = receiver.spans().filter((s) => s.service === 'servicio-usuarios');
  const spanOf = (line: Record<string, any>) => {
    const trace = TRACE.exec(String(line['logging.googleapis.com/trace']))?.[1];
    assert.ok(trace, `trace field of ${JSON.stringify(line)}`);
    assert.match(String(line['logging.googleapis.com/spanId']), /^[\da-f]{16}$/);
    assert.equal(line['logging.googleapis.com/trace_sampled'], true);
    const span = spans.find((s) => s.traceId === trace && s.spanId === line['logging.googleapis.com/spanId']);
    assert.ok(span, `an exported span for ${JSON.stringify(line)}`);
    return span;
  };

  const own = lineOf(logs, 'GET /api/usuarios/me/?n=1 200');
  assert.equal(own.severity, 'DEBUG');
  const ownSpan = spanOf(own);
  assert.equal(ownSpan.name, 'GET /api/usuarios/me/');
  assert.equal(ownSpan.kind, 2, 'SERVER');
  assert.ok(!ownSpan.parentSpanId, 'a new trace');

  const continued = lineOf(logs, 'GET /api/usuarios/me/?n=2 200');
  const continuedSpan = spanOf(continued);
  assert.equal(continuedSpan.traceId, caller.traceId, "the caller's trace");
  assert.equal(
    continuedSpan.parentSpanId,
    caller.spanId,
    "the line names the server's own span, not the caller's",
  );
  assert.equal(continuedSpan.name, 'GET /api/usuarios/me/');
  assert.notEqual(continuedSpan.traceId, ownSpan.traceId);

  const warning = logs.find((l) => l.message === 'readiness check failed');
  assert.ok(warning, 'the readiness warning');
  assert.equal(warning.severity, 'WARNING');
  const warningSpan = spanOf(warning);
  assert.equal(warningSpan.name, 'GET /readyz');
  assert.equal(spanOf(lineOf(logs, 'GET /readyz 503')).spanId, warningSpan.spanId, 'both lines: one span');
});

test("with tracing off, a request's lines take the trace from its traceparent header (GOOGLE_CLOUD_PROJECT set)", async () => {
  const service = await usuarios({});
  const caller = traceparent('01');
  const headers = { authorization: `Bearer ${service.access}` };
  const res = await fetch(`${service.url}/api/usuarios/me/?n=3`, {
    headers: { ...headers, traceparent: caller.header },
  });
  assert.equal(res.status, 200);
  const quiet = traceparent('00');
  const other = await fetch(`${service.url}/api/usuarios/me/?n=4`, {
    headers: { ...headers, traceparent: quiet.header },
  });
  assert.equal(other.status, 200);
  assert.equal((await fetch(`${service.url}/api/usuarios/me/?n=5`, { headers })).status, 200);
  const logs = await eventually(() => {
    const all = service.logs();
    return all.some((l) => String(l.message).startsWith('GET /api/usuarios/me/?n=5 ')) ? all : undefined;
  }, 'the request lines');

  const line = lineOf(logs, 'GET /api/usuarios/me/?n=3 200');
  assert.equal(line['logging.googleapis.com/trace'], `projects/${PROJECT}/traces/${caller.traceId}`);
  assert.equal(line['logging.googleapis.com/spanId'], caller.spanId);
  assert.equal(line['logging.googleapis.com/trace_sampled'], true);
  const unsampled = lineOf(logs, 'GET /api/usuarios/me/?n=4 200');
  assert.equal(unsampled['logging.googleapis.com/trace'], `projects/${PROJECT}/traces/${quiet.traceId}`);
  assert.equal(unsampled['logging.googleapis.com/trace_sampled'], false);
  const none = lineOf(logs, 'GET /api/usuarios/me/?n=5 200');
  assert.equal(none['logging.googleapis.com/trace'], undefined, 'no header, no trace');
});
