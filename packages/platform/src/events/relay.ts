import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { and, asc, count, inArray, isNull, lt, min, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../database.js';
import { errorSummary } from '../database.js';
import { type Telemetry, untraced } from '../telemetry/index.js';
import type { CloudEvent } from './cloudevents.js';
import type { OutboxTable } from './outbox.js';
import type { Publisher } from './publishers.js';

interface Logger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface RelayOptions {
  db: Db;
  outbox: OutboxTable;
  publisher: Publisher;
  /** `ce-source` of this service's events. */
  source: string;
  log: Logger;
  /** How often leftovers are swept (a crash between commit and publish, a failed publish). */
  sweepMs?: number;
  batch?: number;
  /** How long a claimed row is this process's to publish before another may take it. */
  leaseS?: number;
  telemetry: Telemetry;
}

export interface Relay {
  /** A write just committed: publish soon. */
  kick(): void;
  /** Publishes everything publishable now; resolves when nothing is left to try. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes the outbox (CONTRACT §6, "nothing lost"). A round claims the first pending event of each
 * subject — never one whose predecessor is still there, so each subject stays in order across
 * instances — and starts publishing them; each published row is deleted (the outbox holds only what
 * is on its way), each failed one released with a backoff (1, 2, 4, 8 s). A claim is a lease, renewed
 * while the publish runs: the rows of a process that died are taken again once it lapses. Rounds run
 * after each write, after each publish, and every `sweepMs`.
 */
export function createRelay(options: RelayOptions): Relay {
  const { db, outbox, publisher, log } = options;
  const batch = options.batch ?? 100;
  // Renewed every sweep while a publish is under way here; short, since it is how late the events of a
  // process that died while publishing go out.
  const leaseS = options.leaseS ?? 10;
  const { telemetry } = options;
  const publishedCounter = telemetry.meter.createCounter('servicios.events.published', {
    description: 'Events sent by the outbox relay, by outcome (published, failed).',
  });
  const earlier = alias(outbox, 'anterior');
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  /** Claims the head of each subject (at most `batch`), skipping rows another instance holds. */
  async function claim() {
    const free = or(isNull(outbox.reclamada_hasta), lt(outbox.reclamada_hasta, sql`now()`));
    const head = sql`NOT EXISTS (SELECT 1 FROM ${outbox} AS ${sql.identifier('anterior')} WHERE ${earlier.sujeto} = ${outbox.sujeto} AND ${earlier.id} < ${outbox.id})`;
    const heads = db
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(free, head))
      .orderBy(asc(outbox.id))
      .limit(batch)
      .for('update', { skipLocked: true });
    return db
      .update(outbox)
      .set({
        reclamada_hasta: sql`now() + make_interval(secs => ${leaseS})`,
        intentos: sql`${outbox.intentos} + 1`,
      })
      .where(inArray(outbox.id, heads))
      .returning();
  }

  /** Rows whose publish is under way here, by id: their leases are renewed until it settles. */
  const inFlight = new Map<number, Promise<void>>();
  const published: number[] = [];
  const failed: number[] = [];
  let flushing: Promise<void> | undefined;

  /**
   * Publishes one claimed event. Each publish is a span of the trace of the change that wrote the
   * event, however late it goes out; the message carries that span's context on to the consumer.
   */
  function dispatch(row: (typeof outbox)['$inferSelect']): void {
    const span = telemetry.tracer.startSpan(
      `publish ${row.tipo}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'gcp_pubsub',
          'messaging.operation.type': 'send',
          'cloudevents.event_type': row.tipo,
        },
      },
      telemetry.extract(row.traceparent ? { traceparent: row.traceparent } : {}),
    );
    const carrier: Record<string, string> = {};
    telemetry.inject(carrier, trace.setSpan(ROOT_CONTEXT, span));
    const traceparent = carrier.traceparent ?? row.traceparent ?? undefined;
    const event: CloudEvent = {
      id: row.ce_id,
      type: row.tipo,
      source: options.source,
      subject: row.sujeto,
      time: row.tiempo.toISOString(),
      data: row.datos as Record<string, unknown>,
      ...(traceparent ? { traceparent } : {}),
    };
    const settle = (ok: boolean) => {
      if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      publishedCounter.add(1, { outcome: ok ? 'published' : 'failed' });
      (ok ? published : failed).push(row.id);
      inFlight.delete(row.id);
      void flush();
    };
    inFlight.set(
      row.id,
      publisher.publish(event).then(
        () => settle(true),
        () => settle(false),
      ),
    );
  }

  /**
   * Deletes the published rows and releases the failed ones (backoff 1, 2, 4, 8 s), a batch at a time;
   * then goes round again: a published row's successor is now the head of its subject.
   */
  function flush(): Promise<void> {
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      context.with(untraced(), async () => {
        // After close the pool is gone: what settled late is sent again by the next instance.
        if (closed) return;
        const done = published.splice(0);
        const retry = failed.splice(0);
        try {
          if (done.length) await db.delete(outbox).where(inArray(outbox.id, done));
          if (retry.length) {
            log.warn(
              { failed: retry.length, publisher: publisher.describe },
              'events not published: will retry',
            );
            await db
              .update(outbox)
              .set({
                reclamada_hasta: sql`now() + make_interval(secs => least(power(2, ${outbox.intentos} - 1), 8))`,
              })
              .where(inArray(outbox.id, retry));
          }
        } catch (err) {
          // Left leased: published rows are sent again after the lease (at least once), failed ones retried.
          log.warn({ err: errorSummary(err) }, 'event relay could not record what it published');
        } finally {
          flushing = undefined;
        }
        // Publishes that settled meanwhile get the next batch.
        if (published.length || failed.length) void flush();
        if (done.length) void drain();
      }),
    );
    return flushing;
  }

  /** Claims what can go now and starts publishing it; never waits for a publish (a slow subject holds only itself). */
  async function round(): Promise<boolean> {
    const rows = await claim();
    for (const row of rows) dispatch(row);
    return rows.length === batch;
  }

  function drain(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    // The relay's own statements are housekeeping, traced by no one: only its publish spans, which
    // continue each event's own trace, are recorded.
    running = context.with(untraced(), async () => {
      try {
        do {
          again = false;
          while (!closed && (await round()));
        } while (again && !closed);
      } catch (err) {
        log.warn({ err: errorSummary(err) }, 'event relay round failed: will retry');
      } finally {
        running = undefined;
      }
    });
    return running;
  }

  /** Keeps this process's hold on the rows it is still publishing (a dead process's hold lapses). */
  async function renewLeases(): Promise<void> {
    if (inFlight.size === 0 || closed) return;
    await context.with(untraced(), () =>
      db
        .update(outbox)
        .set({ reclamada_hasta: sql`now() + make_interval(secs => ${leaseS})` })
        .where(inArray(outbox.id, [...inFlight.keys()])),
    );
  }

  const sweep = setInterval(() => {
    void renewLeases()
      .catch((err) => log.warn({ err: errorSummary(err) }, 'event relay could not renew its leases'))
      .then(drain);
  }, options.sweepMs ?? 1000);
  sweep.unref();

  return {
    kick: () => void drain(),
    drain,
    async close() {
      clearInterval(sweep);
      // What committed just before SIGTERM goes out now if it can (within 2 s: Cloud Run gives 10 in
      // all); else it stays in the outbox and the next instance sends it.
      const settled = drain()
        .then(() => Promise.allSettled(inFlight.values()))
        .then(flush);
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      closed = true;
      await publisher.close().catch(() => undefined);
    },
  };
}

/**
 * What the outbox still holds, read at each metrics export (a minute in production: one small query):
 * the events pending and the age of the oldest, which the "events unpublished" alert watches. Kept
 * whether or not this instance publishes.
 */
export function registerOutboxMetrics(db: Db, outbox: OutboxTable, telemetry: Telemetry): void {
  const pending = telemetry.meter.createObservableGauge('servicios.outbox.pending', {
    description: 'Events in the outbox, not yet published.',
  });
  const age = telemetry.meter.createObservableGauge('servicios.outbox.oldest_age', {
    description: 'Age of the oldest event still in the outbox.',
    unit: 's',
  });
  telemetry.meter.addBatchObservableCallback(
    async (result) => {
      const [row] = await context
        .with(untraced(), () => db.select({ pending: count(), oldest: min(outbox.tiempo) }).from(outbox))
        .catch(() => [undefined]);
      if (!row) return;
      result.observe(pending, row.pending);
      result.observe(age, row.oldest ? (Date.now() - new Date(row.oldest).getTime()) / 1000 : 0);
    },
    [pending, age],
  );
}
