import { fileURLToPath } from 'node:url';
import { type BuildOptions, createServiceApp, type ServiceDefinition } from '@servicios/platform';
import { rutasUsuarios } from './usuarios/routes.js';

export const servicio: ServiceDefinition = {
  name: 'servicio-usuarios',
  title: 'servicio-usuarios',
  description: 'Usuarios con roles (tipo_usuario), e-mail único y baja lógica (activo).',
  version: '1.0.0',
  // src/ and dist/ both sit one level below the package, beside drizzle/.
  migrations: {
    folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
    table: '__migraciones_usuarios',
  },
  routes: rutasUsuarios,
};

export function buildApp(options: BuildOptions) {
  return createServiceApp(servicio, options);
}
