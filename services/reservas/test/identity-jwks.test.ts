// CONTRACT §4 (JWT_JWKS_URL, JWT_PUBLIC_KEY, JWT_PREVIOUS_PUBLIC_KEYS) and §5.3's precise rules on the
// JWKS, with servicio-reservas as the verifier: keys fetched at first use and cached; a new kid fetched
// again, at most once per 30 s per process; a key rotation in servicio-usuarios; 503 with Retry-After
// (never 401) while no key can be had; ES256 only. servicio-reservas reads the JWKS through a small
// HTTP server of this file, a real JWKS endpoint that counts its requests and can fail on demand
// (relaying servicio-usuarios' own JWKS, or serving a document written here).
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ApiResponse,
  client,
  login,
  type RunningService,
  signingKey,
  startService,
} from '@servicios/testing';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, type JWK, SignJWT } from 'jose';
import { buildApp as buildUsuarios, servicio as servicioUsuarios } from '../../usuarios/src/app.ts';
import { migrar } from '../../usuarios/src/bootstrap.ts';
import { ADMIN, type Suite, startUsuarios } from '../../usuarios/test/support.ts';
import { buildApp, servicio } from '../src/app.ts';

const TOKEN_NOT_VALID = {
  detail: 'El token dado no es valido para ningun tipo de token',
  code: 'token_not_valid',
};
/** Longer than the 30 s during which servicio-reservas may not fetch the JWKS again. */
const PAST_THE_INTERVAL_MS = 45_000;

interface JwksServer {
  url: string;
  /** Requests for the JWKS received so far. */
  fetches: number;
  /** `relay`: servicio-usuarios' JWKS at `upstream`; `static`: `document`; `error`: a 500; `garbage`: not JSON. */
  mode: 'relay' | 'static' | 'error' | 'garbage';
  upstream?: string;
  document?: unknown;
  close(): Promise<void>;
}

async function jwksServer(
  init: Partial<Pick<JwksServer, 'mode' | 'upstream' | 'document'>>,
): Promise<JwksServer> {
  const state: JwksServer = { url: '', fetches: 0, mode: 'static', ...init, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    if (req.url !== '/jwks.json') return res.writeHead(404).end();
    state.fetches++;
    if (state.mode === 'error') return res.writeHead(500, { 'content-type': 'application/json' }).end('{}');
    if (state.mode === 'garbage')
      return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
    const body =
      state.mode === 'relay'
        ? await (await fetch(state.upstream as string)).text()
        : JSON.stringify(state.document);
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  state.url = `http://127.0.0.1:${address.port}/jwks.json`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

interface Key {
  privateKeyPem: string;
  publicKeyPem: string;
  kid: string;
  jwk: JWK;
}

/** A P-256 pair with its JWK as servicio-usuarios publishes it (kid = RFC 7638 thumbprint). */
async function newKey(): Promise<Key> {
  const pair = signingKey();
  const jwk = await exportJWK(await importSPKI(pair.publicKeyPem, 'ES256', { extractable: true }));
  const kid = await calculateJwkThumbprint(jwk);
  return { ...pair, kid, jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } };
}

async function sign(pem: string, header: { alg?: string; kid: string }, alg = 'ES256'): Promise<string> {
  return new SignJWT({ token_type: 'access', user_id: 1, tipo_usuario: 'administrador', extra: randomUUID() })
    .setProtectedHeader({ alg, ...header })
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(await importPKCS8(pem, alg));
}

/** A fresh token (never presented before, so no verification cache can answer for it). */
const tokenOf = (key: Key) => sign(key.privateKeyPem, { kid: key.kid });

const list = (on: RunningService, token: string) => client(on.url, token).get('/api/reservas/');

function expect503(res: ApiResponse, label: string) {
  assert.equal(res.status, 503, `${label}: ${res.status} ${res.text}`);
  const retryAfter = res.headers.get('retry-after') ?? '';
  assert.match(retryAfter, /^\d+$/, `${label}: Retry-After ${retryAfter}`);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 30, `${label}: Retry-After ${retryAfter}`);
  assert.deepEqual(Object.keys(res.body), ['detail'], label);
  assert.equal(typeof res.body.detail, 'string');
}

let key1: Key;
let key2: Key;
let usuarios1: Suite;
let databaseUrl: string;
const running: { close(): Promise<void> }[] = [];

async function reservas(env: Record<string, string>): Promise<RunningService> {
  const started = await startService(servicio, buildApp, {
    DATABASE_URL: databaseUrl,
    USUARIOS_URL: usuarios1.url,
    ...env,
  });
  running.push(started);
  return started;
}

async function jwks(init: Parameters<typeof jwksServer>[0]): Promise<JwksServer> {
  const server = await jwksServer(init);
  running.push(server);
  return server;
}

