// Shared pieces of the observability suites (issue 11), not a test file itself: both services in this
// process, on one new database, with their spans in memory and a metric reader collected on demand;
// span and metric look-ups. (The real processes and an OTLP receiver: processes.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Attributes } from '@opentelemetry/api';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { BuildOptions } from '@servicios/platform';
import {
  type Client,
  client,
  createTestDatabase,
  login,
  type RunningService,
  signingKey,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp as buildReservas, servicio as servicioReservas } from '../../services/reservas/src/app.ts';
import { buildApp as buildUsuarios, servicio as servicioUsuarios } from '../../services/usuarios/src/app.ts';
import { migrar } from '../../services/usuarios/src/bootstrap.ts';
import { ADMIN, nuevoUsuario, PASSWORD } from '../../services/usuarios/test/support.ts';

export { ADMIN, nuevoUsuario, PASSWORD };

/** A reader that exports nothing: the test collects it when it wants to look. */
export class Reader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

export interface Point {
  metric: string;
  attributes: Attributes;
  /** A number for counters and gauges, `{count, sum, ...}` for histograms. */
  value: any;
}

/** Every data point the service's meter holds now, and the raw collection (to scan as JSON). */
export async function collect(reader: Reader): Promise<{ points: Point[]; raw: unknown }> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, [], 'metric collection errors');
  const points = resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.flatMap((metric) =>
      (metric.dataPoints as { attributes: Attributes; value: unknown }[]).map((p) => ({
        metric: metric.descriptor.name,
        attributes: p.attributes,
        value: p.value,
      })),
    ),
  );
  return { points, raw: resourceMetrics };
}

/** The requests counted by http.server.request.duration for one method, route template and status. */
export function requestCount(points: Point[], method: string, route: string, status: number): number {
  return points
    .filter((p) => p.metric === 'http.server.request.duration')
    .filter(
      (p) =>
        p.attributes['http.request.method'] === method &&
        p.attributes['http.route'] === route &&
        p.attributes['http.response.status_code'] === status,
    )
    .reduce((sum, p) => sum + p.value.count, 0);
}

/**
 * Waits until the service has counted `count` such requests: their onResponse hooks have run, so
 * their spans have ended too (the client may read an answer before its hooks finish).
 */
export async function requestsSettled(
  reader: Reader,
  request: { method: string; route: string; status: number },
  count: number,
): Promise<Point[]> {
  return eventually(async () => {
    const { points } = await collect(reader);
    return requestCount(points, request.method, request.route, request.status) >= count ? points : undefined;
  }, `${count} × ${request.method} ${request.route} ${request.status} counted`);
}

/** Polls `check` until it returns something (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export const spanIdOf = (span: ReadableSpan) => span.spanContext().spanId;
export const traceIdOf = (span: ReadableSpan) => span.spanContext().traceId;
export const parentIdOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
export const isDb = (span: ReadableSpan) => span.attributes['db.system.name'] === 'postgresql';

/** One line per span, for failure messages. */
export function describeSpans(spans: ReadableSpan[]): string {
  return spans
    .map(
      (s) =>
        `${traceIdOf(s).slice(0, 8)} ${spanIdOf(s)}<-${parentIdOf(s) ?? 'root'} kind=${s.kind} ${s.name}`,
    )
    .join('\n');
}

/** A W3C traceparent of a caller's span, and its ids. */
export function traceparent(flags: '00' | '01' = '01') {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-${flags}` };
}

export interface Traced {
  service: RunningService;
  url: string;
  anon: Client;
  spans: InMemorySpanExporter;
  metrics: Reader;
}

type Build = (options: BuildOptions) => Promise<FastifyInstance>;

/** A build whose telemetry goes to a fresh in-memory exporter and reader instead of OTLP. */
function inMemory(build: Build) {
  const spans = new InMemorySpanExporter();
  const metrics = new Reader();
  const wrapped: Build = (options) =>
    build({ ...options, telemetry: { spanExporter: spans, metricReader: metrics } });
  return { spans, metrics, build: wrapped };
}

function traced(
  service: RunningService,
  telemetry: { spans: InMemorySpanExporter; metrics: Reader },
): Traced {
  return { service, url: service.url, anon: client(service.url), ...telemetry };
}

export interface Usuario {
  id: number;
  email: string;
  password: string;
  /** A servicio-usuarios client with its access token. */
  api: Client;
  access: string;
  refresh: string;
}

export interface TracedStack {
  db: TestDatabase;
  usuarios: Traced;
  reservas?: Traced;
  adminToken: string;
  /** servicio-usuarios as the administrador. */
  admin: Client;
  usuario(tipo?: 'cliente' | 'empleado' | 'administrador'): Promise<Usuario>;
  close(): Promise<void>;
}

/**
 * servicio-usuarios (and servicio-reservas unless `reservas: false`) traced in memory, on one new
 * database, with `env` added to both (OTEL_TRACES_SAMPLER_ARG, the emulator's variables...).
 */
export async function startTracedStack(
  label: string,
  env: Record<string, string> = {},
  options: { reservas?: boolean } = {},
): Promise<TracedStack> {
  const db = await createTestDatabase(label);
  const running: Traced[] = [];
  try {
    const u = inMemory(buildUsuarios);
    const usuariosEnv = {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEY: signingKey().privateKeyPem,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      JWT_ACCESS_TTL_S: '3600',
      ...env,
    };
    const usuarios = traced(
      await startService(servicioUsuarios, u.build, usuariosEnv, { migrate: migrar }),
      u,
    );
    running.push(usuarios);
    let reservas: Traced | undefined;
    if (options.reservas !== false) {
      const r = inMemory(buildReservas);
      const reservasEnv = {
        DATABASE_URL: db.url,
        JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
        USUARIOS_URL: usuarios.url,
        ...env,
      };
      reservas = traced(await startService(servicioReservas, r.build, reservasEnv), r);
      running.push(reservas);
    }
    const adminToken = (await login(usuarios.anon, ADMIN.email, ADMIN.password)).access;
    const admin = usuarios.anon.as(adminToken);
    return {
      db,
      usuarios,
      reservas,
      adminToken,
      admin,
      async usuario(tipo = 'cliente') {
        const datos = nuevoUsuario({ tipo_usuario: tipo });
        const res = await admin.post('/api/usuarios/', datos);
        if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
        const tokens = await login(usuarios.anon, String(datos.email), PASSWORD);
        return {
          id: res.body.id,
          email: res.body.email,
          password: PASSWORD,
          api: usuarios.anon.as(tokens.access),
          ...tokens,
        };
      },
      async close() {
        for (const t of running.reverse()) await t.service.close();
        await db.drop();
      },
    };
  } catch (err) {
    for (const t of running.reverse()) await t.service.close();
    await db.drop();
    throw err;
  }
}

/** An ISO date-time `days` from now. */
export function enDias(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}
