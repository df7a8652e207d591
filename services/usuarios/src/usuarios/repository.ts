import { type Db, databaseError, orderBy, pageWhere, splitCount, ValidationError } from '@servicios/platform';
import { and, eq, type SQL, sql } from 'drizzle-orm';
import { busqueda, conteoUsuarios, type NuevoUsuario, type TipoUsuario, usuarios } from './schema.js';

export type OrdenUsuario = 'email' | 'nombre' | 'apellido' | 'fecha_creacion';

export interface FiltroUsuarios {
  activo?: boolean;
  tipo_usuario?: TipoUsuario;
  search?: string;
  ordering?: { field: OrdenUsuario; descending: boolean }[];
}

const RECIENTES = { field: 'fecha_creacion', descending: true } as const;

const columnas = {
  id: usuarios.id,
  email: usuarios.email,
  nombre: usuarios.nombre,
  apellido: usuarios.apellido,
  nombre_completo: sql<string>`${usuarios.nombre} || ' ' || ${usuarios.apellido}`.as('nombre_completo'),
  telefono: usuarios.telefono,
  tipo_usuario: usuarios.tipo_usuario,
  activo: usuarios.activo,
  fecha_creacion: usuarios.fecha_creacion,
  fecha_actualizacion: usuarios.fecha_actualizacion,
};

const EMAIL_UNICO = 'usuarios_usuario_email_lower_uniq';

/** The database's unique index is the referee of e-mail uniqueness; this turns its verdict into DRF's 400. */
function emailDuplicado(err: unknown): never {
  if (databaseError(err)?.constraint === EMAIL_UNICO)
    throw new ValidationError({ email: ['Email ya existe'] });
  throw err;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function where(filtro: FiltroUsuarios): SQL | undefined {
  const conditions: SQL[] = [];
  if (filtro.activo !== undefined) conditions.push(eq(usuarios.activo, filtro.activo));
  if (filtro.tipo_usuario) conditions.push(eq(usuarios.tipo_usuario, filtro.tipo_usuario));
  // DRF's SearchFilter: every term must appear in some searched field.
  for (const term of filtro.search?.split(/[\s,]+/).filter(Boolean) ?? []) {
    conditions.push(sql`${busqueda} LIKE ${`%${escapeLike(term.toLowerCase())}%`}`);
  }
  return conditions.length ? and(...conditions) : undefined;
}

export function repositorioUsuarios(db: Db) {
  // The hottest query, prepared once per connection: PostgreSQL parses and plans it only once.
  const porId = db
    .select(columnas)
    .from(usuarios)
    .where(eq(usuarios.id, sql.placeholder('id')))
    .prepare('usuarios_obtener');
  /**
   * The exact count of a list at a bounded cost: a search counts its matches through the trigram
   * index; otherwise the count is a sum over the counter rows kept by migration 0002's triggers.
   */
  function consultaConteo(filtro: FiltroUsuarios) {
    if (filtro.search?.split(/[\s,]+/).some(Boolean)) {
      return db.select({ n: sql<number>`count(*)::int` }).from(usuarios).where(where(filtro));
    }
    return db
      .select({ n: sql`coalesce(sum(${conteoUsuarios.n}), 0)::bigint`.mapWith(Number) })
      .from(conteoUsuarios)
      .where(
        and(
          filtro.activo !== undefined ? eq(conteoUsuarios.activo, filtro.activo) : undefined,
          filtro.tipo_usuario ? eq(conteoUsuarios.tipo_usuario, filtro.tipo_usuario) : undefined,
        ),
      );
  }

  return {
    async contar(filtro: FiltroUsuarios): Promise<number> {
      const [row] = await consultaConteo(filtro);
      return row?.n ?? 0;
    },

    /** One page and the list's count, in one statement (see `paginate`). */
    async pagina(filtro: FiltroUsuarios, limit: number, offset: number) {
      const order = orderBy(filtro.ordering, usuarios, RECIENTES, usuarios.id);
      const page = { table: usuarios, id: usuarios.id, where: where(filtro), order };
      const rows = await db
        .select({ ...columnas, total: sql`(${consultaConteo(filtro)})`.mapWith(Number) })
        .from(usuarios)
        .where(pageWhere(db, page, limit, offset))
        .orderBy(...order)
        .limit(limit);
      return splitCount(rows);
    },

    async obtener(id: number) {
      const [row] = await porId.execute({ id });
      return row;
    },

    async crear(datos: NuevoUsuario) {
      const [row] = await db.insert(usuarios).values(datos).returning(columnas).catch(emailDuplicado);
      return row;
    },

    async actualizar(id: number, cambios: Partial<NuevoUsuario>) {
      const [row] = await db
        .update(usuarios)
        .set({ ...cambios, fecha_actualizacion: sql`now()` })
        .where(eq(usuarios.id, id))
        .returning(columnas)
        .catch(emailDuplicado);
      return row;
    },
  };
}

export type RepositorioUsuarios = ReturnType<typeof repositorioUsuarios>;
