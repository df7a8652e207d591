import { sql } from 'drizzle-orm';
import { bigint, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { usuarios } from '../usuarios/schema.js';

/**
 * One row per login (a refresh-token family, CONTRACT §5.2): `jti` is the one refresh token of the
 * family that may still be used. Rotation replaces it in one conditional UPDATE, so of two uses of
 * the same token one wins and the other is a reuse, which revokes the family. Rows go once expired.
 */
export const sesiones = pgTable(
  'usuarios_sesion',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    usuario_id: bigint('usuario_id', { mode: 'number' })
      .notNull()
      .references(() => usuarios.id, { onDelete: 'cascade' }),
    jti: uuid('jti').notNull(),
    expira: timestamp('expira', { withTimezone: true, mode: 'date' }).notNull(),
    revocada: timestamp('revocada', { withTimezone: true, mode: 'date' }),
    creada: timestamp('creada', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('usuarios_sesion_usuario_idx').on(t.usuario_id),
    index('usuarios_sesion_expira_idx').on(t.expira),
  ],
);

/**
 * Login and registration throttling across instances (CONTRACT §5.5): per key (`login:<address>:<email>`,
 * `login-ip:<address>`, `registro:<address>`) the instants of the attempts still inside the window, at
 * most the limit. One row per key, changed by one locking upsert: concurrent attempts cannot overshoot.
 */
export const limites = pgTable(
  'usuarios_limite',
  {
    clave: text('clave').primaryKey(),
    marcas: timestamp('marcas', { withTimezone: true, mode: 'date' }).array().notNull().default(sql`'{}'`),
    expira: timestamp('expira', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('usuarios_limite_expira_idx').on(t.expira)],
);
