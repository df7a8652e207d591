import { fileURLToPath } from 'node:url';
import {
  type BuildOptions,
  ConfigError,
  createServiceApp,
  type ServiceDefinition,
} from '@servicios/platform';
import { rutasEventos } from './eventos/routes.js';
import { rutasReservas } from './reservas/routes.js';
import { eventos } from './reservas/schema.js';

export const servicio = {
  name: 'servicio-reservas',
  title: 'servicio-reservas',
  description: 'Reservas con su ciclo de vida: pendiente, confirmada, cancelada, completada.',
  version: '1.0.0',
  // src/ and dist/ both sit one level below the package, beside drizzle/.
  migrations: {
    folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
    table: '__migraciones_reservas',
  },
} satisfies Omit<ServiceDefinition, 'routes'>;

/** servicio-reservas verifies the tokens of servicio-usuarios and asks it about reservations' holders. */
export async function buildApp(options: BuildOptions) {
  const { config } = options;
  const usuariosUrl = config.usuariosUrl;
  if (!usuariosUrl) {
    throw new ConfigError('USUARIOS_URL', 'is required: where servicio-usuarios answers (to check holders)');
  }
  return createServiceApp(
    {
      ...servicio,
      events: { outbox: eventos, topic: 'reservas-eventos' },
      routes: async (app, context) => {
        await rutasReservas(app, { ...context, usuariosUrl });
        await rutasEventos(app, { ...context, googleCerts: options.googleCerts });
      },
    },
    options,
  );
}
