import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type HTTPMethods, LogController } from 'fastify';
import secureJson from 'secure-json-parse';
import type { Config } from './config.js';
import { type Database, type Db, type Migrations, openDatabase } from './database.js';
import { DETAIL, HttpError, RETRY_AFTER_SECONDS, registerErrorHandling } from './errors.js';
import { HEALTH_PATHS, registerHealth } from './health.js';
import { registerHostCheck } from './hosts.js';
import { loggerOptions, registerRequestLog, traceFields } from './logging.js';
import { validatorCompiler } from './validation.js';

/** What a service brings: its identity, its migrations and its routes. Everything else is shared. */
export interface ServiceDefinition {
  /** Package name, e.g. `servicio-usuarios`: names the logs and the embedded data folder. */
  name: string;
  title: string;
  description: string;
  version: string;
  migrations: Migrations;
  routes: (app: FastifyInstance, context: { db: Db; config: Readonly<Config> }) => Promise<void>;
}

export interface BuildOptions {
  config: Readonly<Config>;
  /** An open database to use (and leave open); by default the app opens its own and closes it on close(). */
  database?: Database;
  /** `false` silences logs (tests); by default JSON lines, or pretty at a terminal. */
  logger?: boolean;
}

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export async function createServiceApp(
  service: ServiceDefinition,
  options: BuildOptions,
): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : loggerOptions({
            level: config.logLevel,
            service: service.name,
            pretty: Boolean(process.stdout.isTTY),
          }),
    childLoggerFactory: (logger, bindings, opts, raw) =>
      logger.child({ ...bindings, ...traceFields(raw.headers, config.gcpProject) }, opts),
    logController: new LogController({ disableRequestLogging: true }),
    // Behind Cloud Run's front end the client's address arrives in X-Forwarded-For (request.ip in
    // logs). Links use hosts.ts's publicOrigin, which validates X-Forwarded-Host/-Proto itself.
    trustProxy: true,
    bodyLimit: config.bodyLimitBytes,
    // Answered below in DRF's shape instead of Fastify's.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    // Paths the router cannot even read (bad percent-encoding, a 100+ character id) name nothing: 404.
    frameworkErrors: (error, _request, anyReply) => {
      const reply = anyReply as FastifyReply;
      if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return reply.code(404).send({ detail: DETAIL.notFound });
      }
      return reply.code(400).send({ detail: error.message });
    },
  });

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app, { debug: config.debug });
  registerJsonParser(app);
  registerDrain(app);
  registerHostCheck(app, config.allowedHosts, HEALTH_PATHS);
  registerRequestLog(app);

  const database =
    options.database ??
    (await openDatabase(config.database, { migrations: service.migrations, logger: app.log }));
  if (!options.database) app.addHook('onClose', () => database.close());

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: service.title, description: service.description, version: service.version },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/schema/', { schema: { hide: true } }, async () => app.swagger());

  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByUrl.set(route.url, methods);
  });

  registerHealth(app, database.ping);
  await app.register(async (scope) => service.routes(scope, { db: database.db, config }));
  registerMethodNotAllowed(app, methodsByUrl, service.title);
  return app;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Methods whose body the API reads; DRF never looks at the body of a DELETE (or OPTIONS). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

function registerJsonParser(app: FastifyInstance): void {
  // Only JSON is accepted: without this Fastify would also parse text/plain, which must be a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    if (!WITH_BODY.has(request.method)) return done(null, undefined);
    let text: string;
    try {
      // JSON is UTF-8: invalid bytes are refused, not replaced by U+FFFD and stored.
      text = utf8.decode(raw as Buffer);
    } catch {
      return done(new HttpError(400, DETAIL.malformedJson('el cuerpo no es UTF-8 válido')), undefined);
    }
    // An empty body is an empty form (DRF): required fields are then reported by name.
    if (text === '') return done(null, null);
    try {
      // `__proto__`/`constructor` keys are dropped, not refused: to a client they are unknown
      // fields, which the contract ignores (as DRF); dropping them still prevents pollution.
      done(null, secureJson.parse(text, undefined, { protoAction: 'remove', constructorAction: 'remove' }));
    } catch (err) {
      done(new HttpError(400, DETAIL.malformedJson((err as Error).message)), undefined);
    }
  });
  // Any other media type (or none) with a body: a 415 where the body matters, ignored elsewhere.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, _raw, done) => {
    if (!WITH_BODY.has(request.method)) return done(null, undefined);
    done(new HttpError(415, DETAIL.mediaType(request.headers['content-type'] ?? '')), undefined);
  });
}

/** While closing, requests that still arrive on open connections get a DRF-shaped 503. */
function registerDrain(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    return reply
      .code(503)
      .header('Connection', 'close')
      .header('Retry-After', RETRY_AFTER_SECONDS)
      .send({ detail: DETAIL.shuttingDown });
  });
  // A request in flight when closing began ends its keep-alive connection with its answer: otherwise the
  // server waits for the client's keep-alive to expire and the drain overruns Cloud Run's grace period.
  // Callback style: this runs on every response, and an async hook would cost a promise each time.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('Connection', 'close');
    done(null, payload);
  });
}

/** A known path with another method is a 405 with `Allow`, as DRF; Fastify alone would say 404. */
const JSON_ONLY = ['application/json'];

function registerMethodNotAllowed(
  app: FastifyInstance,
  methodsByUrl: Map<string, Set<string>>,
  title: string,
): void {
  for (const [url, present] of methodsByUrl) {
    const allow = [...present, 'OPTIONS'].join(', ');
    const missing = METHODS.filter((method) => !present.has(method));
    if (missing.length === 0) continue;
    app.route({
      method: missing,
      url,
      schema: { hide: true },
      handler: async (request, reply) => {
        reply.header('Allow', allow);
        // DRF answers OPTIONS with the view's metadata.
        if (request.method === 'OPTIONS')
          return reply.code(200).send({ name: title, renders: JSON_ONLY, parses: JSON_ONLY });
        return reply.code(405).send({ detail: DETAIL.methodNotAllowed(request.method) });
      },
    });
  }
}
