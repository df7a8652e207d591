#!/usr/bin/env node
// `npm run traces`: a minimal OTLP/HTTP (JSON) receiver for local development. Run it, then start the
// services with OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 and every span they export is
// printed here as it arrives, grouped by trace and indented under its parent:
//
//   4bf92f35 servicio-usuarios  POST /api/usuarios/:id/desactivar/      12.3 ms
//   4bf92f35 servicio-usuarios    UPDATE usuarios_usuario               1.1 ms
//   4bf92f35 servicio-usuarios    publish servicios.usuarios.v1.usuario.desactivado  3.0 ms
//   4bf92f35 servicio-reservas      process servicios.usuarios.v1.usuario.desactivado  4.2 ms
//
// Metrics are accepted and summarised (one line per export). PORT moves it (default 4318).
import http from 'node:http';

const port = Number(process.env.PORT ?? 4318);
/** Depth of each span seen so far, by trace and span id, so that late children indent right. */
const depth = new Map();

const attribute = (attributes, key) => attributes?.find((a) => a.key === key)?.value?.stringValue;

function printSpans(body) {
  const spans = [];
  for (const { resource, scopeSpans } of body.resourceSpans ?? []) {
    const service = attribute(resource?.attributes, 'service.name') ?? '?';
    for (const { spans: list } of scopeSpans ?? [])
      for (const span of list ?? []) spans.push({ ...span, service });
  }
  spans.sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
  for (const span of spans) {
    const parentDepth = span.parentSpanId ? depth.get(`${span.traceId}/${span.parentSpanId}`) : undefined;
    const level = parentDepth === undefined ? 0 : parentDepth + 1;
    depth.set(`${span.traceId}/${span.spanId}`, level);
    const ms = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
    const name = `${'  '.repeat(level)}${span.name}`;
    console.log(
      `${span.traceId.slice(0, 8)} ${span.service.padEnd(18)} ${name.padEnd(60)} ${ms.toFixed(1).padStart(8)} ms`,
    );
  }
}

function printMetrics(body) {
  const names = new Set();
  for (const { scopeMetrics } of body.resourceMetrics ?? [])
    for (const { metrics } of scopeMetrics ?? []) for (const metric of metrics ?? []) names.add(metric.name);
  console.log(`metrics: ${[...names].sort().join(', ')}`);
}

http
  .createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      try {
        const body = JSON.parse(text || '{}');
        if (request.url === '/v1/traces') printSpans(body);
        else if (request.url === '/v1/metrics') printMetrics(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        response.writeHead(400).end();
      }
    });
  })
  .listen(port, () =>
    console.log(`OTLP/HTTP receiver on http://localhost:${port} (traces and metrics, JSON)`),
  );
