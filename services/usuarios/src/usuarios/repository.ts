import {
  type Db,
  databaseError,
  HttpError,
  orderBy,
  pageWhere,
  splitCount,
  ValidationError,
  withEvent,
} from '@servicios/platform';
import { and, asc, eq, isNull, not, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { sesiones } from '../tokens/schema.js';
import {
  busqueda,
  conteoUsuarios,
  eventos,
  type NuevoUsuario,
  type TipoUsuario,
  usuarios,
} from './schema.js';

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

/** What happened to a user (CONTRACT §6): `servicios.usuarios.v1.usuario.<evento>`. */
export const EVENTOS_USUARIO = [
  'creado',
  'actualizado',
  'activado',
  'desactivado',
  'password_cambiado',
] as const;
export type EventoUsuario = (typeof EVENTOS_USUARIO)[number];

/**
 * A write and its event in one statement: the event's data is the user as the API shows it then,
 * built from the same columns (never the password or its hash).
 */
function conEvento(db: Db, escritura: SQLWrapper, evento: EventoUsuario) {
  return withEvent(db, eventos, escritura, columnas, {
    tipo: `servicios.usuarios.v1.usuario.${evento}`,
    sujeto: 'usuarios/',
  });
}

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

/** A search term as `busqueda` (schema.ts) holds the text: decomposed, without combining marks, lower-case. */
export function sinAcentos(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

export const ULTIMO_ADMIN = 'No se puede dejar el sistema sin un administrador activo.';

/** Cambios that may leave the system without an active administrador (CONTRACT §5.4). */
function quitaAdministrador(cambios: Partial<NuevoUsuario>): boolean {
  return (
    cambios.activo === false ||
    (cambios.tipo_usuario !== undefined && cambios.tipo_usuario !== 'administrador')
  );
}

function where(filtro: FiltroUsuarios): SQL | undefined {
  const conditions: SQL[] = [];
  if (filtro.activo !== undefined) conditions.push(eq(usuarios.activo, filtro.activo));
  if (filtro.tipo_usuario) conditions.push(eq(usuarios.tipo_usuario, filtro.tipo_usuario));
  // DRF's SearchFilter: every term must appear in some searched field.
  for (const term of filtro.search?.split(/[\s,]+/).filter(Boolean) ?? []) {
    conditions.push(sql`${busqueda} LIKE ${`%${escapeLike(sinAcentos(term))}%`}`);
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
  // Login: the e-mail without case, as the unique index sees it.
  const porEmail = db
    .select({
      id: usuarios.id,
      password: usuarios.password,
      activo: usuarios.activo,
      tipo_usuario: usuarios.tipo_usuario,
    })
    .from(usuarios)
    .where(eq(sql`lower(${usuarios.email})`, sql`lower(${sql.placeholder('email')})`))
    .prepare('usuarios_credenciales');
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

  /** Revokes every refresh-token family of the user. */
  async function cerrarSesiones(id: number): Promise<void> {
    await db
      .update(sesiones)
      .set({ revocada: sql`now()` })
      .where(and(eq(sesiones.usuario_id, id), isNull(sesiones.revocada)));
  }

  /**
   * Changes a user; undefined if there is none. A change that would leave no active administrador
   * is a 409: when it touches an active administrador, every active administrador row is locked (in
   * id order, so that two such changes queue instead of deadlocking) and counted before it is made,
   * so two administrators deactivating each other at once cannot both succeed.
   */
  async function actualizarGuardandoAdmin(id: number, cambios: Partial<NuevoUsuario>, evento: EventoUsuario) {
    const cambiar = (tx: Db, condicion?: SQL) =>
      conEvento(
        tx,
        tx
          .update(usuarios)
          .set({ ...cambios, fecha_actualizacion: sql`now()` })
          .where(and(eq(usuarios.id, id), condicion))
          .returning(columnas),
        evento,
      ).catch(emailDuplicado);
    if (!quitaAdministrador(cambios)) return (await cambiar(db))[0];
    const esAdminActivo = sql`${usuarios.tipo_usuario} = 'administrador' AND ${usuarios.activo}`;
    // Most such changes touch no active administrador: one statement, which matches nothing if it does.
    const [directo] = await cambiar(db, not(esAdminActivo));
    if (directo) return directo;
    return db.transaction(async (trx) => {
      const tx = trx as unknown as Db;
      const admins = await tx
        .select({ id: usuarios.id })
        .from(usuarios)
        .where(esAdminActivo)
        .orderBy(asc(usuarios.id))
        .for('update');
      if (admins.some((a) => a.id === id) && admins.length < 2) throw new HttpError(409, ULTIMO_ADMIN);
      return (await cambiar(tx))[0];
    });
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

    async credenciales(email: string) {
      const [row] = await porEmail.execute({ email });
      return row;
    },

    /** A new user; undefined when `siNoExiste` and the e-mail is taken (the bootstrap's administrator). */
    async crear(datos: NuevoUsuario, opciones: { siNoExiste?: boolean } = {}) {
      const insertar = db.insert(usuarios).values(datos);
      // The only unique index besides the primary key is lower(email): a conflict is "that e-mail exists".
      const escritura = (opciones.siNoExiste ? insertar.onConflictDoNothing() : insertar).returning(columnas);
      const [row] = await conEvento(db, escritura, 'creado').catch(emailDuplicado);
      return row;
    },

    /**
     * Changes a user; undefined if there is none. A change that would leave no active administrador
     * is a 409: when it touches an active administrador, every active administrador row is locked (in
     * id order, so that two such changes queue instead of deadlocking) and counted before it is made,
     * so two administrators deactivating each other at once cannot both succeed.
     */
    async actualizar(id: number, cambios: Partial<NuevoUsuario>, evento: EventoUsuario = 'actualizado') {
      const fila = await actualizarGuardandoAdmin(id, cambios, evento);
      // A deactivated user's logins end: a reactivation must not bring old refresh tokens back.
      if (fila && cambios.activo === false) await cerrarSesiones(id);
      return fila;
    },

    /** A new password hash; every login of the user ends (CONTRACT §5.1). False if there is no such user. */
    async cambiarPassword(id: number, hash: string): Promise<boolean> {
      const cambiado = await conEvento(
        db,
        db
          .update(usuarios)
          .set({ password: hash, fecha_actualizacion: sql`now()` })
          .where(eq(usuarios.id, id))
          .returning(columnas),
        'password_cambiado',
      );
      if (cambiado.length === 0) return false;
      await cerrarSesiones(id);
      return true;
    },

    /** The user's stored hash, for a password change that must prove the current one. */
    async hash(id: number): Promise<string | undefined> {
      const [row] = await db
        .select({ password: usuarios.password })
        .from(usuarios)
        .where(eq(usuarios.id, id));
      return row?.password;
    },
  };
}

export type RepositorioUsuarios = ReturnType<typeof repositorioUsuarios>;
