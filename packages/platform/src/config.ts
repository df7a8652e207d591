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
  };
  return Object.freeze(config);
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
