import type { FastifyInstance } from 'fastify';
import { errorSummary } from './database.js';
import { RETRY_AFTER_SECONDS } from './errors.js';

export const HEALTH_PATHS = new Set(['/healthz', '/health', '/readyz', '/ready']);

const status = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['OK', 'ERROR'] }, detail: { type: 'string' } },
  required: ['status'],
};

/**
 * Liveness never touches the database; readiness asks it. Cloud Run's front end answers the
 * `...z` paths itself, so both are also served without the `z`.
 */
export function registerHealth(app: FastifyInstance, ping: () => Promise<void>): void {
  const liveness = { schema: { tags: ['health'], response: { 200: status } } };
  const readiness = { schema: { tags: ['health'], response: { 200: status, 503: status } } };
  for (const url of ['/healthz', '/health']) {
    app.get(url, liveness, async () => ({ status: 'OK' }));
  }
  for (const url of ['/readyz', '/ready']) {
    app.get(url, readiness, async (request, reply) => {
      try {
        await ping();
        return { status: 'OK' };
      } catch (err) {
        request.log.warn({ err: errorSummary(err) }, 'readiness check failed');
        return reply
          .code(503)
          .header('Retry-After', RETRY_AFTER_SECONDS)
          .send({ status: 'ERROR', detail: 'Base de datos no disponible.' });
      }
    });
  }
}
