import { type Config, migrateDatabase, openDatabase } from '@servicios/platform';
import { servicio } from './app.js';
import { crearAdministrador } from './usuarios/administrador.js';
import { contrasenas } from './usuarios/password.js';

/**
 * What the migrations job does (CONTRACT §4, §5.6): apply this service's migrations, then, when
 * ADMIN_EMAIL and ADMIN_PASSWORD are set, create that first administrator unless the e-mail exists.
 */
export async function migrar(config: Readonly<Config>): Promise<{ administrador?: 'creado' | 'existente' }> {
  await migrateDatabase(config.database, servicio.migrations);
  const { admin } = config.identity;
  if (!admin) return {};
  const database = await openDatabase(config.database, { migrations: servicio.migrations });
  try {
    return {
      administrador: await crearAdministrador(database.db, admin, contrasenas({ concurrencia: 1, cola: 0 })),
    };
  } finally {
    await database.close();
  }
}
