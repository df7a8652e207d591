import { outboxTable } from '@servicios/platform';
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  date,
  index,
  integer,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  varchar,
} from 'drizzle-orm/pg-core';

export const ESTADOS = ['pendiente', 'confirmada', 'cancelada', 'completada'] as const;
export type Estado = (typeof ESTADOS)[number];

export const reservas = pgTable(
  'reservas_reserva',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // The user lives in servicio-usuarios: a plain number, no cross-service foreign key.
    usuario_id: bigint('usuario_id', { mode: 'number' }).notNull(),
    fecha_reserva: timestamp('fecha_reserva', { withTimezone: true, mode: 'date' }).notNull(),
    numero_personas: integer('numero_personas').notNull(),
    estado: varchar('estado', { length: 20 }).$type<Estado>().notNull().default('pendiente'),
    notas: varchar('notas', { length: 500 }).notNull().default(''),
    fecha_creacion: timestamp('fecha_creacion', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    fecha_actualizacion: timestamp('fecha_actualizacion', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    // The database refuses what the API refuses, whoever writes to the table.
    check(
      'reservas_reserva_estado_check',
      sql`${t.estado} IN ('pendiente', 'confirmada', 'cancelada', 'completada')`,
    ),
    check('reservas_reserva_numero_personas_check', sql`${t.numero_personas} BETWEEN 1 AND 50`),
    check('reservas_reserva_usuario_id_check', sql`${t.usuario_id} >= 1`),
    index('reservas_reserva_creacion_idx').on(t.fecha_creacion.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('reservas_reserva_usuario_idx').on(
      t.usuario_id,
      t.fecha_creacion.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index('reservas_reserva_estado_fecha_idx').on(t.estado, t.fecha_reserva),
    index('reservas_reserva_fecha_idx').on(t.fecha_reserva),
  ],
);

/**
 * Exact counts kept by triggers in the writing transaction (migration 0002), so that a list's
 * `count` is a sum over a few small rows instead of COUNT(*) over the table. Per estado and UTC day
 * of fecha_reserva: a date range sums its whole days here and counts its two partial days by index.
 */
export const conteoPorDia = pgTable(
  'reservas_conteo_dia',
  {
    estado: varchar('estado', { length: 20 }).$type<Estado>().notNull(),
    dia: date('dia', { mode: 'string' }).notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.estado, t.dia] })],
);

/**
 * Per estado, spread over a few slots (by backend) so that concurrent writers do not queue on one
 * row lock: the unfiltered count is the sum of at most 4 × 16 rows.
 */
export const conteoTotal = pgTable(
  'reservas_conteo_total',
  {
    estado: varchar('estado', { length: 20 }).$type<Estado>().notNull(),
    slot: smallint('slot').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.estado, t.slot] })],
);

/** The events of this service, written with each change and published by the relay (CONTRACT §6). */
export const eventos = outboxTable('reservas_outbox');

/**
 * The `ce-id`s of the events already processed, so that a redelivery changes nothing (delivery is at
 * least once). Kept 8 days, past Pub/Sub's 7 days of retention: the table stays bounded.
 */
export const recibidos = pgTable(
  'reservas_evento_recibido',
  {
    ce_id: text('ce_id').primaryKey(),
    recibido: timestamp('recibido', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('reservas_evento_recibido_idx').on(t.recibido)],
);

export type Reserva = typeof reservas.$inferSelect;
export type NuevaReserva = typeof reservas.$inferInsert;
