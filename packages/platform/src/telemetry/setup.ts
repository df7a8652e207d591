import { randomUUID } from 'node:crypto';
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  type Link,
  type Meter,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config.js';

/** What tests bring instead of an exporter: in-memory spans and a reader they collect on demand. */
export interface TelemetryOverrides {
  spanExporter?: SpanExporter;
  metricReader?: MetricReader;
}

/**
 * One service's telemetry (issue 11): its own tracer and meter (never the global providers, so that
 * two services in one test process stay apart), W3C trace context in and out, and the fields that tie
 * a log line to its span in Cloud Logging.
 */
export interface Telemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** True when spans are recorded (an exporter is configured). */
  readonly tracing: boolean;
  /** True when metrics are collected: nothing to record per request otherwise. */
  readonly metering: boolean;
  /** The context a W3C `traceparent` (header or message attribute) continues, or the root. */
  extract(carrier: Record<string, unknown>): Context;
  /** Writes the W3C trace context of `ctx` (the active one by default) into headers or attributes. */
  inject(carrier: Record<string, string>, ctx?: Context): void;
  /** Cloud Logging's trace fields for the active span, if any. */
  logFields(): Record<string, unknown>;
  shutdown(): Promise<void>;
}

/**
 * A context in which nothing is traced (the SDK's suppressTracing: its key is a global symbol, so the
 * API alone makes it, without loading the SDK): for a service's own housekeeping.
 */
export const untraced = (): Context => ROOT_CONTEXT.setValue(SUPPRESS_TRACING, true);
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** The W3C `traceparent` of the active span, or undefined: written beside an event in the outbox. */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** Nothing recorded, nothing exported: the API's no-op tracer and meter cost next to nothing. */
const idle: Telemetry = {
  tracer: trace.getTracer('idle'),
  meter: metrics.getMeter('idle'),
  tracing: false,
  metering: false,
  extract: () => ROOT_CONTEXT,
  inject: () => {},
  logFields: () => ({}),
  shutdown: async () => {},
};

let globalsSet = false;

/**
 * The service's telemetry: exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (to a local
 * collector, or to Google's Telemetry API, which takes traces and metrics alike), recorded in memory
 * for tests; otherwise idle, and the SDK is not even loaded.
 */
export async function createTelemetry(
  config: Readonly<Config>,
  service: { name: string; version: string },
  overrides: TelemetryOverrides = {},
): Promise<Telemetry> {
  const { telemetry } = config;
  const exporting = Boolean(telemetry.otlpEndpoint);
  if (!exporting && !overrides.spanExporter && !overrides.metricReader) return idle;

  const [
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { resourceFromAttributes },
    sdkTrace,
    sdkMetrics,
  ] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-metrics'),
  ]);
  // One process-wide context manager: spans become "active" through AsyncLocalStorage.
  if (!globalsSet) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    globalsSet = true;
  }
  const resource = resourceFromAttributes({
    ...telemetry.resourceAttributes,
    'service.name': service.name,
    'service.version': service.version,
    // Cloud Monitoring keeps one series per instance: each process is one.
    'service.instance.id': randomUUID(),
    ...(config.gcpProject ? { 'gcp.project_id': config.gcpProject } : {}),
  });

  const processors: SpanProcessor[] = [];
  if (overrides.spanExporter) processors.push(new sdkTrace.SimpleSpanProcessor(overrides.spanExporter));
  else if (exporting) processors.push(new sdkTrace.BatchSpanProcessor(await otlpExporter(config, 'traces')));
  const tracerProvider =
    processors.length > 0
      ? new sdkTrace.BasicTracerProvider({
          resource,
          // The caller's sampled flag decides; a new trace is sampled at the configured ratio.
          sampler: new sdkTrace.ParentBasedSampler({
            root: new sdkTrace.TraceIdRatioBasedSampler(telemetry.sampleRatio),
          }),
          spanProcessors: processors,
        })
      : undefined;

  const readers: MetricReader[] = [];
  if (overrides.metricReader) readers.push(overrides.metricReader);
  else if (exporting) {
    readers.push(
      new sdkMetrics.PeriodicExportingMetricReader({
        exporter: await otlpExporter(config, 'metrics'),
        exportIntervalMillis: telemetry.metricIntervalMs,
      }),
    );
  }
  const meterProvider = readers.length > 0 ? new sdkMetrics.MeterProvider({ resource, readers }) : undefined;
  const project = config.gcpProject;

  return {
    tracer: tracerProvider?.getTracer(service.name, service.version) ?? idle.tracer,
    meter: meterProvider?.getMeter(service.name, service.version) ?? idle.meter,
    tracing: tracerProvider !== undefined,
    metering: meterProvider !== undefined,
    extract: (carrier) => propagation.extract(ROOT_CONTEXT, carrier, headerGetter),
    inject: (carrier, ctx = context.active()) => propagation.inject(ctx, carrier),
    logFields() {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
      return {
        ...(project
          ? { 'logging.googleapis.com/trace': `projects/${project}/traces/${spanContext.traceId}` }
          : {}),
        'logging.googleapis.com/spanId': spanContext.spanId,
        'logging.googleapis.com/trace_sampled': (spanContext.traceFlags & 1) === 1,
      };
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

const headerGetter = {
  get: (carrier: Record<string, unknown>, key: string) => {
    const value = carrier[key];
    return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value : undefined;
  },
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
};

/** Runs `work` in a new span, ended (with the error recorded) when it settles. */
export async function inSpan<T>(
  telemetry: Telemetry,
  name: string,
  options: { kind?: number; attributes?: Attributes; parent?: Context; links?: Link[] },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = telemetry.tracer.startSpan(
    name,
    { kind: options.kind, attributes: options.attributes, links: options.links },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (err) {
    span.recordException({ name: (err as Error).name, message: (err as Error).message });
    span.setStatus({ code: 2 });
    throw err;
  } finally {
    span.end();
  }
}

/** Google's Telemetry (OTLP) API wants an OAuth token and the project: added when it is the endpoint. */
function headersFor(config: Readonly<Config>): () => Promise<Record<string, string>> {
  const endpoint = config.telemetry.otlpEndpoint ?? '';
  if (!/^https:\/\/telemetry\.googleapis\.com\/?$/.test(endpoint)) return async () => ({});
  let auth: Promise<{ getRequestHeaders(): Promise<Headers | Record<string, string>> }> | undefined;
  return async () => {
    auth ??= import('google-auth-library').then(
      ({ GoogleAuth }) => new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }),
    );
    const raw = await (await auth).getRequestHeaders();
    const headers = raw instanceof Headers ? Object.fromEntries(raw.entries()) : raw;
    return { ...headers, ...(config.gcpProject ? { 'x-goog-user-project': config.gcpProject } : {}) };
  };
}

/** OTLP/HTTP (JSON) exporters; Google's endpoint takes both signals. */
async function otlpExporter(config: Readonly<Config>, signal: 'traces'): Promise<SpanExporter>;
async function otlpExporter(
  config: Readonly<Config>,
  signal: 'metrics',
): Promise<import('@opentelemetry/sdk-metrics').PushMetricExporter>;
async function otlpExporter(config: Readonly<Config>, signal: 'traces' | 'metrics'): Promise<unknown> {
  const url = `${config.telemetry.otlpEndpoint?.replace(/\/$/, '')}/v1/${signal}`;
  const headers = headersFor(config);
  if (signal === 'traces') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ url, headers });
  }
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
  return new OTLPMetricExporter({ url, headers });
}
