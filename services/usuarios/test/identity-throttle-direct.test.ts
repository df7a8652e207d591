// CONTRACT §5.5 with the default configuration: TRUSTED_PROXY_HOPS unset (0) makes the connection's
// own address the client and X-Forwarded-For is ignored entirely, so a guesser cannot become a new
// client by forging it; the default limits (5 failures per e-mail and address in 15 minutes, 100
// login attempts and 20 registrations per address in an hour); and the limits' configuration is
// documented, with the Cloud Run manifest trusting one proxy hop.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type ApiResponse, client } from '@servicios/testing';
import { assertAnswer, SIN_CUENTA } from './identity-support.ts';
import { nuevoUsuario, type Suite, startUsuarios } from './support.ts';

let s: Suite;

before(async () => {
  s = await startUsuarios('identity_throttle_direct');
});
after(() => s?.close());

const conXff = (path: string, json: unknown, xff: string): Promise<ApiResponse> =>
  client(s.url).request('POST', path, { json, headers: { 'x-forwarded-for': xff } });

/** A 429 in the contract's words; returns its Retry-After, which must be the N of its detail. */
function assert429(res: ApiResponse): number {
  assert.equal(res.status, 429, res.text);
  const m = /^Solicitud fue regulada \(throttled\)\. Se espera que esté disponible en (\d+) segundos\.$/.exec(
    res.body.detail,
  );
  assert.ok(m, res.text);
  assert.equal(res.headers.get('retry-after'), m[1]);
  return Number(m[1]);
}

/** Attempts stored for the connection's own address, per kind of key. */
const marcas = async (prefijo: string) =>
  (
    await s.db.query(
      'SELECT coalesce(sum(cardinality(marcas)), 0)::int AS n FROM usuarios_limite WHERE clave LIKE $1',
      [`${prefijo}%`],
    )
  ).rows[0]!.n as number;

test('failed logins with a different forged X-Forwarded-For each are still one client (5 by default)', async () => {
  const datos = nuevoUsuario();
  assertAnswer(await s.api.post('/api/usuarios/', datos), 201);
  const forjadas = ['198.51.100.1', '198.51.100.2', '10.0.0.1, 198.51.100.3', '203.0.113.9', 'unknown'];
  for (const xff of forjadas) {
    assertAnswer(
      await conXff('/api/token/', { email: datos.email, password: 'Mala-clave-123' }, xff),
      401,
      SIN_CUENTA,
    );
  }
  const espera = assert429(
    await conXff('/api/token/', { email: datos.email, password: datos.password }, '192.0.2.200'),
  );
  assert.ok(espera > 800 && espera <= 900, `Retry-After ${espera}: 15 minutes by default`);
  assert429(await s.anon.post('/api/token/', { email: datos.email, password: datos.password }));
  // Stored under the connection's address only: no forged value became a key.
  const claves = (await s.db.query('SELECT clave FROM usuarios_limite')).rows.map((f) => String(f.clave));
  for (const xff of [...forjadas, '192.0.2.200']) {
    assert.ok(!claves.some((c) => c.includes(xff)), `${xff} in ${claves}`);
  }
});

test('registrations with forged X-Forwarded-For values are one client: 20 an hour by default', async () => {
  for (let i = 0; i < 20; i++) {
    assertAnswer(
      await conXff('/api/usuarios/', nuevoUsuario(), `198.51.100.${50 + i}`),
      201,
      undefined,
      `#${i + 1}`,
    );
  }
  const espera = assert429(await conXff('/api/usuarios/', nuevoUsuario(), '198.51.100.99'));
  assert.ok(espera > 3500 && espera <= 3600, `Retry-After ${espera}: an hour by default`);
  assert429(await s.anon.post('/api/usuarios/', nuevoUsuario()));
  assert.equal(await marcas('registro:'), 20);
  // The administrador's token still registers (not counted, not refused).
  assertAnswer(await s.api.post('/api/usuarios/', nuevoUsuario()), 201);
});

test('login attempts from one address: 100 an hour by default, whatever the e-mail', async () => {
  // Attempts so far from this address: the suite's own login and the test above's.
  const previos = await marcas('login-ip:');
  assert.ok(previos > 0 && previos < 100, `${previos}`);
  // 400s are attempts from the address too, and cost no hash.
  for (let i = previos; i < 100; i++) {
    assertAnswer(await conXff('/api/token/', { email: `x${i}@example.com` }, `198.51.100.${i % 250}`), 400);
  }
  assert.equal(await marcas('login-ip:'), 100);
  const espera = assert429(await s.anon.post('/api/token/', { email: 'otra@example.com', password: 'x' }));
  assert.ok(espera > 3500 && espera <= 3600, `Retry-After ${espera}: an hour by default`);
  assert.equal(await marcas('login-ip:'), 100);
});

const raiz = new URL('../../../', import.meta.url);

test('the throttling configuration is documented (README.md or DEPLOY.md)', () => {
  const config = readFileSync(new URL('packages/platform/src/config.ts', raiz), 'utf8');
  const variables = [...new Set(config.match(/THROTTLE_[A-Z_]+/g) ?? [])];
  assert.ok(variables.includes('THROTTLE_LOGIN_FAILURES'), `${variables}`);
  const docs = ['README.md', 'DEPLOY.md'].map((f) => readFileSync(new URL(f, raiz), 'utf8')).join('\n');
  const faltan = [...variables, 'TRUSTED_PROXY_HOPS'].filter((v) => !docs.includes(v));
  assert.deepEqual(faltan, [], 'variables of §5.5 that README.md/DEPLOY.md do not document');
});

test('the Cloud Run manifest of servicio-usuarios sets TRUSTED_PROXY_HOPS to 1', () => {
  const manifiesto = readFileSync(new URL('services/usuarios/service.yaml', raiz), 'utf8');
  assert.match(manifiesto, /- name: TRUSTED_PROXY_HOPS\s+value: "?1"?\s/);
});
