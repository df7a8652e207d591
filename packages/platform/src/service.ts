import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HTTPMethods,
  LogController,
} from 'fastify';
import secureJson from 'secure-json-parse';
import type { Config } from './config.js';
import { registerCors } from './cors.js';
import { type Database, type Db, type Migrations, openDatabase } from './database.js';
import { DETAIL, HttpError, RETRY_AFTER_SECONDS, registerErrorHandling } from './errors.js';
import {
  createRelay,
  discardPublisher,
  type GoogleCerts,
  localPushPublisher,
  type OutboxTable,
  type Publisher,
  pubSubPublisher,
  type Relay,
  registerOutboxMetrics,
} from './events/index.js';
import { HEALTH_PATHS, registerHealth } from './health.js';
import { registerHostCheck } from './hosts.js';
import {
  type Access,
  AUTHENTICATED,
  accessDescription,
  accessTokenVerifier,
  authenticate,
  bearerScheme,
  configuredKeys,
  type KeySource,
  registerAuthentication,
  securityOf,
  TIPOS_USUARIO,
} from './identity/index.js';
import { registerLingeringClose } from './lingering-close.js';
import { loggerOptions, registerRequestLog, traceFields } from './logging.js';
import {
  createTelemetry,
  registerRequestTelemetry,
  type Telemetry,
  type TelemetryOverrides,
} from './telemetry/index.js';
import { validatorCompiler } from './validation.js';

/** What a service brings: its identity, its migrations and its routes. Everything else is shared. */
export interface ServiceDefinition {
  /** Package name, e.g. `servicio-usuarios`: names the logs and the embedded data folder. */
  name: string;
  title: string;
  description: string;
  version: string;
  migrations: Migrations;
  /** Every route declares who may call it (`config.access`, see identity/access.ts). */
  routes: (app: FastifyInstance, context: ServiceContext) => Promise<void>;
  /** Where tokens' public keys come from; by default JWT_JWKS_URL / JWT_PUBLIC_KEY (the issuer brings its own). */
  keys?: KeySource;
  /** The service's events: its outbox table, its topic's default name, and how the local push is signed. */
  events?: { outbox: OutboxTable; topic: string; localPushToken?: () => Promise<string> };
}

/** What a service's routes get: its database, configuration, token keys and telemetry. */
export interface ServiceContext {
  db: Db;
  config: Readonly<Config>;
  keys: KeySource;
  telemetry: Telemetry;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The outbox relay of a service that emits events. */
    relay?: Relay;
  }
}

export interface BuildOptions {
  config: Readonly<Config>;
  /** An open database to use (and leave open); by default the app opens its own and closes it on close(). */
  database?: Database;
  /** `false` silences logs (tests); by default JSON lines, or pretty at a terminal. */
  logger?: boolean;
  /** Google's OIDC certificates for push tokens; by default Google's own (a test brings a key of its own). */
  googleCerts?: GoogleCerts;
  /** In-memory span exporter and metric reader (tests); by default OTEL_EXPORTER_OTLP_ENDPOINT decides. */
  telemetry?: TelemetryOverrides;
}

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export async function createServiceApp(
  service: ServiceDefinition,
  options: BuildOptions,
): Promise<FastifyInstance> {
  const { config } = options;
  const telemetry = await createTelemetry(config, service, options.telemetry);
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : loggerOptions({
            level: config.logLevel,
            service: service.name,
            pretty: Boolean(process.stdout.isTTY),
            // With tracing, each line carries its own span; without, the caller's trace from the headers.
            mixin: telemetry.tracing ? telemetry.logFields : undefined,
          }),
    childLoggerFactory: (logger, bindings, opts, raw) =>
      logger.child(
        telemetry.tracing ? bindings : { ...bindings, ...traceFields(raw.headers, config.gcpProject) },
        opts,
      ),
    logController: new LogController({ disableRequestLogging: true }),
    // request.ip is the client's address: the entry of X-Forwarded-For that the last trusted proxy
    // appended (TRUSTED_PROXY_HOPS from the right), never one the client wrote itself. Throttling
    // counts by it. Links use hosts.ts's publicOrigin, which validates X-Forwarded-Host/-Proto itself.
    trustProxy: (_address, hop) => hop < config.trustedProxyHops,
    bodyLimit: config.bodyLimitBytes,
    // Answered below in DRF's shape instead of Fastify's.
    return503OnClosing: false,
    // Ids up to 500 characters reach their route (and its authentication) before being judged: as a
    // DRF router, an anonymous request for /api/usuarios/<120 digits>/ is a 401, with a token a 404.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Paths the router cannot even read (bad percent-encoding, a 100+ character id) name nothing: 404.
    frameworkErrors: (error, request, anyReply) => {
      const reply = anyReply as FastifyReply;
      if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return unreadablePath(request, reply);
      }
      return reply.code(400).send({ detail: error.message });
    },
  });

  // First of all hooks: everything else of a request runs inside its span.
  registerRequestTelemetry(app, telemetry);
  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app, { debug: config.debug });
  registerJsonParser(app);
  registerDrain(app);
  registerLingeringClose(app, config.bodyLimitBytes);
  registerHostCheck(app, config.allowedHosts, HEALTH_PATHS);
  registerRequestLog(app);
  await registerCors(app, config.corsAllowedOrigins);
  const jwksFetches = telemetry.meter.createCounter('servicios.jwks.fetches', {
    description: 'Fetches of the signing keys (JWKS), by outcome.',
  });
  const keys =
    service.keys ?? (await configuredKeys(config.identity, (outcome) => jwksFetches.add(1, { outcome })));
  const verifyAccess = accessTokenVerifier({
    keys,
    issuer: config.identity.issuer,
    audience: config.identity.audience,
    roles: TIPOS_USUARIO,
  });
  registerAuthentication(app, verifyAccess);

  const database =
    options.database ??
    (await openDatabase(config.database, { migrations: service.migrations, logger: app.log, telemetry }));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: service.title, description: service.description, version: service.version },
      components: { securitySchemes: { bearerAuth: bearerScheme } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/schema/', { schema: { hide: true } }, async () => app.swagger());

  const routesByUrl = new Map<string, { methods: Set<string>; access: Access[] }>();

  /**
   * A path the router cannot read (bad percent-encoding, an id past 500 characters) names nothing:
   * 404. Yet where it has the shape of a route that needs a token, authentication comes first, as
   * DRF's router would match it: anonymous, it is a 401.
   */
  async function unreadablePath(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0] ?? '';
    const guarded = [...routesByUrl].some(
      ([url, { access }]) => access.some((a) => typeof a === 'object') && routePattern(url).test(path),
    );
    try {
      if (guarded) await authenticate(request, AUTHENTICATED, verifyAccess);
      return reply.code(404).send({ detail: DETAIL.notFound });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return reply
        .code(err.statusCode)
        .headers(err.headers)
        .send(err.code ? { detail: err.detail, code: err.code } : { detail: err.detail });
    }
  }
  app.addHook('onRoute', (route) => {
    const access = route.config?.access ?? 'public';
    const security = securityOf(access);
    if (security && route.schema) {
      route.schema.security = security;
      // Who may call it, in the docs, from the same declaration the server enforces.
      const who = accessDescription(access);
      const text = route.schema.description ?? '';
      if (who && !text.includes(who)) route.schema.description = text ? `${text}\n\n${who}` : who;
    }
    if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
    const entry = routesByUrl.get(route.url) ?? { methods: new Set<string>(), access: [] };
    for (const method of [route.method].flat()) entry.methods.add(method);
    entry.access.push(access);
    routesByUrl.set(route.url, entry);
  });

  registerHealth(app, database.ping);
  if (service.events)
    await registerRelay(app, { ...service, events: service.events }, database.db, config, telemetry);
  await app.register(async (scope) => {
    // Deny by omission is no policy: a service route that does not say who may call it never starts.
    scope.addHook('onRoute', (route) => {
      if (route.config?.access === undefined)
        throw new Error(`${route.method} ${route.url}: declare who may call it (config.access)`);
    });
    await service.routes(scope, { db: database.db, config, keys, telemetry });
  });
  registerMethodNotAllowed(app, routesByUrl, service.title);
  // After the in-flight requests: their events go out while the database still answers, then the pool closes.
  app.addHook('onClose', async () => {
    await app.relay?.close();
    if (!options.database) await database.close();
    await telemetry.shutdown();
  });
  return app;
}

