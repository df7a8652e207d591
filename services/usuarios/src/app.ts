import { fileURLToPath } from 'node:url';
import { type BuildOptions, createServiceApp, type ServiceDefinition } from '@servicios/platform';
import { cargarClaves } from './tokens/claves.js';
import { rutasTokens } from './tokens/routes.js';
import { crearAdministrador } from './usuarios/administrador.js';
import { contrasenas, registrarMetricas } from './usuarios/password.js';
import { rutasUsuarios } from './usuarios/routes.js';
import { eventos } from './usuarios/schema.js';

export const servicio = {
  name: 'servicio-usuarios',
  title: 'servicio-usuarios',
  description:
    'Usuarios con roles (tipo_usuario), e-mail único y baja lógica (activo). Proveedor de identidad: ' +
    'emite los tokens (ES256) que verifican los servicios, y publica sus claves en /.well-known/jwks.json.',
  version: '1.0.0',
  // src/ and dist/ both sit one level below the package, beside drizzle/.
  migrations: {
    folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
    table: '__migraciones_usuarios',
  },
} satisfies Omit<ServiceDefinition, 'routes'>;

/** servicio-usuarios is the identity provider: it verifies its own tokens with the keys it signs with. */
export async function buildApp(options: BuildOptions) {
  const { config } = options;
  const claves = await cargarClaves(config);
  const hashes = contrasenas({
    concurrencia: config.identity.hashConcurrency,
    cola: config.identity.hashQueue,
  });
  return createServiceApp(
    {
      ...servicio,
      keys: claves.verificacion,
      events: {
        outbox: eventos,
        topic: 'usuarios-eventos',
        // The embedded default's local push carries a one-minute token signed with the token key.
        localPushToken: () => claves.firmar({ token_type: 'evento' }, 60),
      },
      routes: async (app, context) => {
        registrarMetricas(context.telemetry, hashes);
        // The embedded database migrates at start, so its first administrator is made there too.
        if (config.database.kind === 'pglite' && config.identity.admin) {
          await crearAdministrador(context.db, config.identity.admin, hashes);
        }
        await rutasTokens(app, { ...context, claves, contrasenas: hashes });
        await rutasUsuarios(app, { ...context, contrasenas: hashes });
      },
    },
    options,
  );
}
