import type { FastifyInstance } from 'fastify';
import { DETAIL } from './errors.js';

/** Django's ALLOWED_HOSTS matching: `*`, an exact name, or `.example.com` for it and its subdomains. */
export function hostAllowed(allowed: readonly string[], hostHeader: string | undefined): boolean {
  if (allowed.includes('*')) return true;
  if (!hostHeader) return false;
  const host = hostHeader
    .toLowerCase()
    .replace(/:\d+$/, '')
    // IPv6 literals keep their brackets: Django's ALLOWED_HOSTS spells them `[::1]`.
    .replace(/\.$/, '');
  return allowed.some((pattern) =>
    pattern.startsWith('.') ? host === pattern.slice(1) || host.endsWith(pattern) : host === pattern,
  );
}

/**
 * Refuses requests whose Host is not allowed. Health paths are exempt: platform probes address the
 * instance directly and do not carry the public host name.
 */
export function registerHostCheck(
  app: FastifyInstance,
  allowed: readonly string[],
  exempt: ReadonlySet<string>,
): void {
  if (allowed.includes('*')) return;
  app.addHook('onRequest', async (request, reply) => {
    if (exempt.has(request.url.split('?')[0]?.replace(/\/$/, '') ?? '')) return;
    if (!hostAllowed(allowed, request.headers.host)) {
      request.log.warn({ host: request.headers.host }, 'host not allowed');
      return reply.code(400).send({ detail: DETAIL.badHost });
    }
  });
}
