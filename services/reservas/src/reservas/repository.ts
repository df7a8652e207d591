import { type Db, type OrderTerm, orderBy, pageWhere, splitCount, withEvent } from '@servicios/platform';
import { and, eq, gt, gte, inArray, lt, lte, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import {
  conteoPorDia,
  conteoTotal,
  type Estado,
  eventos,
  type NuevaReserva,
  recibidos,
  reservas,
} from './schema.js';

export type OrdenReserva = 'fecha_reserva' | 'fecha_creacion' | 'numero_personas';

export interface FiltroReservas {
  estado?: Estado;
  usuario_id?: number;
  /** A cliente sees only its own reservations: the list is restricted to this holder, count included. */
  titular?: number;
  fecha_desde?: Date;
  fecha_hasta?: Date;
  ordering?: OrderTerm<OrdenReserva>[];
}

/** The only transitions of the state machine (CONTRACT §3), each from its allowed source states. */
export const TRANSICIONES = {
  confirmar: { desde: ['pendiente'], hacia: 'confirmada' },
  cancelar: { desde: ['pendiente', 'confirmada'], hacia: 'cancelada' },
  completar: { desde: ['confirmada'], hacia: 'completada' },
} as const satisfies Record<string, { desde: readonly Estado[]; hacia: Estado }>;

/** What happened to a reservation (CONTRACT §6): `servicios.reservas.v1.reserva.<evento>`. */
export const EVENTOS_RESERVA = [
  'creada',
  'actualizada',
  'confirmada',
  'cancelada',
  'completada',
  'eliminada',
] as const;
export type EventoReserva = (typeof EVENTOS_RESERVA)[number];
/** Why a reservation was cancelled: by its holder, by staff, or because the holder was deactivated. */
export type Motivo = 'usuario' | 'personal' | 'usuario_desactivado';
export type Accion = keyof typeof TRANSICIONES;

/** Once cancelled or completed a reservation is history: its fields no longer change. */
export const EDITABLES: readonly Estado[] = ['pendiente', 'confirmada'];

const RECIENTES = { field: 'fecha_creacion', descending: true } as const;

const columnas = {
  id: reservas.id,
  usuario_id: reservas.usuario_id,
  fecha_reserva: reservas.fecha_reserva,
  numero_personas: reservas.numero_personas,
  estado: reservas.estado,
  notas: reservas.notas,
  fecha_creacion: reservas.fecha_creacion,
  fecha_actualizacion: reservas.fecha_actualizacion,
};

function where(filtro: FiltroReservas): SQL | undefined {
  const conditions: SQL[] = [];
  if (filtro.estado) conditions.push(eq(reservas.estado, filtro.estado));
  if (filtro.usuario_id !== undefined) conditions.push(eq(reservas.usuario_id, filtro.usuario_id));
  if (filtro.titular !== undefined) conditions.push(eq(reservas.usuario_id, filtro.titular));
  if (filtro.fecha_desde) conditions.push(gte(reservas.fecha_reserva, filtro.fecha_desde));
  if (filtro.fecha_hasta) conditions.push(lte(reservas.fecha_reserva, filtro.fecha_hasta));
  return conditions.length ? and(...conditions) : undefined;
}

/** A write and its event in one statement; the event's data is the reservation as the API shows it then. */
function conEvento(
  db: Db,
  escritura: SQLWrapper,
  evento: EventoReserva,
  extra?: Record<string, string | SQL>,
) {
  return withEvent(db, eventos, escritura, columnas, {
    tipo: `servicios.reservas.v1.reserva.${evento}`,
    sujeto: 'reservas/',
    extra,
  });
}

const delTitular = (titular?: number) =>
  titular === undefined ? undefined : eq(reservas.usuario_id, titular);

const DIA_MS = 86_400_000;
/** 9999-12-31, the last day a timestamptz parameter can name: a partial one is counted directly. */
const ULTIMO_DIA = Date.UTC(9999, 11, 31);
const dia = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** count(*) of the rows of one estado (or all) with fecha_reserva in [desde, hasta) or [desde, hasta]. */
function contarTramo(estado: Estado | undefined, desde: Date, hasta: Date, inclusivo: boolean): SQL {
  const condiciones = and(
    estado ? eq(reservas.estado, estado) : undefined,
    gte(reservas.fecha_reserva, desde),
    inclusivo ? lte(reservas.fecha_reserva, hasta) : lt(reservas.fecha_reserva, hasta),
  );
  return sql`(SELECT count(*) FROM ${reservas} WHERE ${condiciones})`;
}

export function repositorioReservas(db: Db) {
  // The hottest query, prepared once per connection: PostgreSQL parses and plans it only once.
  const porId = db
    .select(columnas)
    .from(reservas)
    .where(eq(reservas.id, sql.placeholder('id')))
    .prepare('reservas_obtener');
  /**
   * The exact count of a list, at a cost bounded whatever the table size: by usuario_id it is
   * COUNT(*) over that user's index entries; otherwise a sum over the counter tables kept by the
   * triggers of migration 0002, plus, for a date range, COUNT(*) by index over its (at most two)
   * partial UTC days.
   */
  function consultaConteo(filtro: FiltroReservas) {
    const { estado, fecha_desde: desde, fecha_hasta: hasta } = filtro;
    if (filtro.usuario_id !== undefined || filtro.titular !== undefined) {
      return db.select({ n: sql<number>`count(*)::int` }).from(reservas).where(where(filtro));
    }
    if (!desde && !hasta) {
      return db
        .select({ n: sql`coalesce(sum(${conteoTotal.n}), 0)::bigint`.mapWith(Number) })
        .from(conteoTotal)
        .where(estado ? eq(conteoTotal.estado, estado) : undefined);
    }
    // Whole UTC days inside the range come from the counters: [primero, fin) in milliseconds.
    const primero = desde ? Math.ceil(desde.getTime() / DIA_MS) * DIA_MS : undefined;
    const fin = hasta ? Math.floor(hasta.getTime() / DIA_MS) * DIA_MS : undefined;
    if ((primero !== undefined && fin !== undefined && primero >= fin) || (primero ?? 0) > ULTIMO_DIA) {
      // Less than one whole day (or the last day PostgreSQL can hold): the index counts it directly.
      return db.select({ n: sql<number>`count(*)::int` }).from(reservas).where(where(filtro));
    }
    const parcialInicio =
      desde && primero !== undefined && desde.getTime() < primero
        ? contarTramo(estado, desde, new Date(primero), false)
        : sql`0`;
    const parcialFin = hasta && fin !== undefined ? contarTramo(estado, new Date(fin), hasta, true) : sql`0`;
    return db
      .select({
        n: sql`(coalesce(sum(${conteoPorDia.n}), 0) + ${parcialInicio} + ${parcialFin})::bigint`.mapWith(
          Number,
        ),
      })
      .from(conteoPorDia)
      .where(
        and(
          estado ? eq(conteoPorDia.estado, estado) : undefined,
          primero !== undefined ? gte(conteoPorDia.dia, dia(primero)) : undefined,
          fin !== undefined ? lt(conteoPorDia.dia, dia(fin)) : undefined,
        ),
      );
  }

  return {
    async contar(filtro: FiltroReservas): Promise<number> {
      const [row] = await consultaConteo(filtro);
      return row?.n ?? 0;
    },

    /** One page and the list's count, in one statement (see `paginate`). */
    async pagina(filtro: FiltroReservas, limit: number, offset: number) {
      const order = orderBy(filtro.ordering, reservas, RECIENTES, reservas.id);
      const page = { table: reservas, id: reservas.id, where: where(filtro), order };
      const rows = await db
        .select({ ...columnas, total: sql`(${consultaConteo(filtro)})`.mapWith(Number) })
        .from(reservas)
        .where(pageWhere(db, page, limit, offset))
        .orderBy(...order)
        .limit(limit);
      return splitCount(rows);
    },

    async obtener(id: number) {
      const [row] = await porId.execute({ id });
      return row;
    },

    async crear(datos: NuevaReserva) {
      const [row] = await conEvento(db, db.insert(reservas).values(datos).returning(columnas), 'creada');
      return row;
    },

    /**
     * Changes the fields only while the reservation is editable (and, given `titular`, still held by
     * them), in one statement: no read-then-write race.
     */
    async actualizarSiEditable(id: number, cambios: Partial<NuevaReserva>, titular?: number) {
      const [row] = await conEvento(
        db,
        db
          .update(reservas)
          .set({ ...cambios, fecha_actualizacion: sql`now()` })
          .where(and(eq(reservas.id, id), inArray(reservas.estado, [...EDITABLES]), delTitular(titular)))
          .returning(columnas),
        'actualizada',
      );
      return row;
    },

    /**
     * One conditional UPDATE: of two racing transitions on a row, the second sees the first's
     * result (PostgreSQL re-checks the WHERE clause on the updated row), so the answers and the
     * stored state always agree with some serial order.
     */
    async transicion(id: number, accion: Accion, quien: { id: number; titular?: number }) {
      const { desde, hacia } = TRANSICIONES[accion];
      // A cancellation says who made it: the holder, or staff on someone else's reservation.
      const motivo =
        accion === 'cancelar'
          ? { motivo: sql`CASE WHEN fila.usuario_id = ${quien.id} THEN 'usuario' ELSE 'personal' END` }
          : undefined;
      const [row] = await conEvento(
        db,
        db
          .update(reservas)
          .set({ estado: hacia, fecha_actualizacion: sql`now()` })
          .where(and(eq(reservas.id, id), inArray(reservas.estado, [...desde]), delTitular(quien.titular)))
          .returning(columnas),
        hacia,
        motivo,
      );
      return row;
    },

    async eliminar(id: number): Promise<boolean> {
      const rows = await conEvento(
        db,
        db.delete(reservas).where(eq(reservas.id, id)).returning(columnas),
        'eliminada',
      );
      return rows.length > 0;
    },

    /**
     * `usuario.desactivado` (CONTRACT §6), in one transaction: the event's id is recorded (a
     * redelivery finds it and changes nothing) and every pendiente or confirmada reservation of the
     * user after the deactivation's instant is cancelled, each with its `reserva.cancelada` event.
     * Answers how many were cancelled, or undefined for a duplicate.
     */
    async cancelarPorDesactivacion(evento: { id: string; usuarioId: number; desde: Date }) {
      return db.transaction(async (trx) => {
        const tx = trx as unknown as Db;
        const nuevo = await tx
          .insert(recibidos)
          .values({ ce_id: evento.id })
          .onConflictDoNothing()
          .returning();
        if (nuevo.length === 0) return undefined;
        const canceladas = await conEvento(
          tx,
          tx
            .update(reservas)
            .set({ estado: 'cancelada', fecha_actualizacion: sql`now()` })
            .where(
              and(
                eq(reservas.usuario_id, evento.usuarioId),
                inArray(reservas.estado, [...TRANSICIONES.cancelar.desde]),
                gt(reservas.fecha_reserva, evento.desde),
              ),
            )
            .returning(columnas),
          'cancelada',
          { motivo: 'usuario_desactivado' satisfies Motivo },
        );
        return canceladas.length;
      });
    },

    /** Processed event ids older than 8 days: no redelivery can come that late. */
    async olvidarRecibidos(): Promise<void> {
      await db.delete(recibidos).where(lt(recibidos.recibido, sql`now() - interval '8 days'`));
    },
  };
}
