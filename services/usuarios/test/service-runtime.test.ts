// CONTRACT §1 health and docs, §1 "other errors" 500/503, §4 DEBUG, ALLOWED_HOSTS and JWT_PRIVATE_KEY
// (required on PostgreSQL). Each case builds its own app with buildApp and a configuration, and talks
// to it with Fastify's inject. Every app signs with one key, so the administrador's token (§5.3, got
// once from an app on the live database) opens the protected routes of all of them, a database that
// is down included: access tokens are verified without it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '@servicios/platform';
import { createTestDatabase, signingKey, type TestDatabase } from '@servicios/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp, servicio } from '../src/app.ts';
import { migrar } from '../src/bootstrap.ts';
import { ADMIN, nuevoUsuario } from './support.ts';

let db: TestDatabase;
const apps: FastifyInstance[] = [];
const KEY = signingKey();
/** The administrador's Authorization header. */
let admin: { authorization: string };

before(async () => {
  db = await createTestDatabase('usuarios_runtime');
  await migrar(
    loadConfig(
      {
        DATABASE_URL: db.url,
        JWT_PRIVATE_KEY: KEY.privateKeyPem,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      },
      { service: servicio.name },
    ),
  );
  const res = await (await app()).inject({
    method: 'POST',
    url: '/api/token/',
    payload: { email: ADMIN.email, password: ADMIN.password },
  });
  assert.equal(res.statusCode, 200, res.body);
  admin = { authorization: `Bearer ${res.json().access}` };
});
after(async () => {
  for (const app of apps) await app.close();
  await db?.drop();
});

/** An app on the test database (or on `env.DATABASE_URL`), signing with KEY, with logs silenced. */
async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig(
    { DATABASE_URL: db.url, JWT_PRIVATE_KEY: KEY.privateKeyPem, ...env },
    { service: servicio.name },
  );
  const built = await buildApp({ config, logger: false });
  apps.push(built);
  return built;
}

// Nothing listens on port 1: connections are refused at once, as when the database is down.
const DB_CAIDA = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nada',
  DATABASE_CONNECT_TIMEOUT_MS: '1000',
};

describe('health', () => {
  test('/healthz, /health, /readyz and /ready answer {"status": "OK"}', async () => {
    const a = await app();
    for (const url of ['/healthz', '/health', '/readyz', '/ready', '/healthz/', '/ready/']) {
      const res = await a.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.deepEqual(res.json(), { status: 'OK' }, url);
    }
  });

  test('with the database down: liveness 200, readiness 503 with Retry-After', async () => {
    const a = await app(DB_CAIDA);
    for (const url of ['/healthz', '/health']) {
      const res = await a.inject({ method: 'GET', url });
      assert.deepEqual([res.statusCode, res.json()], [200, { status: 'OK' }], url);
    }
    for (const url of ['/readyz', '/ready']) {
      const res = await a.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.json().status, 'ERROR');
      assert.equal(typeof res.json().detail, 'string');
      assert.match(String(res.headers['retry-after']), /^\d+$/);
    }
  });
});