before(async () => {
  key1 = await newKey();
  key2 = await newKey();
  usuarios1 = await startUsuarios('reservas_identity_jwks', { JWT_PRIVATE_KEY: key1.privateKeyPem });
  databaseUrl = usuarios1.db.url;
});

after(async () => {
  for (const thing of running.reverse()) await thing.close();
  await usuarios1?.close();
});

/** Started first on purpose: the recovery test at the end of the file finds its 30 s over (or nearly). */
let failing: JwksServer;
let failingReservas: RunningService;

describe('no key can be had before a first successful fetch: 503 with Retry-After, never 401', () => {
  test('a JWKS answering 500', async () => {
    failing = await jwks({ mode: 'error' });
    failingReservas = await reservas({ JWT_JWKS_URL: failing.url });
    expect503(await list(failingReservas, await tokenOf(key1)), 'first');
    assert.equal(failing.fetches, 1);
    // A failed fetch is not retried at once: the next requests wait for the interval, still 503.
    expect503(await list(failingReservas, await tokenOf(key1)), 'second');
    expect503(await list(failingReservas, await tokenOf(key2)), 'another kid');
    assert.equal(failing.fetches, 1);
    // Without a token there is nothing to verify: still the plain 401.
    assert.equal((await client(failingReservas.url).get('/api/reservas/')).status, 401);
  });

  test('a JWKS that is not listening, or that answers something that is not a JWKS', async () => {
    const closed = await jwksServer({ mode: 'static', document: { keys: [] } });
    await closed.close();
    expect503(await list(await reservas({ JWT_JWKS_URL: closed.url }), await tokenOf(key1)), 'closed port');
    const garbage = await jwks({ mode: 'garbage' });
    expect503(await list(await reservas({ JWT_JWKS_URL: garbage.url }), await tokenOf(key1)), 'not JSON');
    assert.equal(garbage.fetches, 1);
  });
});

/** Polls with fresh tokens of `key` until a 200 (or gives up after the interval); the other statuses seen. */
async function pollUntil200(on: RunningService, key: Key): Promise<number[]> {
  const deadline = Date.now() + PAST_THE_INTERVAL_MS;
  const seen: number[] = [];
  for (;;) {
    const res = await list(on, await tokenOf(key));
    if (res.status === 200) return seen;
    seen.push(res.status);
    if (Date.now() > deadline) assert.fail(`never accepted: ${seen.join(', ')}`);
    await sleep(1000);
  }
}

describe('JWT_JWKS_URL: fetched at first use, cached, fetched again for a new kid (key rotation)', () => {
  let relay: JwksServer;
  let verifier: RunningService;
  let usuarios2: RunningService;

  before(async () => {
    relay = await jwks({ mode: 'relay', upstream: `${usuarios1.url}/.well-known/jwks.json` });
    verifier = await reservas({ JWT_JWKS_URL: relay.url });
  });

  test('nothing is fetched at start or for anonymous requests; the first token fetches once, then the cache serves', async () => {
    assert.equal(relay.fetches, 0);
    assert.equal((await client(verifier.url).get('/api/reservas/')).status, 401);
    assert.equal(relay.fetches, 0);
    const issued = await list(verifier, usuarios1.api.token as string);
    assert.equal(issued.status, 200, issued.text);
    assert.equal(relay.fetches, 1);
    for (let i = 0; i < 3; i++) assert.equal((await list(verifier, await tokenOf(key1))).status, 200);
    assert.equal(relay.fetches, 1);
  });

  test('unknown kids within the interval: 401, and no more fetches, however many arrive', async () => {
    const stranger = await newKey();
    const before = relay.fetches;
    for (let i = 0; i < 3; i++) {
      const res = await list(verifier, await sign(stranger.privateKeyPem, { kid: `kid-${randomUUID()}` }));
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, TOKEN_NOT_VALID);
    }
    const burst = await Promise.all(
      Array.from({ length: 5 }, async () => list(verifier, await tokenOf(stranger))),
    );
    assert.deepEqual(
      burst.map((r) => r.status),
      [401, 401, 401, 401, 401],
    );
    assert.equal(relay.fetches, before);
  });

  test('a rotation: a token of the new kid is accepted after one more fetch; the previous key still verifies', async () => {
    usuarios2 = await startService(
      servicioUsuarios,
      buildUsuarios,
      {
        DATABASE_URL: databaseUrl,
        JWT_PRIVATE_KEY: key2.privateKeyPem,
        JWT_PREVIOUS_PUBLIC_KEYS: key1.publicKeyPem,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        JWT_ACCESS_TTL_S: '3600',
      },
      { migrate: migrar },
    );
    running.push(usuarios2);
    const published = await client(usuarios2.url).get('/.well-known/jwks.json');
    assert.deepEqual(
      published.body.keys.map((k: JWK) => k.kid),
      [key2.kid, key1.kid],
    );
    relay.upstream = `${usuarios2.url}/.well-known/jwks.json`;
    const before = relay.fetches;
    const token2 = (await login(client(usuarios2.url), ADMIN.email, ADMIN.password)).access;

    // Until the 30 s since the last fetch are over, the new kid is unknown here (401), and polling
    // for it must not fetch more than once in all.
    const deadline = Date.now() + PAST_THE_INTERVAL_MS;
    const seen: number[] = [];
    for (;;) {
      const res = await list(verifier, token2);
      if (res.status === 200) break;
      seen.push(res.status);
      assert.deepEqual(res.body, TOKEN_NOT_VALID, `while the new kid is unknown: ${res.text}`);
      assert.equal(relay.fetches, before, 'no fetch within the interval');
      if (Date.now() > deadline) assert.fail(`the new kid was never accepted: ${seen.join(', ')}`);
      await sleep(1000);
    }
    assert.equal(relay.fetches, before + 1);
    // The keys now come from the new document: key1 is in it only as JWT_PREVIOUS_PUBLIC_KEYS.
    const old = await list(verifier, await tokenOf(key1));
    assert.equal(old.status, 200, old.text);
    assert.equal((await list(verifier, await tokenOf(key2))).status, 200);
    assert.equal(relay.fetches, before + 1);
  });

  test('right after a fetch, an unknown kid fetches nothing more', async () => {
    const before = relay.fetches;
    const stranger = await newKey();
    for (let i = 0; i < 4; i++) assert.equal((await list(verifier, await tokenOf(stranger))).status, 401);
    assert.equal(relay.fetches, before);
  });

  test('a JWKS that fails after keys were cached: tokens of known kids still verify', async () => {
    relay.mode = 'error';
    try {
      for (const key of [key1, key2]) {
        const res = await list(verifier, await tokenOf(key));
        assert.equal(res.status, 200, res.text);
      }
    } finally {
      relay.mode = 'relay';
    }
  });
});

