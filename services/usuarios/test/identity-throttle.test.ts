// CONTRACT §5.5 behind one trusted proxy (TRUSTED_PROXY_HOPS=1, as on Cloud Run): the client is the
// right-most X-Forwarded-For entry, so each test is a client of its own. More than 5 failed logins for
// an e-mail from an address (counted atomically, without case, cleared by a success, refused ones not
// counted, 400s only per address), the per-address login limit and the registration limit (both made
// small here), Retry-After, and counts kept in the database, shared by two instances.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type ApiResponse, client, signingKey, startService } from '@servicios/testing';
import { buildApp, servicio } from '../src/app.ts';
import { assertAnswer, SIN_CUENTA } from './identity-support.ts';
import { nuevoUsuario, type Suite, startUsuarios } from './support.ts';

const LIMITES = {
  TRUSTED_PROXY_HOPS: '1',
  THROTTLE_LOGIN_ATTEMPTS: '12',
  THROTTLE_REGISTRATIONS: '3',
};
let s: Suite;

before(async () => {
  s = await startUsuarios('identity_throttle', LIMITES);
});
after(() => s?.close());

let ultima = 0;
/** An address no other test uses (TEST-NET-3). */
const direccion = () => `203.0.113.${++ultima}`;

/** A user created by the administrador (no login, so no attempt is counted anywhere). */
async function crear(): Promise<{ email: string; password: string }> {
  const datos = nuevoUsuario();
  assertAnswer(await s.api.post('/api/usuarios/', datos), 201);
  return { email: String(datos.email), password: String(datos.password) };
}

const correoDesconocido = () => `nadie-${randomBytes(4).toString('hex')}@example.com`;

function login(xff: string, cuerpo: Record<string, unknown>, base = s.url): Promise<ApiResponse> {
  return client(base).request('POST', '/api/token/', { json: cuerpo, headers: { 'x-forwarded-for': xff } });
}

/** A 429 in the contract's words, whose Retry-After is the N of its detail; returns N. */
function assert429(res: ApiResponse, message?: string): number {
  assert.equal(res.status, 429, `${message ?? ''} ${res.status} ${res.text}`);
  const m = /^Solicitud fue regulada \(throttled\)\. Se espera que esté disponible en (\d+) segundos\.$/.exec(
    res.body.detail,
  );
  assert.ok(m, res.text);
  assert.deepEqual(Object.keys(res.body), ['detail']);
  assert.equal(res.headers.get('retry-after'), m[1]);
  return Number(m[1]);
}

/** The attempts still stored for the keys that name this address (and this e-mail, if given). */
async function marcas(ip: string, email?: string): Promise<number> {
  const { rows } = await s.db.query(
    // Keys are `<kind>:<address>[:<e-mail>]` (usuarios_limite); the address is matched exactly.
    `SELECT coalesce(sum(cardinality(marcas)), 0)::int AS n FROM usuarios_limite
      WHERE split_part(clave, ':', 2) = $1
        AND CASE WHEN $2::text IS NULL THEN clave NOT LIKE '%@%' ELSE clave LIKE '%:' || $2 END`,
    [ip, email?.toLowerCase() ?? null],
  );
  return rows[0]!.n;
}