describe('503 when the database is unreachable', () => {
  test('every data route answers 503 {"detail"} with Retry-After, never 500', async () => {
    const a = await app(DB_CAIDA);
    for (const [method, url, payload] of [
      ['GET', '/api/usuarios/'],
      ['GET', '/api/usuarios/?search=ana&page=2'],
      ['POST', '/api/usuarios/', nuevoUsuario()],
      ['GET', '/api/usuarios/1/'],
      ['GET', '/api/usuarios/me/'],
      ['PUT', '/api/usuarios/1/', nuevoUsuario()],
      ['PATCH', '/api/usuarios/1/', { nombre: 'x' }],
      ['DELETE', '/api/usuarios/1/'],
      ['POST', '/api/usuarios/1/activar/'],
      ['POST', '/api/usuarios/1/password/', { password: 'Otra-clave-larga-2026' }],
      ['POST', '/api/token/', { email: ADMIN.email, password: ADMIN.password }],
    ] as const) {
      const res = await a.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
      assert.equal(res.statusCode, 503, `${method} ${url}: ${res.body}`);
      assert.deepEqual(Object.keys(res.json()), ['detail']);
      assert.match(String(res.headers['retry-after']), /^\d+$/);
      assert.doesNotMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|postgres/i);
    }
  });

  test('an anonymous registration, which the throttle must count, is a 503 too', async () => {
    const a = await app(DB_CAIDA);
    const res = await a.inject({ method: 'POST', url: '/api/usuarios/', payload: nuevoUsuario() });
    assert.equal(res.statusCode, 503, res.body);
    assert.match(String(res.headers['retry-after']), /^\d+$/);
  });

  test('authentication and validation still come first, without touching the database', async () => {
    const a = await app(DB_CAIDA);
    const anonimo = await a.inject({ method: 'GET', url: '/api/usuarios/' });
    assert.equal(anonimo.statusCode, 401, anonimo.body);
    const res = await a.inject({
      method: 'POST',
      url: '/api/usuarios/',
      headers: admin,
      payload: { email: 'x' },
    });
    assert.equal(res.statusCode, 400, res.body);
  });
});

describe('JWT_PRIVATE_KEY', () => {
  test('a service on PostgreSQL without a signing key refuses to start, naming the variable', async () => {
    for (const env of [
      { DATABASE_URL: db.url },
      { DATABASE_NAME: db.name, DATABASE_USER: 'postgres', DATABASE_HOST: '127.0.0.1' },
      { DATABASE_URL: db.url, JWT_PRIVATE_KEY: '' },
    ]) {
      await assert.rejects(
        async () => {
          const built = await buildApp({
            config: loadConfig(env, { service: servicio.name }),
            logger: false,
          });
          apps.push(built);
        },
        (err: Error) => err.name === 'ConfigError' && /JWT_PRIVATE_KEY/.test(err.message),
        JSON.stringify(Object.keys(env)),
      );
    }
  });

  test('a value that is not a PEM private key is refused the same way', async () => {
    for (const value of ['not a key', KEY.publicKeyPem]) {
      await assert.rejects(
        () => app({ JWT_PRIVATE_KEY: value }),
        (err: Error) => err.name === 'ConfigError' && /JWT_PRIVATE_KEY/.test(err.message),
      );
    }
  });
});

describe('500', () => {
  async function withBoom(debug: boolean) {
    const a = await app({ DEBUG: String(debug) });
    a.get('/boom', async () => {
      throw new Error('relation "secreto" does not exist: SELECT * FROM secreto');
    });
    return a.inject({ method: 'GET', url: '/boom' });
  }

  test('with DEBUG=false says only {"detail": "Error interno del servidor."}', async () => {
    const res = await withBoom(false);
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { detail: 'Error interno del servidor.' });
    assert.doesNotMatch(res.body, /secreto|SELECT|at /);
  });

  test('DEBUG defaults to false', async () => {
    const a = await app();
    a.get('/boom', async () => {
      throw new Error('internal secret');
    });
    const res = await a.inject({ method: 'GET', url: '/boom' });
    assert.deepEqual([res.statusCode, res.json()], [500, { detail: 'Error interno del servidor.' }]);
  });

  test('with DEBUG=true shows the message and the stack', async () => {
    const res = await withBoom(true);
    assert.equal(res.statusCode, 500);
    const body = res.json();
    assert.equal(body.detail, 'Error interno del servidor.');
    assert.match(body.error, /secreto/);
    assert.match(body.stack, /service-runtime\.test\.ts/);
  });
});

