import { type Db, fields } from '@servicios/platform';
import { and, eq } from 'drizzle-orm';
import type { Contrasenas } from './password.js';
import { repositorioUsuarios } from './repository.js';
import { usuarios } from './schema.js';
import { validarPassword } from './validar-password.js';

export interface NuevoAdministrador {
  email: string;
  password: string;
  nombre: string;
  apellido: string;
}

/** A bootstrap that cannot be done as asked: the messages say why (never the password itself). */
export class AdministradorInvalido extends Error {
  constructor(readonly problemas: Record<string, string[]>) {
    super(
      Object.entries(problemas)
        .map(([campo, msgs]) => `${campo}: ${msgs.join(' ')}`)
        .join('; '),
    );
    this.name = 'AdministradorInvalido';
  }
}

/**
 * The first administrator of a deployment (CONTRACT §5.6): created active, as `administrador`, unless
 * a user with that e-mail exists in any case, who is left exactly as it is. The password passes the
 * same validation as any other.
 */
export async function crearAdministrador(
  db: Db,
  datos: NuevoAdministrador,
  hashes: Contrasenas,
): Promise<'creado' | 'existente'> {
  const problemas: Record<string, string[]> = {};
  const email = fields.email({ max: 254 }).parse(datos.email);
  if (!email.ok) problemas.email = [email.error];
  for (const campo of ['nombre', 'apellido'] as const) {
    const valor = fields.string({ max: 150 }).parse(datos[campo]);
    if (!valor.ok) problemas[campo] = [valor.error];
  }
  const password = fields.password({ max: 128 }).parse(datos.password);
  const invalida = password.ok ? validarPassword(datos.password, datos) : [password.error];
  if (invalida.length) problemas.password = invalida;
  if (!email.ok || Object.keys(problemas).length) throw new AdministradorInvalido(problemas);
  const creado = await repositorioUsuarios(db).crear(
    {
      email: email.value,
      nombre: datos.nombre.trim(),
      apellido: datos.apellido.trim(),
      tipo_usuario: 'administrador',
      password: await hashes.cifrar(datos.password),
    },
    { siNoExiste: true },
  );
  return creado ? 'creado' : 'existente';
}

export async function hayAdministradorActivo(db: Db): Promise<boolean> {
  const filas = await db
    .select({ id: usuarios.id })
    .from(usuarios)
    .where(and(eq(usuarios.tipo_usuario, 'administrador'), eq(usuarios.activo, true)))
    .limit(1);
  return filas.length > 0;
}
