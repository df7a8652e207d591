import path from 'node:path';

/** Where the process finds its database: a PostgreSQL server, or the embedded PGlite folder. */
export type DatabaseConfig =
  | {
      kind: 'postgres';
      /** node-postgres connection settings (host may be a Unix socket directory). */
      connection: {
        host: string;
        port: number;
        database: string;
        user?: string;
        password?: string;
        connectionString?: string;
      };
      /** Human-readable target without credentials, safe to log. */
      description: string;
      poolMax: number;
      connectTimeoutMs: number;
      statementTimeoutMs: number;
    }
  | { kind: 'pglite'; dataDir: string; description: string };

export interface Config {
  port: number;
  /** Listening address; by default every interface, IPv6 and IPv4 (see server.ts). */
  host?: string;
  debug: boolean;
  /** Django's ALLOWED_HOSTS entries, lower-cased. */
  allowedHosts: readonly string[];
  logLevel: string;
  /** Google Cloud project for trace correlation in logs, when known. */
  gcpProject?: string;
  bodyLimitBytes: number;
  database: DatabaseConfig;
  /** How many proxies append to X-Forwarded-For in front of the service (0: the socket's own address). */
  trustedProxyHops: number;
  /** Origins whose browser pages may call the API (django-cors-headers' CORS_ALLOWED_ORIGINS). */
  corsAllowedOrigins: readonly string[];
  identity: IdentityConfig;
  events: EventsConfig;
  /** servicio-reservas: where servicio-usuarios answers (USUARIOS_URL), to check a reservation's holder. */
  usuariosUrl?: string;
  telemetry: TelemetryConfig;
}

/** Traces and metrics (OpenTelemetry): exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export interface TelemetryConfig {
  /** OTLP/HTTP endpoint: a local collector, or Google's https://telemetry.googleapis.com. */
  otlpEndpoint?: string;
  /** Share of new traces recorded (a caller's sampled flag wins): OTEL_TRACES_SAMPLER_ARG. */
  sampleRatio: number;
  metricIntervalMs: number;
  /** OTEL_RESOURCE_ATTRIBUTES (`cloud.region=us-central1,…`): Cloud Monitoring needs the location. */
  resourceAttributes: Readonly<Record<string, string>>;
}

/** Events between the services (CONTRACT §6). */
export interface EventsConfig {
  /** Where the outbox is published: Pub/Sub (the cloud or its emulator), the local push of `npm start`, or nowhere. */
  delivery: 'pubsub' | 'local' | 'none';
  project?: string;
  /** The service's own topic; each service has a default name. */
  topic?: string;
  emulatorHost?: string;
  pushAudience?: string;
  pushServiceAccount?: string;
  /** The embedded default only: where servicio-usuarios pushes its events itself (set by `npm start`). */
  localPushEndpoint?: string;
}

/** Tokens (CONTRACT §5): who signs, how verifiers find the keys, lifetimes, login throttling. */
export interface IdentityConfig {
  issuer?: string;
  audience?: string;
  accessTtlS: number;
  refreshTtlS: number;
  /** servicio-usuarios: the PEM (PKCS #8) P-256 key that signs, and retired public keys still published. */
  privateKeyPem?: string;
  previousPublicKeysPem: readonly string[];
  /** Verifiers: where the public keys are (JWKS), or one fixed public key. */
  jwksUrl?: string;
  publicKeyPem?: string;
  throttle: ThrottleConfig;
  /** Password hashes computed at once per process, and how many more may wait (up to 2 s). */
  hashConcurrency: number;
  hashQueue: number;
  /** The first administrator, created by the migrate command (and at start on the embedded database). */
  admin?: { email: string; password: string; nombre: string; apellido: string };
}

