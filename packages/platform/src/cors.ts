import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPreflight } from './identity/index.js';

/**
 * CORS as django-cors-headers does it: only the configured origins (none by default) get the
 * `Access-Control-Allow-*` headers; `Authorization` may be sent. Every preflight is answered here,
 * with no body and without a token (the browser never sends one with it), allowed or not. Any
 * other OPTIONS goes on to the route like any request, token included.
 */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  // Preflights that the plugin did not answer (no origin allowed): still bodiless, still no token.
  const answerPreflight = async (request: FastifyRequest, reply: FastifyReply) => {
    if (isPreflight(request)) return reply.code(204).header('Content-Length', '0').send();
  };
  if (origins.length === 0) {
    // The default: no origin is allowed, so no request needs the plugin's per-request work.
    app.addHook('onRequest', answerPreflight);
    return;
  }
  const options = {
    origin: [...origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Retry-After', 'WWW-Authenticate'],
    maxAge: 86_400,
    strictPreflight: false,
  };
  const plain = { ...options, origin: false as const };
  // Loaded only when some origin is allowed: the default never pays for it.
  const { default: cors } = await import('@fastify/cors');
  await app.register(
    cors,
    () => (request: FastifyRequest, done: (e: Error | null, o: object) => void) =>
      done(null, request.method === 'OPTIONS' && !isPreflight(request) ? plain : options),
  );
  app.addHook('onRequest', answerPreflight);
}
