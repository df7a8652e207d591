import { type Db, type OrderTerm, orderBy } from '@servicios/platform';
import { and, eq, gte, inArray, lte, type SQL, sql } from 'drizzle-orm';
import { type Estado, type NuevaReserva, reservas } from './schema.js';

export type OrdenReserva = 'fecha_reserva' | 'fecha_creacion' | 'numero_personas';

export interface FiltroReservas {
  estado?: Estado;
  usuario_id?: number;
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
  if (filtro.fecha_desde) conditions.push(gte(reservas.fecha_reserva, filtro.fecha_desde));
  if (filtro.fecha_hasta) conditions.push(lte(reservas.fecha_reserva, filtro.fecha_hasta));
  return conditions.length ? and(...conditions) : undefined;
}

export function repositorioReservas(db: Db) {
  return {
    async contar(filtro: FiltroReservas): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(reservas).where(where(filtro));
      return row?.n ?? 0;
    },

    listar(filtro: FiltroReservas, limit: number, offset: number) {
      return db
        .select(columnas)
        .from(reservas)
        .where(where(filtro))
        .orderBy(...orderBy(filtro.ordering, reservas, RECIENTES, reservas.id))
        .limit(limit)
        .offset(offset);
    },

    async obtener(id: number) {
      const [row] = await db.select(columnas).from(reservas).where(eq(reservas.id, id));
      return row;
    },

    async crear(datos: NuevaReserva) {
      const [row] = await db.insert(reservas).values(datos).returning(columnas);
      return row;
    },

    /** Changes the fields only while the reservation is editable, in one statement: no read-then-write race. */
    async actualizarSiEditable(id: number, cambios: Partial<NuevaReserva>) {
      const [row] = await db
        .update(reservas)
        .set({ ...cambios, fecha_actualizacion: sql`now()` })
        .where(and(eq(reservas.id, id), inArray(reservas.estado, [...EDITABLES])))
        .returning(columnas);
      return row;
    },

    /**
     * One conditional UPDATE: of two racing transitions on a row, the second sees the first's
     * result (PostgreSQL re-checks the WHERE clause on the updated row), so the answers and the
     * stored state always agree with some serial order.
     */
    async transicion(id: number, accion: Accion) {
      const { desde, hacia } = TRANSICIONES[accion];
      const [row] = await db
        .update(reservas)
        .set({ estado: hacia, fecha_actualizacion: sql`now()` })
        .where(and(eq(reservas.id, id), inArray(reservas.estado, [...desde])))
        .returning(columnas);
      return row;
    },

    async eliminar(id: number): Promise<boolean> {
      const rows = await db.delete(reservas).where(eq(reservas.id, id)).returning({ id: reservas.id });
      return rows.length > 0;
    },
  };
}
