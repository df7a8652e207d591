import { fileURLToPath } from 'node:url';
import { type BuildOptions, createServiceApp, type ServiceDefinition } from '@servicios/platform';
import { rutasReservas } from './reservas/routes.js';

export const servicio: ServiceDefinition = {
  name: 'servicio-reservas',
  title: 'servicio-reservas',
  description: 'Reservas con su ciclo de vida: pendiente, confirmada, cancelada, completada.',
  version: '1.0.0',
  // src/ and dist/ both sit one level below the package, beside drizzle/.
  migrations: {
    folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
    table: '__migraciones_reservas',
  },
  routes: rutasReservas,
};

export function buildApp(options: BuildOptions) {
  return createServiceApp(servicio, options);
}
