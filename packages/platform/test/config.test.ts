// CONTRACT §4: the environment read once into a frozen config; bad values fail at start with a
// message that names the variable.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

const load = (env: Record<string, string | undefined>) =>
  loadConfig(env, { service: 'svc', cwd: '/srv/app' });

function rejects(env: Record<string, string | undefined>, variable: string, detail?: RegExp) {
  assert.throws(
    () => load(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, new RegExp(`\\b${variable}\\b`));
      if (detail) assert.match(err.message, detail);
      return true;
    },
    JSON.stringify(env),
  );
}

describe('defaults', () => {
  test('no variables: port 8080 on all interfaces, DEBUG false, any host, embedded database', () => {
    const config = load({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, undefined); // every interface, IPv6 and IPv4 (server.ts)
    assert.equal(config.debug, false);
    assert.deepEqual(config.allowedHosts, ['*']);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.bodyLimitBytes, 64 * 1024);
    assert.deepEqual(config.database, {
      kind: 'pglite',
      dataDir: path.resolve('/srv/app/.data/svc'),
      description: `embedded PGlite at ${path.resolve('/srv/app/.data/svc')}`,
    });
  });

  test('PGLITE_DATA_DIR moves the embedded folder; blank variables count as unset', () => {
    const config = load({ PGLITE_DATA_DIR: 'datos', PORT: '  ', DEBUG: '' });
    assert.equal(
      config.database.kind === 'pglite' && config.database.dataDir,
      path.resolve('/srv/app/datos'),
    );
    assert.equal(config.port, 8080);
    assert.equal(config.debug, false);
  });

  test('the result is frozen', () => {
    const config = load({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    });
  });
});

describe('scalars', () => {
  test('PORT', () => {
    assert.equal(load({ PORT: '3000' }).port, 3000);
    for (const bad of ['abc', '0', '65536', '-1', '80.5', '8080x'])
      rejects({ PORT: bad }, 'PORT', new RegExp(bad.replace('.', '\\.')));
  });

  test('DEBUG', () => {
    for (const yes of ['true', 'TRUE', '1', 'yes', 'on']) assert.equal(load({ DEBUG: yes }).debug, true, yes);
    for (const no of ['false', 'False', '0', 'no', 'off']) assert.equal(load({ DEBUG: no }).debug, false, no);
    rejects({ DEBUG: 'quizas' }, 'DEBUG', /quizas/);
  });

  test('LOG_LEVEL and BODY_LIMIT_BYTES', () => {
    assert.equal(load({ LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
    rejects({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
    assert.equal(load({ BODY_LIMIT_BYTES: '2048' }).bodyLimitBytes, 2048);
    rejects({ BODY_LIMIT_BYTES: '10' }, 'BODY_LIMIT_BYTES');
  });

  test('ALLOWED_HOSTS: comma-separated, trimmed, lower-cased; empty is an error', () => {
    assert.deepEqual(load({ ALLOWED_HOSTS: ' .Example.com , API.test,, ' }).allowedHosts, [
      '.example.com',
      'api.test',
    ]);
    rejects({ ALLOWED_HOSTS: ' , ' }, 'ALLOWED_HOSTS');
  });
});

describe('database', () => {
  test('DATABASE_URL wins over DATABASE_* and keeps its credentials out of the description', () => {
    const config = load({
      DATABASE_URL: 'postgresql://app:s3cr3t@db.internal:6543/usuarios',
      DATABASE_NAME: 'otra',
      DATABASE_HOST: 'otro',
    });
    assert.equal(config.database.kind, 'postgres');
    if (config.database.kind !== 'postgres') return;
    assert.equal(
      config.database.connection.connectionString,
      'postgresql://app:s3cr3t@db.internal:6543/usuarios',
    );
    assert.equal(config.database.connection.database, 'usuarios');
    assert.equal(config.database.description, 'postgres://db.internal:6543/usuarios');
    assert.doesNotMatch(config.database.description, /s3cr3t|app@/);
  });

  test('DATABASE_URL must be a postgres URL', () => {
    rejects({ DATABASE_URL: 'no es una url' }, 'DATABASE_URL');
    rejects({ DATABASE_URL: 'mysql://u@h/db' }, 'DATABASE_URL');
  });

  test('DATABASE_NAME/USER/PASSWORD/HOST/PORT, with host localhost and port 5432 by default', () => {
    const config = load({ DATABASE_NAME: 'usuarios', DATABASE_USER: 'app', DATABASE_PASSWORD: 'pw' });
    assert.equal(config.database.kind, 'postgres');
    if (config.database.kind !== 'postgres') return;
    assert.deepEqual(config.database.connection, {
      host: 'localhost',
      port: 5432,
      database: 'usuarios',
      user: 'app',
      password: 'pw',
    });
    // A small pool by default (its exact size is a deployment decision, see DEPLOY.md).
    assert.ok(config.database.poolMax >= 1 && config.database.poolMax <= 10);
    assert.doesNotMatch(config.database.description, /pw/);
    const other = load({ DATABASE_NAME: 'u', DATABASE_HOST: '10.0.0.3', DATABASE_PORT: '5433' });
    assert.equal(other.database.kind === 'postgres' && other.database.connection.host, '10.0.0.3');
    assert.equal(other.database.kind === 'postgres' && other.database.connection.port, 5433);
  });

  test('a partial configuration names the missing or bad variable', () => {
    rejects({ DATABASE_HOST: 'db' }, 'DATABASE_NAME', /DATABASE_HOST/);
    rejects({ DATABASE_USER: 'app' }, 'DATABASE_NAME', /DATABASE_USER/);
    rejects({ DATABASE_NAME: 'u', DATABASE_PORT: 'cinco' }, 'DATABASE_PORT', /cinco/);
    rejects({ DATABASE_NAME: 'u', DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX');
    rejects({ DATABASE_NAME: 'u', DATABASE_CONNECT_TIMEOUT_MS: 'x' }, 'DATABASE_CONNECT_TIMEOUT_MS');
    rejects({ DATABASE_NAME: 'u', DATABASE_STATEMENT_TIMEOUT_MS: '5' }, 'DATABASE_STATEMENT_TIMEOUT_MS');
  });

  test('CLOUD_SQL_CONNECTION_NAME connects over /cloudsql/<name>; the root can be overridden', () => {
    const env = {
      CLOUD_SQL_CONNECTION_NAME: 'proj:europe-west1:inst',
      DATABASE_NAME: 'u',
      DATABASE_USER: 'x',
    };
    const config = load(env);
    assert.equal(
      config.database.kind === 'postgres' && config.database.connection.host,
      '/cloudsql/proj:europe-west1:inst',
    );
    assert.equal(config.gcpProject, 'proj');
    const moved = load({ ...env, CLOUD_SQL_SOCKET_DIR: '/tmp/sockets' });
    assert.equal(
      moved.database.kind === 'postgres' && moved.database.connection.host,
      '/tmp/sockets/proj:europe-west1:inst',
    );
    rejects(
      { CLOUD_SQL_CONNECTION_NAME: 'solo-instancia', DATABASE_NAME: 'u' },
      'CLOUD_SQL_CONNECTION_NAME',
      /solo-instancia/,
    );
    rejects({ CLOUD_SQL_CONNECTION_NAME: 'p:r:i' }, 'DATABASE_NAME', /CLOUD_SQL_CONNECTION_NAME/);
  });
});
