import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DETAIL, HttpError } from './errors.js';

// Django's host_validation_re: a domain name or a bracketed IPv6 literal, then an optional port.
const HOST_SYNTAX = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:\d+)?$/i;

/** First entry of a header that proxies may turn into a comma-separated list. */
function first(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return raw?.split(',')[0]?.trim() || undefined;
}

/**
 * The host the client addressed: X-Forwarded-Host when a proxy set it (as Django with
 * USE_X_FORWARDED_HOST), else Host. Undefined when missing or not a valid host name.
 */
export function requestHost(request: FastifyRequest): string | undefined {
  const host = first(request.headers['x-forwarded-host']) ?? request.headers.host;
  return host && HOST_SYNTAX.test(host) ? host.toLowerCase() : undefined;
}

/**
 * Scheme and host as the client saw them, for absolute links. Cloud Run terminates TLS and says so in
 * X-Forwarded-Proto; anything but `https` there means http (as Django's SECURE_PROXY_SSL_HEADER).
 */
export function publicOrigin(request: FastifyRequest): string {
  const host = requestHost(request);
  if (!host) throw new HttpError(400, DETAIL.badHost);
  const scheme = first(request.headers['x-forwarded-proto'])?.toLowerCase() === 'https' ? 'https' : 'http';
  return `${scheme}://${host}`;
}

/** Django's ALLOWED_HOSTS matching: `*`, an exact name, or `.example.com` for it and its subdomains. */
export function hostAllowed(allowed: readonly string[], hostHeader: string | undefined): boolean {
  if (allowed.includes('*')) return true;
  if (!hostHeader || !HOST_SYNTAX.test(hostHeader)) return false;
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
 * Refuses requests whose host is not allowed. Health paths are exempt: platform probes address the
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
    const host = first(request.headers['x-forwarded-host']) ?? request.headers.host;
    if (!hostAllowed(allowed, host)) {
      request.log.warn({ host }, 'host not allowed');
      return reply.code(400).send({ detail: DETAIL.badHost });
    }
  });
}