describe('failed logins per e-mail and address', () => {
  test('10 concurrent wrong passwords: 5 are judged (401), the rest 429; then the right one is 429 too', async () => {
    const u = await crear();
    const ip = direccion();
    const respuestas = await Promise.all(
      Array.from({ length: 10 }, () => login(ip, { email: u.email, password: `${u.password}-no` })),
    );
    const estados = respuestas.map((r) => r.status);
    assert.equal(estados.filter((e) => e === 401).length, 5, `${estados}`);
    assert.equal(estados.filter((e) => e === 429).length, 5, `${estados}`);
    for (const res of respuestas) {
      if (res.status === 401) assert.deepEqual(res.body, SIN_CUENTA);
      else assert429(res);
    }
    // Refused before the password is looked at: the right one cannot tell a guesser it was right.
    const espera = assert429(await login(ip, u));
    assert.ok(espera > 800 && espera <= 900, `Retry-After ${espera}: 15 minutes from the oldest failure`);
    // Refused requests are not counted, neither for the e-mail nor for the address.
    assert.equal(await marcas(ip, u.email), 5);
    assert.equal(await marcas(ip), 5);
    // Another address is another client.
    assertAnswer(await login(direccion(), u), 200);
  });

  test('a successful login clears the e-mail+address count', async () => {
    const u = await crear();
    const ip = direccion();
    for (let i = 0; i < 4; i++) assertAnswer(await login(ip, { ...u, password: 'Mala-clave-123' }), 401);
    assertAnswer(await login(ip, u), 200);
    assert.equal(await marcas(ip, u.email), 0);
    for (let i = 0; i < 5; i++)
      assertAnswer(await login(ip, { ...u, password: 'Mala-clave-123' }), 401, SIN_CUENTA);
    assert429(await login(ip, { ...u, password: 'Mala-clave-123' }));
    assert429(await login(ip, u));
  });

  test('Retry-After counts to the oldest failure leaving the window, which then lets one more in', async () => {
    const u = await crear();
    const ip = direccion();
    for (let i = 0; i < 5; i++) assertAnswer(await login(ip, { ...u, password: 'Mala-clave-123' }), 401);
    const clave = `%:${ip}:${u.email}`;
    // The oldest failure made 880 s ago: it leaves the 900 s window in about 20 s.
    const envejecer = (segundos: number) =>
      s.db.query(
        `UPDATE usuarios_limite SET marcas[1] = marcas[1] - make_interval(secs => $2) WHERE clave LIKE $1`,
        [clave, segundos],
      );
    assert.equal((await envejecer(880)).rowCount, 1);
    const espera = assert429(await login(ip, u));
    assert.ok(espera >= 15 && espera <= 21, `Retry-After ${espera}`);
    // Once it has left, one attempt is judged again (and counted), then the limit holds again.
    await envejecer(30);
    assertAnswer(await login(ip, { ...u, password: 'Mala-clave-123' }), 401, SIN_CUENTA);
    assert429(await login(ip, u));
  });

  test('e-mails are counted without case (and trimmed)', async () => {
    const u = await crear();
    const ip = direccion();
    const variantes = [
      u.email.toUpperCase(),
      u.email,
      `  ${u.email}  `,
      u.email.replace(/^u/, 'U'),
      u.email.toUpperCase(),
    ];
    for (const email of variantes)
      assertAnswer(await login(ip, { email, password: 'Mala-clave-123' }), 401, SIN_CUENTA);
    assert429(await login(ip, { email: u.email, password: u.password }));
    assert429(await login(ip, { email: u.email.toUpperCase(), password: u.password }));
  });

  test('unknown e-mails are counted the same way', async () => {
    const ip = direccion();
    const email = correoDesconocido();
    for (let i = 0; i < 5; i++)
      assertAnswer(await login(ip, { email, password: 'Mala-clave-123' }), 401, SIN_CUENTA);
    assert429(await login(ip, { email, password: 'Mala-clave-123' }));
  });

  test('a 400 (missing field) is no failure for the e-mail', async () => {
    const u = await crear();
    const ip = direccion();
    for (let i = 0; i < 5; i++) assertAnswer(await login(ip, { email: u.email }), 400);
    assert.equal(await marcas(ip, u.email), 0);
    for (let i = 0; i < 5; i++)
      assertAnswer(await login(ip, { ...u, password: 'Mala-clave-123' }), 401, SIN_CUENTA);
    assert429(await login(ip, u));
  });
});

describe('the client address', () => {
  test('prepending X-Forwarded-For entries does not make another client: the right-most one is', async () => {
    const u = await crear();
    const cliente = direccion();
    for (let i = 0; i < 5; i++) {
      const xff = `198.51.100.${i}, 10.0.0.${i}, ${cliente}`;
      assertAnswer(await login(xff, { ...u, password: 'Mala-clave-123' }), 401, SIN_CUENTA);
    }
    assert429(await login(`192.0.2.77, ${cliente}`, u));
    assert429(await login(cliente, u));
    // A different right-most entry is a different client.
    assertAnswer(await login(`${cliente}, ${direccion()}`, u), 200);
  });
});

