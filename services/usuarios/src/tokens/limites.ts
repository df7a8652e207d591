import type { Db } from '@servicios/platform';
import { inArray, lt, sql } from 'drizzle-orm';
import { limites } from './schema.js';

export interface Limite {
  clave: string;
  maximo: number;
  ventanaS: number;
}

type Filas<T> = { rows: T[] };

/**
 * Counts attempts in PostgreSQL, so that every instance sees the same counts (CONTRACT §5.5): a
 * sliding window per key, kept as the instants of the attempts still inside it.
 */
export function repositorioLimites(db: Db) {
  /**
   * Adds an attempt to the key unless it is full, in one upsert that locks the key's row: two
   * concurrent attempts are counted one after the other, never both against the same count.
   */
  async function anotar(tx: Db, { clave, maximo, ventanaS }: Limite): Promise<boolean> {
    const ventana = sql`make_interval(secs => ${ventanaS})`;
    const { rows } = (await tx.execute(sql`
      INSERT INTO ${limites} AS l (clave, marcas, expira)
      VALUES (${clave}, ARRAY[now()], now() + ${ventana})
      ON CONFLICT (clave) DO UPDATE
        SET marcas = ARRAY(SELECT m FROM unnest(l.marcas) m WHERE m > now() - ${ventana}) || now(),
            expira = now() + ${ventana}
        WHERE (SELECT count(*) FROM unnest(l.marcas) m WHERE m > now() - ${ventana}) < ${maximo}
      RETURNING 1 AS ok`)) as Filas<{ ok: number }>;
    return rows.length === 1;
  }

  /** Whole seconds until the oldest attempt still counted leaves the key's window. */
  async function espera(tx: Db, { clave, ventanaS }: Limite): Promise<number> {
    const { rows } = (await tx.execute(sql`
      SELECT ceil(extract(epoch FROM min(m) + make_interval(secs => ${ventanaS}) - now()))::int AS s
        FROM ${limites}, unnest(marcas) m
       WHERE clave = ${clave} AND m > now() - make_interval(secs => ${ventanaS})`)) as Filas<{
      s: number | null;
    }>;
    return Math.max(1, rows[0]?.s ?? 1);
  }

  return {
    /**
     * Counts one attempt against every limit, or against none: when one is full nothing is counted
     * (a refused request is no attempt) and the answer is the seconds to wait.
     */
    async intentar(limitesDelIntento: Limite[]): Promise<{ ok: true } | { ok: false; esperaS: number }> {
      try {
        return await db.transaction(async (trx) => {
          const tx = trx as unknown as Db;
          for (const limite of limitesDelIntento) {
            // Throwing rolls back the attempts already counted in this transaction.
            if (!(await anotar(tx, limite))) throw new Lleno(await espera(tx, limite));
          }
          return { ok: true } as const;
        });
      } catch (err) {
        if (err instanceof Lleno) return { ok: false, esperaS: err.esperaS };
        throw err;
      }
    },

    /** Takes back the last attempt counted on each key: a request refused after all (503) is no attempt. */
    async devolver(claves: string[]): Promise<void> {
      await db
        .update(limites)
        .set({ marcas: sql`${limites.marcas}[1:cardinality(${limites.marcas}) - 1]` })
        .where(inArray(limites.clave, claves));
    },

    /** A successful login clears its e-mail+address count. */
    async olvidar(clave: string): Promise<void> {
      await db.delete(limites).where(sql`${limites.clave} = ${clave}`);
    },

    /** Keys whose every attempt has left its window: the table stays as large as the recent traffic. */
    async limpiar(): Promise<void> {
      await db.delete(limites).where(lt(limites.expira, sql`now()`));
    },
  };
}

class Lleno extends Error {
  constructor(readonly esperaS: number) {
    super('throttled');
  }
}