export interface ThrottleConfig {
  loginFailures: number;
  loginFailuresWindowS: number;
  loginAttempts: number;
  loginAttemptsWindowS: number;
  registrations: number;
  registrationsWindowS: number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads the environment once, at start-up, into a frozen object: nothing else reads process.env.
 * `service` names the embedded database folder (`.data/<service>`) when no database is configured.
 */
export function loadConfig(env: Env, options: { service: string; cwd?: string }): Readonly<Config> {
  const logLevel = value(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const connectionName = value(env, 'CLOUD_SQL_CONNECTION_NAME');
  const config: Config = {
    port: integer(env, 'PORT', 8080, 1, 65535),
    host: value(env, 'HOST'),
    debug: boolean(env, 'DEBUG', false),
    allowedHosts: parseAllowedHosts(env.ALLOWED_HOSTS),
    logLevel,
    gcpProject: value(env, 'GOOGLE_CLOUD_PROJECT') ?? connectionName?.split(':')[0],
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    database: databaseConfig(env, options),
    trustedProxyHops: integer(env, 'TRUSTED_PROXY_HOPS', 0, 0, 10),
    corsAllowedOrigins: parseOrigins(env.CORS_ALLOWED_ORIGINS),
    identity: identityConfig(env),
    events: eventsConfig(env),
    usuariosUrl: httpUrl(env, 'USUARIOS_URL')?.replace(/\/$/, ''),
    telemetry: {
      otlpEndpoint: httpUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
      sampleRatio: ratio(env, 'OTEL_TRACES_SAMPLER_ARG', 1),
      metricIntervalMs: integer(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000, 1000, 3_600_000),
      resourceAttributes: keyValues(env, 'OTEL_RESOURCE_ATTRIBUTES'),
    },
  };
  return Object.freeze(config);
}

/** OpenTelemetry's `key=value,key=value` list (values percent-encoded). */
function keyValues(env: Env, name: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (value(env, name) ?? '').split(',').filter((i) => i.trim())) {
    const at = item.indexOf('=');
    if (at < 1) throw new ConfigError(name, `must be key=value pairs separated by commas, got "${item}"`);
    pairs[item.slice(0, at).trim()] = decodeURIComponent(item.slice(at + 1).trim());
  }
  return pairs;
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || parsed > 1)
    throw new ConfigError(name, `must be a number from 0 to 1, got "${raw}"`);
  return parsed;
}

function httpUrl(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  if (raw !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(raw)) {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  return raw;
}

function eventsConfig(env: Env): EventsConfig {
  const project = value(env, 'GOOGLE_CLOUD_PROJECT');
  const topic = value(env, 'PUBSUB_TOPIC');
  const emulatorHost = value(env, 'PUBSUB_EMULATOR_HOST');
  const pushAudience = value(env, 'PUBSUB_PUSH_AUDIENCE');
  const pushServiceAccount = value(env, 'PUBSUB_PUSH_SERVICE_ACCOUNT');
  // Anyone can have Google sign a token for any audience: the push's service account is what proves
  // that Pub/Sub sent it.
  if (pushAudience && !pushServiceAccount) {
    throw new ConfigError('PUBSUB_PUSH_SERVICE_ACCOUNT', 'is required when PUBSUB_PUSH_AUDIENCE is set');
  }
  const localPushEndpoint = httpUrl(env, 'LOCAL_PUSH_ENDPOINT');
  // Publishing is asked for explicitly (a topic, or the emulator): a project alone is only the project.
  const delivery = topic || emulatorHost ? 'pubsub' : localPushEndpoint ? 'local' : 'none';
  return { delivery, project, topic, emulatorHost, pushAudience, pushServiceAccount, localPushEndpoint };
}

/** PEM blocks of one type. Secret Manager keeps their line breaks; a value pasted as one line may carry `\n`. */
function pem(env: Env, name: string, type: 'PRIVATE KEY' | 'PUBLIC KEY'): string[] {
  const raw = value(env, name)?.replace(/\\n/g, '\n');
  if (raw === undefined) return [];
  const blocks = raw.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  if (blocks.length === 0 || blocks.some((b) => !b.startsWith(`-----BEGIN ${type}-----`))) {
    throw new ConfigError(name, `must hold PEM "${type}" blocks`);
  }
  return blocks;
}

function parseOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {}
    // An origin is scheme://host[:port], nothing more: the browser sends exactly that.
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(
        'CORS_ALLOWED_ORIGINS',
        `holds "${origin}", which is not an origin like https://app.example.com`,
      );
    }
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

