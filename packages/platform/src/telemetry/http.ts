import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Telemetry } from './setup.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const kStart = Symbol('request start');
const kSpan = Symbol('request span');

type Traced = FastifyRequest & { [kStart]?: bigint; [kSpan]?: ReturnType<Telemetry['tracer']['startSpan']> };

/**
 * One server span per request, named by its route's template (`GET /api/usuarios/:id/`), continuing
 * the caller's W3C trace context; the rest of the request runs inside it, so database and outgoing
 * spans and log lines hang from it. And the request metrics: a duration histogram per method, route
 * template and status code — never a raw path, an id or an e-mail, so the series stay bounded.
 */
export function registerRequestTelemetry(app: FastifyInstance, telemetry: Telemetry): void {
  // Idle telemetry (nothing exported): not a single hook on the request path.
  if (!telemetry.tracing && !telemetry.metering) return;
  const duration = telemetry.meter.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP requests, by method, route template and status code.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  });

  // Callback style, and first of all hooks: `done` runs the rest of the request inside the span's context.
  app.addHook('onRequest', (request: Traced, _reply, done) => {
    request[kStart] = process.hrtime.bigint();
    if (!telemetry.tracing) return done();
    const parent = telemetry.extract(request.headers);
    const route = request.routeOptions.url ?? 'unmatched';
    const span = telemetry.tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'http.route': route, 'url.scheme': 'http' },
      },
      parent,
    );
    request[kSpan] = span;
    context.with(trace.setSpan(parent, span), done);
  });

  app.addHook('onResponse', (request: Traced, reply, done) => {
    const status = reply.statusCode;
    const span = request[kSpan];
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    const start = request[kStart];
    if (start !== undefined) {
      duration.record(Number(process.hrtime.bigint() - start) / 1e9, {
        'http.request.method': METHODS.has(request.method) ? request.method : '_OTHER',
        'http.route': request.routeOptions.url ?? 'unmatched',
        'http.response.status_code': status,
      });
    }
    done();
  });
}
