import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type pg from 'pg';
import type { Telemetry } from './setup.js';

/**
 * The statement's kind and first table, from its text: `SELECT usuarios_usuario`; for a CTE, the
 * write it carries (`UPDATE reservas_reserva`: a change and its event in one statement). Never values.
 */
function summary(text: string): string {
  const write = /^\s*with\b[\s\S]*?\b(insert\s+into|update|delete\s+from)\s+"?([a-z_][a-z0-9_]*)"?/i.exec(
    text,
  );
  if (write?.[1]) return `${write[1].replace(/\s.*/s, '').toUpperCase()} ${write[2]}`;
  const kind = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
  const table = /\b(?:from|into|update|join)\s+"?([a-z_][a-z0-9_]*)"?/i.exec(text)?.[1];
  return table ? `${kind} ${table}` : kind;
}

/**
 * A client span per statement on every connection of the pool (Drizzle's queries, transactions
 * included), named by the prepared statement's name or the statement's kind and table; parameters are
 * never recorded. Only inside a recorded span: a statement of a request that was not sampled (nine in
 * ten at the deployed ratio) or of no request at all costs nothing more than a check. And the pool's
 * gauges: connections in use, idle, and requests waiting for one.
 */
export function instrumentPool(pool: pg.Pool, telemetry: Telemetry, database: string): void {
  const inUse = telemetry.meter.createObservableGauge('db.client.connection.count', {
    description: 'Connections of the pool, by state (used, idle).',
  });
  const waiting = telemetry.meter.createObservableGauge('db.client.connection.pending_requests', {
    description: 'Requests waiting for a free connection of the pool.',
  });
  telemetry.meter.addBatchObservableCallback(
    (result) => {
      result.observe(inUse, pool.totalCount - pool.idleCount, { 'db.client.connection.state': 'used' });
      result.observe(inUse, pool.idleCount, { 'db.client.connection.state': 'idle' });
      result.observe(waiting, pool.waitingCount);
    },
    [inUse, waiting],
  );
  if (!telemetry.tracing) return;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      if (!trace.getSpan(context.active())?.isRecording()) return query(...args);
      const first = args[0] as string | { text?: string; name?: string };
      const text = typeof first === 'string' ? first : (first?.text ?? '');
      const name = typeof first === 'object' && first?.name ? first.name : summary(text);
      const span = telemetry.tracer.startSpan(name, {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': database,
          'db.operation.name': name.split(' ')[0],
        },
      });
      const end = (err?: { code?: string } | null) => {
        if (err) {
          span.setAttribute('db.response.status_code', err.code ?? 'unknown');
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      };
      // pg-pool's own pool.query() calls the callback form; transactions use the promise form.
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        args[args.length - 1] = (err: { code?: string } | null, result: unknown) => {
          end(err);
          callback(err, result);
        };
        return query(...args);
      }
      return (query(...args) as Promise<unknown>).then(
        (value) => {
          end();
          return value;
        },
        (err: { code?: string }) => {
          end(err);
          throw err;
        },
      );
    };
  });
}
