import { is, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  json,
  type PgColumn,
  PgTimestamp,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Db } from '../database.js';
import { activeTraceparent } from '../telemetry/index.js';

/**
 * A service's transactional outbox (CONTRACT §6): each event is a row written by the same statement
 * as the change it reports, so a rollback leaves no event and a commit never loses one. The relay
 * publishes the rows and deletes them; `reclamada_hasta` is its lease on a row while it publishes.
 */
export function outboxTable(name: string) {
  return pgTable(
    name,
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      ce_id: uuid('ce_id').notNull().defaultRandom(),
      tipo: text('tipo').notNull(),
      sujeto: text('sujeto').notNull(),
      // json, not jsonb: the payload keeps the field order and the exact text of the API's answer.
      datos: json('datos').notNull(),
      tiempo: timestamp('tiempo', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
      traceparent: text('traceparent'),
      intentos: integer('intentos').notNull().default(0),
      reclamada_hasta: timestamp('reclamada_hasta', { withTimezone: true, mode: 'date' }),
    },
    (t) => [index(`${name}_sujeto_idx`).on(t.sujeto, t.id)],
  );
}
export type OutboxTable = ReturnType<typeof outboxTable>;

/** An event of a change: its CloudEvents type and its subject (`usuarios/<id>`), read off the changed row. */
export interface Evento {
  tipo: string;
  /** Prefix of the subject; the row's `id` completes it. */
  sujeto: string;
  /** Fields added to the payload after the resource's own (e.g. `motivo`); SQL may read the row as `fila`. */
  extra?: Record<string, string | SQL>;
}

// biome-ignore lint/suspicious/noExplicitAny: a selection of columns and aliased SQL of any resource.
type Selection = Record<string, any>;

/** `2026-12-24T20:30:00.000Z`: what the API writes for a date (JavaScript's toISOString), in SQL. */
const isoUtc = (column: SQL) => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The changed row as the API shows it, as JSON built by PostgreSQL from the CTE `fila`. */
function payload(selection: Selection, extra: Record<string, string | SQL> = {}): SQL {
  const pairs: SQL[] = Object.keys(selection).map((key) => {
    const column = sql`fila.${sql.identifier(key)}`;
    const value = is(selection[key], PgTimestamp) ? isoUtc(column) : column;
    return sql`${key}::text, ${value}`;
  });
  for (const [key, value] of Object.entries(extra)) pairs.push(sql`${key}::text, ${value}::text`);
  return sql`json_build_object(${sql.join(pairs, sql`, `)})`;
}

/**
 * Runs a write (`INSERT/UPDATE/DELETE … RETURNING selection`) and records one event per row it
 * returns, in one statement: `WITH fila AS (write), evento AS (INSERT INTO outbox … FROM fila)
 * SELECT * FROM fila`. The rows come back mapped as the write's own RETURNING would.
 */
export function withEvent<S extends Selection>(
  db: Db,
  outbox: OutboxTable,
  write: SQLWrapper,
  selection: S,
  event: Evento,
): Promise<
  {
    [K in keyof S]: S[K] extends PgColumn
      ? S[K]['_']['data']
      : S[K] extends SQL.Aliased<infer T>
        ? T
        : unknown;
  }[]
> {
  const fila = db.$with('fila', selection).as(write as never);
  const evento = db.$with('evento').as(
    // The trace of the change travels with its event (telemetry/): the publish and the consumer join it.
    sql`INSERT INTO ${outbox} (tipo, sujeto, datos, traceparent) SELECT ${event.tipo}, ${event.sujeto} || fila.id, ${payload(selection, event.extra)}, ${activeTraceparent() ?? null} FROM fila` as never,
  );
  return db
    .with(fila, evento)
    .select()
    .from(fila as never) as never;
}
