import {
  type GoogleCerts,
  MalformedPush,
  registerPushEndpoint,
  type ServiceContext,
} from '@servicios/platform';
import type { FastifyInstance } from 'fastify';
import { repositorioReservas } from '../reservas/repository.js';

/**
 * What servicio-reservas consumes (CONTRACT §6): pushes of servicio-usuarios' events. Only
 * `usuario.desactivado` acts; every other type is acknowledged and ignored.
 */
export async function rutasEventos(
  app: FastifyInstance,
  options: ServiceContext & { googleCerts?: GoogleCerts },
): Promise<void> {
  const repo = repositorioReservas(options.db);
  let limpiezaMs = 0;
  registerPushEndpoint(app, {
    path: '/api/eventos/pubsub/',
    config: options.config,
    identityKeys: options.keys,
    googleCerts: options.googleCerts,
    telemetry: options.telemetry,
    handlers: {
      async 'servicios.usuarios.v1.usuario.desactivado'(evento, log) {
        const usuarioId = evento.data.id;
        if (!Number.isSafeInteger(usuarioId) || (usuarioId as number) < 1) throw new MalformedPush('data.id');
        const canceladas = await repo.cancelarPorDesactivacion({
          id: evento.id,
          usuarioId: usuarioId as number,
          desde: new Date(evento.time),
        });
        log.info(
          { event: { id: evento.id, subject: evento.subject }, canceladas },
          canceladas === undefined
            ? 'duplicate event ignored'
            : 'reservations of a deactivated user cancelled',
        );
        if (Date.now() - limpiezaMs > 3_600_000) {
          limpiezaMs = Date.now();
          await repo.olvidarRecibidos();
        }
        return canceladas === undefined ? 'duplicate' : 'processed';
      },
    },
  });
}