/** The outbox relay: started with the app, kicked after every write, flushed on close. */
async function registerRelay(
  app: FastifyInstance,
  service: ServiceDefinition & { events: NonNullable<ServiceDefinition['events']> },
  db: Db,
  config: Readonly<Config>,
  telemetry: Telemetry,
): Promise<void> {
  const { events } = service;
  registerOutboxMetrics(db, events.outbox, telemetry);
  const source = `/${service.name}`;
  const { delivery, project, topic, emulatorHost, localPushEndpoint } = config.events;
  let publisher: Publisher;
  if (delivery === 'pubsub') {
    publisher = await pubSubPublisher({
      project: project ?? config.gcpProject,
      topic: topic ?? events.topic,
      emulatorHost,
    });
  } else if (delivery === 'local' && localPushEndpoint && events.localPushToken) {
    publisher = localPushPublisher({ endpoint: localPushEndpoint, source, token: events.localPushToken });
  } else if (config.database.kind === 'pglite') {
    publisher = discardPublisher((event) =>
      app.log.debug({ event: { type: event.type, subject: event.subject } }, 'event discarded'),
    );
  } else {
    // A shared PostgreSQL may have instances that do publish: an unconfigured one must not take their
    // events from the outbox and drop them. They wait there (the outbox-age alert says so).
    app.log.warn('no Pub/Sub configured (PUBSUB_TOPIC): events stay in the outbox, unpublished');
    return;
  }
  app.log.info({ publisher: publisher.describe }, 'events');
  const relay = createRelay({ db, outbox: events.outbox, publisher, source, log: app.log, telemetry });
  app.decorate('relay', relay);
  app.addHook('onResponse', (request, reply, done) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && reply.statusCode < 400) relay.kick();
    done();
  });
}

/** A route's URL (`/api/usuarios/:id/`) as a pattern for raw paths, with or without the final slash. */
function routePattern(url: string): RegExp {
  const body = url
    .replace(/\/$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
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
  routesByUrl: Map<string, { methods: Set<string>; access: Access[] }>,
  title: string,
): void {
  for (const [url, { methods: present, access }] of routesByUrl) {
    const allow = [...present, 'OPTIONS'].join(', ');
    const missing = METHODS.filter((method) => !present.has(method));
    if (missing.length === 0) continue;
    app.route({
      method: missing,
      url,
      schema: { hide: true },
      // As DRF, authentication comes before the method check where the path's routes need a token.
      config: { access: access.some((a) => typeof a === 'object') ? AUTHENTICATED : 'public' },
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
