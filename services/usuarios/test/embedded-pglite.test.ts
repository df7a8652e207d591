// CONTRACT §4 and §5.6: with no database configured at all, the service runs on embedded PGlite in a
// data folder, migrating it itself and creating the administrador of ADMIN_EMAIL/ADMIN_PASSWORD at
// start; its signing key is generated once and kept beside the folder. The data, the key (so tokens
// issued before a restart still verify after it) and the refresh tokens all survive a restart.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '@servicios/platform';
import type { FastifyInstance } from 'fastify';
import { buildApp, servicio } from '../src/app.ts';
import { ADMIN, PASSWORD } from './support.ts';

let parent: string;
let dataDir: string;
let keyFile: string;
before(async () => {
  // The key goes beside the data folder: both inside one temporary parent, removed as a whole.
  parent = await mkdtemp(path.join(tmpdir(), 'usuarios-pglite-'));
  dataDir = path.join(parent, 'datos');
  keyFile = `${dataDir}-jwt-private-key.pem`;
});
after(() => rm(parent, { recursive: true, force: true }));

async function start(env: Record<string, string> = {}) {
  // No DATABASE_* and no JWT_PRIVATE_KEY at all: only the folder, so the run leaves nothing in the repository.
  const config = loadConfig(
    { PGLITE_DATA_DIR: dataDir, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...env },
    { service: servicio.name },
  );
  assert.equal(config.database.kind, 'pglite');
  assert.equal(config.identity.privateKeyPem, undefined);
  return buildApp({ config, logger: false });
}

async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST',
  url: string,
  payload?: object,
  token?: string,
) {
  return app.inject({
    method,
    url,
    ...(payload ? { payload } : {}),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

async function login(app: FastifyInstance, email: string, password: string) {
  const res = await call(app, 'POST', '/api/token/', { email, password });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { access: string; refresh: string };
}

test('starts, migrates, creates, lists and searches; data, key and tokens outlive a restart', async () => {
  let tokens: { access: string; refresh: string };
  let key: string;
  let kid: string;
  let creadoId: number;
  const app = await start();
  try {
    assert.equal((await call(app, 'GET', '/readyz')).statusCode, 200);
    assert.ok(existsSync(keyFile), `${keyFile} was written at start`);
    key = readFileSync(keyFile, 'utf8');
    assert.match(key, /^-----BEGIN PRIVATE KEY-----/);

    // Anonymous registration, as a newcomer would do it.
    const created = await call(app, 'POST', '/api/usuarios/', {
      email: ' Embebido@Example.com ',
      nombre: 'Zoë 🙂',
      apellido: 'Sin Servidor',
      password: PASSWORD,
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().email, 'embebido@example.com');
    assert.equal(created.json().nombre, 'Zoë 🙂');
    assert.equal(created.json().tipo_usuario, 'cliente');
    creadoId = created.json().id;
    const dup = await call(app, 'POST', '/api/usuarios/', {
      email: 'EMBEBIDO@example.com',
      nombre: 'a',
      apellido: 'b',
      password: PASSWORD,
    });
    assert.deepEqual([dup.statusCode, dup.json()], [400, { email: ['Email ya existe'] }]);

    // The administrador made at start logs in and sees the list; without a token the list is closed.
    tokens = await login(app, ADMIN.email, ADMIN.password);
    assert.equal((await call(app, 'GET', '/api/usuarios/')).statusCode, 401);
    const list = await call(app, 'GET', '/api/usuarios/?search=servidor', undefined, tokens.access);
    assert.equal(list.statusCode, 200, list.body);
    assert.equal(list.json().count, 1);
    assert.equal(list.json().results[0].id, creadoId);
    const me = await call(app, 'GET', '/api/usuarios/me/', undefined, tokens.access);
    assert.deepEqual([me.json().email, me.json().tipo_usuario], [ADMIN.email, 'administrador']);
    const jwks = await call(app, 'GET', '/.well-known/jwks.json');
    kid = jwks.json().keys[0].kid;
    assert.ok(kid);
  } finally {
    await app.close();
  }

  // Restarted with the administrador's e-mail in another case and another password: the existing
  // administrador is left as it is (§5.6), not duplicated nor changed.
  const again = await start({
    ADMIN_EMAIL: ADMIN.email.toUpperCase(),
    ADMIN_PASSWORD: 'Otra-clave-de-arranque-2026',
  });
  try {
    assert.equal(readFileSync(keyFile, 'utf8'), key, 'the same key after the restart');
    assert.equal((await call(again, 'GET', '/.well-known/jwks.json')).json().keys[0].kid, kid);

    // Tokens issued before the restart still verify after it.
    const me = await call(again, 'GET', '/api/usuarios/me/', undefined, tokens.access);
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(me.json().email, ADMIN.email);
    for (const token of [tokens.access, tokens.refresh]) {
      const verify = await call(again, 'POST', '/api/token/verify/', { token });
      assert.deepEqual([verify.statusCode, verify.json()], [200, {}]);
    }
    const refreshed = await call(again, 'POST', '/api/token/refresh/', { refresh: tokens.refresh });
    assert.equal(refreshed.statusCode, 200, refreshed.body);

    const list = await call(again, 'GET', '/api/usuarios/', undefined, tokens.access);
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(
      list.json().results.map((u: { email: string }) => u.email),
      ['embebido@example.com', ADMIN.email],
    );
    await login(again, ADMIN.email, ADMIN.password);
    const otra = await call(again, 'POST', '/api/token/', {
      email: ADMIN.email,
      password: 'Otra-clave-de-arranque-2026',
    });
    assert.equal(otra.statusCode, 401);
    await login(again, 'embebido@example.com', PASSWORD);
  } finally {
    await again.close();
  }
});
