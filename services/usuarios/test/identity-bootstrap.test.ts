// CONTRACT §4 (ADMIN_EMAIL, ADMIN_PASSWORD) and §5.6: the migrate step creates the first
// administrador (active, named Administrador Sistema or ADMIN_NOMBRE/ADMIN_APELLIDO), is idempotent,
// never changes an existing user with that e-mail in any case, and refuses a password that fails
// §5.1's validators with their messages, never printing the password. The real command
// (src/migrate.ts, run through tsx as the runner runs the sources) is run as a child process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@servicios/platform';
import {
  client,
  createTestDatabase,
  login,
  type RunningService,
  signingKey,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import { buildApp, servicio } from '../src/app.ts';
import { migrar } from '../src/bootstrap.ts';
import { assertAnswer } from './identity-support.ts';
import { nuevoUsuario } from './support.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MIGRATE = 'services/usuarios/src/migrate.ts';
const CLAVE = 'Arranque-Seguro-2026';

const abiertos: { db: TestDatabase; service?: RunningService }[] = [];
after(async () => {
  for (const { db, service } of abiertos) {
    await service?.close();
    await db.drop();
  }
});

/** A fresh database (dropped after the file). */
async function baseNueva(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(`identity_bootstrap_${label}`);
  abiertos.push({ db });
  return db;
}

/** The migrate step, imported, with this environment on that database. */
const migrarCon = (db: TestDatabase, env: Record<string, string>) =>
  migrar(loadConfig({ DATABASE_URL: db.url, ...env }, { service: servicio.name }));

/** The service on that (already migrated) database, to log in over HTTP. */
async function servir(db: TestDatabase) {
  const service = await startService(servicio, buildApp, {
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEY: signingKey().privateKeyPem,
  });
  abiertos.find((a) => a.db === db)!.service = service;
  return client(service.url);
}

const filas = async (db: TestDatabase) =>
  (await db.query('SELECT * FROM usuarios_usuario ORDER BY id')).rows as Record<string, any>[];

/** Runs the real migrate command; resolves with its exit code and output, whatever the outcome. */
function comando(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=servicios-source', '--import', 'tsx', MIGRATE],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

describe('the migrate step (imported)', () => {
  test('creates an active administrador named Administrador Sistema, who logs in', async () => {
    const db = await baseNueva('defaults');
    const resultado = await migrarCon(db, { ADMIN_EMAIL: 'Jefa@Example.com', ADMIN_PASSWORD: CLAVE });
    assert.deepEqual(resultado, { administrador: 'creado' });
    const [admin, ...resto] = await filas(db);
    assert.equal(resto.length, 0);
    assert.equal(admin!.email, 'jefa@example.com');
    assert.equal(admin!.tipo_usuario, 'administrador');
    assert.equal(admin!.activo, true);
    assert.equal(admin!.nombre, 'Administrador');
    assert.equal(admin!.apellido, 'Sistema');
    assert.match(admin!.password, /^\$argon2id\$/);
    const api = await servir(db);
    const tokens = await login(api, 'JEFA@example.com', CLAVE);
    const me = await api.as(tokens.access).get('/api/usuarios/me/');
    assertAnswer(me, 200);
    assert.equal(me.body.tipo_usuario, 'administrador');
    assert.equal(me.body.nombre_completo, 'Administrador Sistema');
    // An administrador indeed: it may list users and create other administradores.
    assertAnswer(await api.as(tokens.access).get('/api/usuarios/'), 200);
    assertAnswer(
      await api.as(tokens.access).post('/api/usuarios/', nuevoUsuario({ tipo_usuario: 'administrador' })),
      201,
    );
  });

  test('uses ADMIN_NOMBRE and ADMIN_APELLIDO', async () => {
    const db = await baseNueva('nombre');
    await migrarCon(db, {
      ADMIN_EMAIL: 'ops@example.com',
      ADMIN_PASSWORD: CLAVE,
      ADMIN_NOMBRE: 'Lucía',
      ADMIN_APELLIDO: 'Fernández',
    });
    const [admin] = await filas(db);
    assert.equal(admin!.nombre, 'Lucía');
    assert.equal(admin!.apellido, 'Fernández');
  });

  test('is idempotent: a second run, even with another password or name, changes nothing', async () => {
    const db = await baseNueva('idempotent');
    const env = { ADMIN_EMAIL: 'ops@example.com', ADMIN_PASSWORD: CLAVE };
    await migrarCon(db, env);
    const antes = await filas(db);
    assert.deepEqual(await migrarCon(db, env), { administrador: 'existente' });
    assert.deepEqual(
      await migrarCon(db, { ...env, ADMIN_PASSWORD: 'Otra-Clave-Distinta-99', ADMIN_NOMBRE: 'Otro' }),
      { administrador: 'existente' },
    );
    assert.deepEqual(await migrarCon(db, { ...env, ADMIN_EMAIL: 'OPS@Example.COM' }), {
      administrador: 'existente',
    });
    assert.deepEqual(await filas(db), antes);
    const api = await servir(db);
    assertAnswer(await api.post('/api/token/', { email: 'ops@example.com', password: CLAVE }), 200);
    assertAnswer(
      await api.post('/api/token/', { email: 'ops@example.com', password: 'Otra-Clave-Distinta-99' }),
      401,
    );
  });

  test('an existing user with that e-mail in another case is left exactly as it is', async () => {
    const db = await baseNueva('existing');
    await migrarCon(db, {});
    const api = await servir(db);
    const datos = nuevoUsuario({ email: 'ana.jefa@example.com' });
    assertAnswer(await api.post('/api/usuarios/', datos), 201);
    const antes = await filas(db);
    assert.deepEqual(await migrarCon(db, { ADMIN_EMAIL: 'ANA.Jefa@Example.COM', ADMIN_PASSWORD: CLAVE }), {
      administrador: 'existente',
    });
    assert.deepEqual(await filas(db), antes);
    assert.equal(antes[0]!.tipo_usuario, 'cliente');
    assertAnswer(await api.post('/api/token/', { email: 'ana.jefa@example.com', password: CLAVE }), 401);
    assertAnswer(
      await api.post('/api/token/', { email: 'ana.jefa@example.com', password: datos.password }),
      200,
    );
  });

  test('without both ADMIN_EMAIL and ADMIN_PASSWORD no user is created', async () => {
    const db = await baseNueva('partial');
    assert.deepEqual(await migrarCon(db, { ADMIN_EMAIL: 'ops@example.com' }), {});
    assert.deepEqual(await migrarCon(db, { ADMIN_PASSWORD: CLAVE }), {});
    assert.equal((await filas(db)).length, 0);
  });

  test('a password that fails the validators fails with their messages, not the password', async () => {
    const db = await baseNueva('invalid');
    const casos: [Record<string, string>, string, string][] = [
      [
        { ADMIN_PASSWORD: 'Zq9#xw' },
        'Zq9#xw',
        'Esta contraseña es demasiado corta. Debe contener al menos 8 caracteres.',
      ],
      [{ ADMIN_PASSWORD: 'iloveyou' }, 'iloveyou', 'Esta contraseña es demasiado común.'],
      [{ ADMIN_PASSWORD: '73910264835' }, '73910264835', 'Esta contraseña es completamente numérica.'],
      // The similarity check uses the default name, and ADMIN_NOMBRE when given.
      [
        { ADMIN_PASSWORD: 'Sistema-77' },
        'Sistema-77',
        'La contraseña es demasiado similar a la de apellido.',
      ],
      [
        { ADMIN_PASSWORD: 'Valentina-2026', ADMIN_NOMBRE: 'Valentina' },
        'Valentina-2026',
        'La contraseña es demasiado similar a la de nombre.',
      ],
    ];
    for (const [env, clave, mensaje] of casos) {
      await assert.rejects(migrarCon(db, { ADMIN_EMAIL: 'ops@example.com', ...env }), (err: Error) => {
        assert.ok(err.message.includes(mensaje), err.message);
        assert.ok(!err.message.includes(clave), err.message);
        return true;
      });
    }
    assert.equal((await filas(db)).length, 0);
  });
});

describe('the migrate command (a child process)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await baseNueva('command');
  });

  test('creates the administrador, prints JSON lines without the password, and is idempotent', async () => {
    const env = { DATABASE_URL: db.url, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: CLAVE };
    const primera = await comando(env);
    assert.equal(primera.code, 0, `${primera.stdout}\n${primera.stderr}`);
    const salida = `${primera.stdout}${primera.stderr}`;
    assert.ok(!salida.includes(CLAVE), salida);
    assert.ok(!salida.includes('$argon2'), salida);
    const lineas = primera.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      lineas.some((l) => /created/.test(String(l.message))),
      primera.stdout,
    );
    const [admin, ...resto] = await filas(db);
    assert.equal(resto.length, 0);
    assert.equal(admin!.email, 'root@example.com');
    assert.equal(admin!.tipo_usuario, 'administrador');
    assert.equal(admin!.activo, true);

    const segunda = await comando(env);
    assert.equal(segunda.code, 0, `${segunda.stdout}\n${segunda.stderr}`);
    assert.ok(!`${segunda.stdout}${segunda.stderr}`.includes(CLAVE));
    assert.deepEqual(await filas(db), [admin]);
  });

  test('an invalid password makes it fail with the messages, never printing the password', async () => {
    const nueva = await baseNueva('command_invalid');
    const clave = 'Zq9#xw';
    const res = await comando({
      DATABASE_URL: nueva.url,
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD: clave,
    });
    assert.notEqual(res.code, 0, res.stdout);
    const salida = `${res.stdout}${res.stderr}`;
    assert.ok(
      salida.includes('Esta contraseña es demasiado corta. Debe contener al menos 8 caracteres.'),
      salida,
    );
    assert.ok(!salida.includes(clave), salida);
    assert.equal((await filas(nueva)).length, 0);
  });
});
