import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { type LoggerOptions, stdTimeFunctions } from 'pino';

// Cloud Logging reads `severity`; pino's level names map onto its LogSeverity values.
const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** pino options: JSON lines in Cloud Logging's shape, or pino-pretty for a person at a terminal. */
export function loggerOptions(options: {
  level: string;
  service: string;
  pretty: boolean;
  /** Fields computed for each line (the active span's trace fields). */
  mixin?: () => Record<string, unknown>;
}): LoggerOptions {
  const common: LoggerOptions = {
    level: options.level,
    messageKey: 'message',
    ...(options.mixin ? { mixin: options.mixin } : {}),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.connectionString'],
      censor: '[redacted]',
    },
  };
  if (options.pretty) {
    return {
      ...common,
      transport: {
        target: 'pino-pretty',
        options: { messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l' },
      },
    };
  }
  return {
    ...common,
    base: { serviceContext: { service: options.service } },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) },
  };
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/i;
const CLOUD_TRACE = /^([\da-f]{32})(?:\/(\d+))?(?:;o=(\d))?/i;

/** The fields that tie a log line to its request's trace in Cloud Logging. */
export function traceFields(
  headers: IncomingMessage['headers'],
  project: string | undefined,
): Record<string, unknown> {
  if (!project) return {};
  let trace: string | undefined;
  let span: string | undefined;
  let sampled = false;
  const traceparent = headers.traceparent;
  const cloud = headers['x-cloud-trace-context'];
  const w3c = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent) : null;
  const legacy = typeof cloud === 'string' ? CLOUD_TRACE.exec(cloud) : null;
  if (w3c) {
    [, trace, span] = w3c;
    sampled = (Number.parseInt(w3c[3] ?? '0', 16) & 1) === 1;
  } else if (legacy) {
    trace = legacy[1];
    span = legacy[2] ? BigInt(legacy[2]).toString(16).padStart(16, '0') : undefined;
    sampled = legacy[3] === '1';
  }
  if (!trace) return {};
  return {
    'logging.googleapis.com/trace': `projects/${project}/traces/${trace}`,
    ...(span ? { 'logging.googleapis.com/spanId': span } : {}),
    'logging.googleapis.com/trace_sampled': sampled,
  };
}

/**
 * One line per request, at debug level: Cloud Run already writes a request log of its own, so
 * production does not pay for a second one unless LOG_LEVEL=debug asks for it.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    if (!(request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('debug')) return;
    request.log.debug(
      {
        httpRequest: {
          requestMethod: request.method,
          requestUrl: request.url,
          status: reply.statusCode,
          latency: `${(reply.elapsedTime / 1000).toFixed(6)}s`,
          userAgent: request.headers['user-agent'],
          remoteIp: request.ip,
        },
      },
      `${request.method} ${request.url} ${reply.statusCode}`,
    );
  });
}