describe('attempts per address', () => {
  test('more than 12 (configured) login attempts from one address are 429, whatever the e-mail', async () => {
    const u = await crear();
    const ip = direccion();
    // Failures for many e-mails, and 400s: all are attempts from the address.
    for (let i = 0; i < 9; i++) {
      assertAnswer(
        await login(ip, { email: correoDesconocido(), password: 'Mala-clave-123' }),
        401,
        SIN_CUENTA,
      );
    }
    for (let i = 0; i < 3; i++) assertAnswer(await login(ip, { password: 'Mala-clave-123' }), 400);
    assert.equal(await marcas(ip), 12);
    const espera = assert429(await login(ip, u));
    assert.ok(espera > 3500 && espera <= 3600, `Retry-After ${espera}: an hour from the oldest attempt`);
    assert429(await login(ip, { email: u.email }));
    assert.equal(await marcas(ip), 12);
    assertAnswer(await login(direccion(), u), 200);
  });
});

describe('registrations per address', () => {
  const registrar = (ip: string, cuerpo: Record<string, unknown>, token?: string) =>
    client(s.url, token).request('POST', '/api/usuarios/', {
      json: cuerpo,
      headers: { 'x-forwarded-for': ip },
    });

  test('more than 3 (configured) anonymous registrations from one address are 429', async () => {
    const ip = direccion();
    // A 403 by tipo_usuario is decided before validation: not counted.
    for (let i = 0; i < 4; i++) {
      assertAnswer(await registrar(ip, nuevoUsuario({ tipo_usuario: 'administrador' })), 403);
    }
    // Anything that reaches validation counts, a 400 included.
    assertAnswer(await registrar(ip, nuevoUsuario()), 201);
    assertAnswer(await registrar(ip, { email: 'no-es-un-correo' }), 400);
    assertAnswer(await registrar(ip, nuevoUsuario()), 201);
    const datos = nuevoUsuario();
    const espera = assert429(await registrar(ip, datos));
    assert.ok(espera > 3500 && espera <= 3600, `Retry-After ${espera}`);
    const creado = await s.db.query('SELECT 1 FROM usuarios_usuario WHERE email = $1', [datos.email]);
    assert.equal(creado.rowCount, 0);
    assert.equal(await marcas(ip), 3);
    // Another address registers.
    assertAnswer(await registrar(direccion(), nuevoUsuario()), 201);
  });

  test('a registration made with a token is not counted, nor refused', async () => {
    const ip = direccion();
    const u = await crear();
    const { body: tokens } = await login(direccion(), u);
    for (let i = 0; i < 5; i++) assertAnswer(await registrar(ip, nuevoUsuario(), tokens.access), 201);
    assert.equal(await marcas(ip), 0);
    for (let i = 0; i < 3; i++) assertAnswer(await registrar(ip, nuevoUsuario()), 201);
    assert429(await registrar(ip, nuevoUsuario()));
    assertAnswer(await registrar(ip, nuevoUsuario(), tokens.access), 201);
  });
});

test('the counts live in the database: a second instance sees the same ones', async () => {
  const otra = await startService(servicio, buildApp, {
    DATABASE_URL: s.db.url,
    JWT_PRIVATE_KEY: signingKey().privateKeyPem,
    ...LIMITES,
  });
  try {
    const u = await crear();
    const ip = direccion();
    for (const base of [s.url, otra.url, s.url, otra.url, otra.url]) {
      assertAnswer(await login(ip, { ...u, password: 'Mala-clave-123' }, base), 401, SIN_CUENTA);
    }
    assert429(await login(ip, u, s.url));
    assert429(await login(ip, u, otra.url));
    // Registrations too.
    const ip2 = direccion();
    for (const base of [otra.url, s.url, otra.url]) {
      const res = await client(base).request('POST', '/api/usuarios/', {
        json: nuevoUsuario(),
        headers: { 'x-forwarded-for': ip2 },
      });
      assertAnswer(res, 201);
    }
    for (const base of [s.url, otra.url]) {
      const res = await client(base).request('POST', '/api/usuarios/', {
        json: nuevoUsuario(),
        headers: { 'x-forwarded-for': ip2 },
      });
      assert429(res);
    }
  } finally {
    await otra.close();
  }
});
