import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, integer, pgTable, timestamp, varchar } from 'drizzle-orm/pg-core';

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

export type Reserva = typeof reservas.$inferSelect;
export type NuevaReserva = typeof reservas.$inferInsert;
