import { asc, desc, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { JsonSchema, OrderTerm } from './validation.js';

/** Response schemas every resource uses; fast-json-stringify serializes by them. */
export const schemas = {
  dateTime: { type: 'string', format: 'date-time' },
  /** `{"detail": ...}` or a field-error object. */
  problem: { type: 'object', additionalProperties: true },
  noContent: { type: 'null' },
};

/** An object schema whose every property is always present, in the order given (the wire order). */
export function record(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties) };
}

/**
 * ORDER BY for DRF's `?ordering=`, or `fallback` when absent. The primary key breaks ties so that
 * pages are stable: no row is seen twice or skipped between pages.
 */
export function orderBy<T extends string>(
  terms: OrderTerm<T>[] | undefined,
  columns: Record<T, PgColumn>,
  fallback: OrderTerm<T>,
  id: PgColumn,
): SQL[] {
  const chosen = terms?.length ? terms : [fallback];
  const order = chosen.map((t) => (t.descending ? desc(columns[t.field]) : asc(columns[t.field])));
  return [...order, chosen[0]?.descending ? desc(id) : asc(id)];
}