function identityConfig(env: Env): IdentityConfig {
  const jwksUrl = httpUrl(env, 'JWT_JWKS_URL');
  const adminEmail = value(env, 'ADMIN_EMAIL');
  const adminPassword = env.ADMIN_PASSWORD; // never trimmed: a password is what it is
  const admin =
    adminEmail && adminPassword
      ? {
          email: adminEmail,
          password: adminPassword,
          nombre: value(env, 'ADMIN_NOMBRE') ?? 'Administrador',
          apellido: value(env, 'ADMIN_APELLIDO') ?? 'Sistema',
        }
      : undefined;
  const window = (name: string, fallback: number) => integer(env, name, fallback, 1, 7 * 86_400);
  return {
    issuer: value(env, 'JWT_ISSUER'),
    audience: value(env, 'JWT_AUDIENCE'),
    accessTtlS: integer(env, 'JWT_ACCESS_TTL_S', 300, 10, 86_400),
    refreshTtlS: integer(env, 'JWT_REFRESH_TTL_S', 86_400, 60, 90 * 86_400),
    privateKeyPem: pem(env, 'JWT_PRIVATE_KEY', 'PRIVATE KEY')[0],
    previousPublicKeysPem: pem(env, 'JWT_PREVIOUS_PUBLIC_KEYS', 'PUBLIC KEY'),
    jwksUrl,
    publicKeyPem: pem(env, 'JWT_PUBLIC_KEY', 'PUBLIC KEY')[0],
    throttle: {
      loginFailures: integer(env, 'THROTTLE_LOGIN_FAILURES', 5, 1, 1_000_000),
      loginFailuresWindowS: window('THROTTLE_LOGIN_FAILURES_WINDOW_S', 900),
      loginAttempts: integer(env, 'THROTTLE_LOGIN_ATTEMPTS', 100, 1, 1_000_000),
      loginAttemptsWindowS: window('THROTTLE_LOGIN_ATTEMPTS_WINDOW_S', 3600),
      registrations: integer(env, 'THROTTLE_REGISTRATIONS', 20, 1, 1_000_000),
      registrationsWindowS: window('THROTTLE_REGISTRATIONS_WINDOW_S', 3600),
    },
    hashConcurrency: integer(env, 'PASSWORD_HASH_CONCURRENCY', 1, 1, 64),
    hashQueue: integer(env, 'PASSWORD_HASH_QUEUE', 100, 0, 10_000),
    admin,
  };
}

function parseAllowedHosts(raw: string | undefined): string[] {
  const hosts = (raw ?? '*')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (hosts.length === 0) throw new ConfigError('ALLOWED_HOSTS', 'is empty: use * to accept any host');
  return hosts;
}

function databaseConfig(env: Env, options: { service: string; cwd?: string }): DatabaseConfig {
  const url = value(env, 'DATABASE_URL');
  const name = value(env, 'DATABASE_NAME');
  const connectionName = value(env, 'CLOUD_SQL_CONNECTION_NAME');
  const partial = ['DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_USER', 'DATABASE_PASSWORD'].find((v) =>
    value(env, v),
  );

  if (!url && !name && !connectionName) {
    if (partial) throw new ConfigError('DATABASE_NAME', `is required when ${partial} is set`);
    const dataDir = path.resolve(
      options.cwd ?? process.cwd(),
      value(env, 'PGLITE_DATA_DIR') ?? path.join('.data', options.service),
    );
    return { kind: 'pglite', dataDir, description: `embedded PGlite at ${dataDir}` };
  }

  const pool = {
    // Small on purpose: 2 per instance x 10 instances x (2 services + 1 revision in a rollout) = 60 of
    // the 100 connections of a small Cloud SQL tier. DEPLOY.md has the arithmetic.
    poolMax: integer(env, 'DATABASE_POOL_MAX', 2, 1, 100),
    connectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 3000, 100, 60000),
    statementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600000),
  };

  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid URL');
    }
    if (!['postgres:', 'postgresql:'].includes(parsed.protocol)) {
      throw new ConfigError('DATABASE_URL', `must start with postgres:// or postgresql://`);
    }
    const database = decodeURIComponent(parsed.pathname.slice(1)) || 'postgres';
    return {
      kind: 'postgres',
      connection: {
        connectionString: url,
        host: parsed.hostname,
        port: Number(parsed.port || 5432),
        database,
      },
      description: `postgres://${parsed.hostname || 'socket'}:${parsed.port || 5432}/${database}`,
      ...pool,
    };
  }

  if (!name) throw new ConfigError('DATABASE_NAME', 'is required when CLOUD_SQL_CONNECTION_NAME is set');
  if (connectionName && !/^[a-z0-9.:-]+:[a-z0-9-]+:[a-z0-9-]+$/i.test(connectionName)) {
    throw new ConfigError(
      'CLOUD_SQL_CONNECTION_NAME',
      `must look like project:region:instance, got "${connectionName}"`,
    );
  }
  const socketRoot = value(env, 'CLOUD_SQL_SOCKET_DIR') ?? '/cloudsql';
  // node-postgres treats a host that starts with "/" as a Unix socket directory.
  const host = connectionName
    ? path.posix.join(socketRoot, connectionName)
    : (value(env, 'DATABASE_HOST') ?? 'localhost');
  const port = integer(env, 'DATABASE_PORT', 5432, 1, 65535);
  return {
    kind: 'postgres',
    connection: {
      host,
      port,
      database: name,
      user: value(env, 'DATABASE_USER'),
      password: env.DATABASE_PASSWORD,
    },
    description: connectionName ? `postgres via ${host}/${name}` : `postgres://${host}:${port}/${name}`,
    ...pool,
  };
}