describe('JWT_PUBLIC_KEY instead of JWT_JWKS_URL', () => {
  test("that key's tokens are accepted, any other key's are 401", async () => {
    const fixed = await reservas({ JWT_PUBLIC_KEY: key1.publicKeyPem });
    const ok = await list(fixed, await tokenOf(key1));
    assert.equal(ok.status, 200, ok.text);
    for (const token of [
      await tokenOf(key2),
      await sign(key2.privateKeyPem, { kid: key1.kid }),
      await sign((await newKey()).privateKeyPem, { kid: 'otro' }),
    ]) {
      const res = await list(fixed, token);
      assert.equal(res.status, 401, res.text);
      assert.deepEqual(res.body, TOKEN_NOT_VALID);
    }
  });
});

describe('ES256 only, whatever the JWKS publishes', () => {
  test('RS256, ES384 and HS256 keys in the JWKS never verify a token', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const secret = Buffer.from('un secreto compartido que nadie deberia aceptar!!');
    const document = {
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(p384.publicKey)), kid: 'p384', alg: 'ES384', use: 'sig' },
        { kty: 'oct', k: secret.toString('base64url'), kid: 'oct', alg: 'HS256', use: 'sig' },
        key1.jwk,
      ],
    };
    const server = await jwks({ mode: 'static', document });
    const verifier = await reservas({ JWT_JWKS_URL: server.url });
    assert.equal((await list(verifier, await tokenOf(key1))).status, 200);
    const pem = (k: { export(o: object): string | Buffer }) =>
      k.export({ type: 'pkcs8', format: 'pem' }).toString();
    const hs256 = await new SignJWT({ token_type: 'access', user_id: 1, tipo_usuario: 'administrador' })
      .setProtectedHeader({ alg: 'HS256', kid: 'oct' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(secret);
    for (const [label, token] of [
      ['RS256', await sign(pem(rsa.privateKey), { kid: 'rsa' }, 'RS256')],
      ['ES384', await sign(pem(p384.privateKey), { kid: 'p384' }, 'ES384')],
      ['HS256', hs256],
    ] as [string, string][]) {
      const res = await list(verifier, token);
      assert.equal(res.status, 401, `${label}: ${res.text}`);
      assert.deepEqual(res.body, TOKEN_NOT_VALID, label);
    }
    assert.equal(server.fetches, 1);
  });
});

describe('after a failed fetch', () => {
  test('the instance that answered 503 fetches again once the interval is over, and recovers', async () => {
    failing.mode = 'static';
    failing.document = { keys: [key1.jwk] };
    const answers = await pollUntil200(failingReservas, key1);
    for (const status of answers)
      assert.equal(status, 503, `answers before recovering: ${answers.join(', ')}`);
    assert.equal(failing.fetches, 2, 'one failed fetch, then one that succeeded');
  });
});
