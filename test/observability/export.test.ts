// Issue 11, export: the real processes of both services. With OTEL_EXPORTER_OTLP_ENDPOINT set to a local
// OTLP/HTTP receiver, their spans (OTLP JSON: resourceSpans, service.name of each service, one trace
// across the two processes) and metrics arrive there; without it, nothing is exported: not a single
// connection to the receiver over seconds of traffic, even with the SDK's own per-signal variables set.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, migrateDatabase } from '@servicios/platform';
import { client, createTestDatabase, login, signingKey, type TestDatabase } from '@servicios/testing';
import { servicio as reservas } from '../../services/reservas/src/app.ts';
import { servicio as usuarios } from '../../services/usuarios/src/app.ts';
import { migrar } from '../../services/usuarios/src/bootstrap.ts';
import { freePort } from '../delivery/support.ts';
import { type OtlpReceiver, runService, startOtlpReceiver, stringAttribute } from './processes.ts';
import { ADMIN, enDias, eventually, nuevoUsuario } from './support.ts';

const KEY = signingKey();
let db: TestDatabase;
const receivers: OtlpReceiver[] = [];
const stops: (() => Promise<void>)[] = [];

before(async () => {
  db = await createTestDatabase('obs_export');
  const env = {
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEY: KEY.privateKeyPem,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  await migrar(loadConfig(env, { service: usuarios.name }));
  await migrateDatabase(loadConfig(env, { service: reservas.name }).database, reservas.migrations);
});

after(async () => {
  for (const stop of stops) await stop();
  for (const r of receivers) await r.close();
  await db?.drop();
});

async function receiver() {
  const r = await startOtlpReceiver();
  receivers.push(r);
  return r;
}

/** Both services as processes, with `env` added to each; then traffic that crosses them. */
async function bothServices(env: Record<string, string>) {
  const common = { DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...env };
  const u = await runService('usuarios', {
    ...common,
    PORT: String(await freePort()),
    JWT_PRIVATE_KEY: KEY.privateKeyPem,
  });
  stops.push(u.stop);
  const r = await runService('reservas', {
    ...common,
    PORT: String(await freePort()),
    JWT_JWKS_URL: `${u.url}/.well-known/jwks.json`,
    USUARIOS_URL: u.url,
  });
  stops.push(r.stop);
  const token = (await login(client(u.url), ADMIN.email, ADMIN.password)).access;
  const admin = client(u.url, token);
  const creado = await admin.post('/api/usuarios/', nuevoUsuario());
  assert.equal(creado.status, 201, creado.text);
  /** A reservation for another user: servicio-reservas asks servicio-usuarios (one trace, two processes). */
  const traffic = async () => {
    const res = await client(r.url, token).post('/api/reservas/', {
      usuario_id: creado.body.id,
      fecha_reserva: enDias(6),
      numero_personas: 2,
    });
    assert.equal(res.status, 201, res.text);
    assert.equal((await admin.get(`/api/usuarios/${creado.body.id}/`)).status, 200);
  };
  return { usuarios: u, reservas: r, traffic };
}

test('with OTEL_EXPORTER_OTLP_ENDPOINT, spans and metrics of both services arrive as OTLP JSON', async () => {
  const otlp = await receiver();
  const {
    usuarios: u,
    reservas: r,
    traffic,
  } = await bothServices({
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  });
  await traffic();
  // Metrics go out every OTEL_METRIC_EXPORT_INTERVAL, while the processes run.
  await eventually(
    () => {
      const names = otlp.metricNames();
      return ['servicio-usuarios', 'servicio-reservas'].every((s) =>
        names.get(s)?.has('http.server.request.duration'),
      )
        ? names
        : undefined;
    },
    'http.server.request.duration of both services at the receiver',
    15_000,
  );
  const names = otlp.metricNames();
  for (const metric of [
    'db.client.connection.count',
    'servicios.password_hash.active',
    'servicios.outbox.pending',
  ])
    assert.ok(names.get('servicio-usuarios')?.has(metric), `servicio-usuarios exports ${metric}`);
  assert.ok(
    names.get('servicio-reservas')?.has('servicios.jwks.fetches'),
    'servicio-reservas exports its JWKS fetches',
  );
  // Spans are batched: SIGTERM closes the apps, which flushes them.
  await r.stop();
  await u.stop();
  assert.deepEqual(otlp.other, [], 'only JSON bodies on /v1/traces and /v1/metrics');

  for (const body of otlp.traces) {
    for (const rs of body.resourceSpans) {
      assert.ok(
        ['servicio-usuarios', 'servicio-reservas'].includes(
          stringAttribute(rs.resource.attributes, 'service.name')!,
        ),
      );
      assert.equal(stringAttribute(rs.resource.attributes, 'service.version'), '1.0.0');
    }
  }
  const spans = otlp.spans();
  const server = spans.find((s) => s.service === 'servicio-reservas' && s.name === 'POST /api/reservas/');
  assert.ok(
    server,
    `servicio-reservas' request span:\n${spans.map((s) => `${s.service} ${s.name}`).join('\n')}`,
  );
  assert.match(server.traceId, /^[\da-f]{32}$/, 'OTLP JSON ids are hex');
  const call = spans.find(
    (s) => s.traceId === server.traceId && s.name === 'GET /api/usuarios/:id/' && s.kind === 3,
  );
  assert.ok(call, 'the outgoing CLIENT span, in the same trace');
  assert.equal(call.parentSpanId, server.spanId);
  const remote = spans.find(
    (s) => s.service === 'servicio-usuarios' && s.traceId === server.traceId && s.kind === 2,
  );
  assert.ok(remote, "servicio-usuarios' span joins the trace across processes");
  assert.equal(remote.name, 'GET /api/usuarios/:id/');
  assert.equal(remote.kind, 2, 'SERVER');
  assert.equal(remote.parentSpanId, call.spanId);
  assert.ok(
    spans.some(
      (s) =>
        s.service === 'servicio-usuarios' &&
        s.name === 'GET /api/usuarios/:id/' &&
        s.traceId !== server.traceId,
    ),
    "the direct GET: a trace of servicio-usuarios' own",
  );
});

test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported: no connection at all to the receiver', async () => {
  const otlp = await receiver();
  // Were the SDK's exporters created anyway, these (read by the SDK itself) would send them here.
  const {
    usuarios: u,
    reservas: r,
    traffic,
  } = await bothServices({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlp.url}/v1/metrics`,
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    await traffic();
    await sleep(200);
  }
  await r.stop();
  await u.stop();
  assert.equal(otlp.connections, 0, 'connections to the OTLP receiver');
  assert.deepEqual([otlp.traces.length, otlp.metrics.length], [0, 0]);
});
