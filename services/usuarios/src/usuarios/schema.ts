import { outboxTable, TIPOS_USUARIO, type TipoUsuario } from '@servicios/platform';
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  pgTable,
  primaryKey,
  smallint,
  timestamp,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/pg-core';

export { TIPOS_USUARIO, type TipoUsuario };

/**
 * Searched by `?search=`: one trigram-indexed expression instead of three ILIKE scans, without case
 * and without accents (`jose` finds `José`): decomposed (NFD), combining marks removed, lower-cased.
 * Built-in immutable functions only, so it needs no extension (PGlite and Cloud SQL alike); `sinAcentos`
 * in repository.ts does the same to the search terms.
 */
export const busqueda = sql`lower(regexp_replace(normalize(nombre || ' ' || apellido || ' ' || email, NFD), '[\\u0300-\\u036f]', '', 'g'))`;

// Django's `app_model` table naming, so the data of the old design can stay where it is.
export const usuarios = pgTable(
  'usuarios_usuario',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    email: varchar('email', { length: 254 }).notNull(),
    nombre: varchar('nombre', { length: 150 }).notNull(),
    apellido: varchar('apellido', { length: 150 }).notNull(),
    telefono: varchar('telefono', { length: 20 }).notNull().default(''),
    tipo_usuario: varchar('tipo_usuario', { length: 20 }).$type<TipoUsuario>().notNull().default('cliente'),
    activo: boolean('activo').notNull().default(true),
    // Django's field: the encoded argon2id hash (never the password). '' for rows from before passwords
    // existed: no password verifies against it.
    password: varchar('password', { length: 128 }).notNull().default(''),
    fecha_creacion: timestamp('fecha_creacion', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    fecha_actualizacion: timestamp('fecha_actualizacion', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    // Uniqueness regardless of case lives in the database, so concurrent creations cannot both win.
    uniqueIndex('usuarios_usuario_email_lower_uniq').on(sql`lower(${t.email})`),
    check(
      'usuarios_usuario_tipo_usuario_check',
      sql`${t.tipo_usuario} IN ('cliente', 'empleado', 'administrador')`,
    ),
    check('usuarios_usuario_nombre_check', sql`btrim(${t.nombre}) <> '' AND btrim(${t.apellido}) <> ''`),
    index('usuarios_usuario_creacion_idx').on(t.fecha_creacion.desc().nullsFirst(), t.id.desc().nullsFirst()),
    // fastupdate off: a new row goes straight into the index instead of a pending list that every
    // search scans linearly until VACUUM (15,000 pending rows cut the search's count from 3,200/s to 820/s).
    index('usuarios_usuario_busqueda_trgm_idx')
      .using('gin', sql`${busqueda} gin_trgm_ops`)
      .with({ fastupdate: false }),
  ],
);

/**
 * Exact counts per (activo, tipo_usuario), kept by triggers in the writing transaction (migration
 * 0002) so that a list's `count` sums at most 2 × 3 × 16 small rows instead of COUNT(*) over the
 * table. Spread over slots (by backend) so that concurrent writers do not queue on one row lock.
 */
export const conteoUsuarios = pgTable(
  'usuarios_conteo',
  {
    activo: boolean('activo').notNull(),
    tipo_usuario: varchar('tipo_usuario', { length: 20 }).$type<TipoUsuario>().notNull(),
    slot: smallint('slot').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.activo, t.tipo_usuario, t.slot] })],
);

/** The events of this service, written with each change and published by the relay (CONTRACT §6). */
export const eventos = outboxTable('usuarios_outbox');

export type Usuario = typeof usuarios.$inferSelect;
export type NuevoUsuario = typeof usuarios.$inferInsert;