describe('ALLOWED_HOSTS', () => {
  test('accepts the listed hosts, a leading dot meaning the domain and its subdomains', async () => {
    const a = await app({ ALLOWED_HOSTS: '.example.com, api.test' });
    for (const host of ['example.com', 'www.example.com', 'a.b.example.com', 'API.TEST', 'api.test:8080']) {
      const res = await a.inject({ method: 'GET', url: '/api/usuarios/', headers: { ...admin, host } });
      assert.equal(res.statusCode, 200, host);
    }
  });

  test('refuses other hosts with 400, on every route, before authentication', async () => {
    const a = await app({ ALLOWED_HOSTS: '.example.com,api.test' });
    const contar = async () =>
      (await db.query('SELECT count(*)::int AS n FROM usuarios_usuario')).rows[0]!.n as number;
    const antes = await contar();
    for (const host of ['evil.com', 'badexample.com', 'example.com.evil.com', 'x.api.test', 'localhost']) {
      for (const [method, url, payload] of [
        ['GET', '/api/usuarios/'],
        ['POST', '/api/usuarios/', nuevoUsuario()],
        ['GET', '/api/schema/'],
        ['GET', '/nada/'],
        ['POST', '/api/token/', { email: ADMIN.email, password: ADMIN.password }],
      ] as const) {
        // Without a token and with the administrador's: the host is refused either way.
        for (const headers of [{ host }, { ...admin, host }]) {
          const res = await a.inject({ method, url, headers, ...(payload ? { payload } : {}) });
          assert.equal(res.statusCode, 400, `${host} ${method} ${url}`);
          assert.deepEqual(res.json(), { detail: 'Host no permitido.' });
        }
      }
    }
    assert.equal(await contar(), antes, 'no refused request created a user');
  });

  test('health paths are exempt (platform probes do not send the public host)', async () => {
    const a = await app({ ALLOWED_HOSTS: 'api.test' });
    for (const url of ['/healthz', '/health', '/readyz', '/ready', '/healthz/', '/readyz?x=1']) {
      const res = await a.inject({ method: 'GET', url, headers: { host: '10.0.0.7:8080' } });
      assert.equal(res.statusCode, 200, url);
    }
  });

  test('"*" (the default) accepts any host', async () => {
    const a = await app();
    const res = await a.inject({
      method: 'GET',
      url: '/api/usuarios/',
      headers: { ...admin, host: 'whatever.invalid' },
    });
    assert.equal(res.statusCode, 200);
  });
});

describe('documentation', () => {
  test('/api/schema/ is an OpenAPI 3.1 document with the usuarios paths', async () => {
    const a = await app();
    for (const url of ['/api/schema/', '/api/schema']) {
      const res = await a.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      const doc = res.json();
      assert.match(doc.openapi, /^3\.1\./);
      assert.equal(doc.info.title, 'servicio-usuarios');
      const paths = Object.keys(doc.paths);
      for (const path of [
        '/api/usuarios/',
        '/api/usuarios/{id}/',
        '/api/usuarios/{id}/activar/',
        '/api/usuarios/{id}/desactivar/',
        '/api/usuarios/{id}/password/',
        '/api/usuarios/me/',
        '/api/token/',
        '/api/token/refresh/',
        '/api/token/verify/',
        '/api/token/blacklist/',
      ]) {
        assert.ok(paths.includes(path), `${path} missing from ${paths}`);
      }
      const item = doc.paths['/api/usuarios/{id}/'];
      for (const method of ['get', 'put', 'patch', 'delete']) assert.ok(item[method], method);
      assert.ok(doc.paths['/api/usuarios/'].post.requestBody);
      // The bearer scheme is documented, so that the interactive page can send a token.
      const schemes = Object.values(doc.components?.securitySchemes ?? {}) as { scheme?: string }[];
      assert.ok(
        schemes.some((scheme) => scheme.scheme?.toLowerCase() === 'bearer'),
        JSON.stringify(schemes),
      );
    }
  });

  test('/api/docs/ serves an HTML page', async () => {
    const a = await app();
    for (const url of ['/api/docs/', '/api/docs']) {
      const res = await a.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /<html|<!DOCTYPE/i);
    }
  });
});
