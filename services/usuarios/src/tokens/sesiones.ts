import type { Db, TipoUsuario } from '@servicios/platform';
import { and, eq, gt, isNull, lt, ne, sql } from 'drizzle-orm';
import { usuarios } from '../usuarios/schema.js';
import { sesiones } from './schema.js';

/** Refresh-token families: one row per login, holding the one refresh token that may still be used. */
export function repositorioSesiones(db: Db) {
  const vigente = and(isNull(sesiones.revocada), gt(sesiones.expira, sql`now()`));
  return {
    async abrir(usuarioId: number, jti: string, expira: Date): Promise<string> {
      const [fila] = await db
        .insert(sesiones)
        .values({ usuario_id: usuarioId, jti, expira })
        .returning({ id: sesiones.id });
      if (!fila) throw new Error('the session insert returned no row');
      return fila.id;
    },

    /**
     * Rotation: the presented token (`jti`) is replaced by `nuevoJti` only if it is still the family's
     * current one, the family is alive and the user active, in one UPDATE. Otherwise, if the family is
     * alive but has moved on, the token was already used: a replay or a theft, and the whole family is
     * revoked. Of two concurrent rotations with one token, the second sees the first's new jti.
     */
    async rotar(
      id: string,
      jti: string,
      nuevoJti: string,
      expira: Date,
    ): Promise<{ usuarioId: number; tipo: TipoUsuario } | undefined> {
      const [rotada] = await db
        .update(sesiones)
        .set({ jti: nuevoJti, expira })
        .from(usuarios)
        .where(
          and(
            eq(sesiones.id, id),
            eq(sesiones.jti, jti),
            vigente,
            eq(usuarios.id, sesiones.usuario_id),
            eq(usuarios.activo, true),
          ),
        )
        .returning({ usuarioId: usuarios.id, tipo: usuarios.tipo_usuario });
      if (rotada) return rotada;
      await db
        .update(sesiones)
        .set({ revocada: sql`now()` })
        .where(and(eq(sesiones.id, id), ne(sesiones.jti, jti), isNull(sesiones.revocada)));
      return undefined;
    },

    /** Whether `jti` is still the usable refresh token of its family (verify). */
    async usable(id: string, jti: string): Promise<boolean> {
      const filas = await db
        .select({ id: sesiones.id })
        .from(sesiones)
        .where(and(eq(sesiones.id, id), eq(sesiones.jti, jti), vigente));
      return filas.length === 1;
    },

    /** Logout: the family ends, whichever of its tokens is presented (idempotent). */
    async revocar(id: string): Promise<void> {
      await db
        .update(sesiones)
        .set({ revocada: sql`now()` })
        .where(and(eq(sesiones.id, id), isNull(sesiones.revocada)));
    },

    /** Expired families verify nothing any more: they go, so the table stays bounded. */
    async limpiar(): Promise<void> {
      await db.delete(sesiones).where(lt(sesiones.expira, sql`now()`));
    },
  };
}
