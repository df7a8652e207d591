// CONTRACT §6, the push endpoint's authentication in every configuration: Pub/Sub's OIDC token (Google
// signed, `aud` = PUBSUB_PUSH_AUDIENCE, e-mail = PUBSUB_PUSH_SERVICE_ACCOUNT, verified) else 401/403;
// the official emulator (PUBSUB_EMULATOR_HOST without PUBSUB_PUSH_AUDIENCE) without a token; the
// embedded default (PGlite, nothing of Pub/Sub configured), whose servicio-usuarios signs its pushes
// with its token key (token_type "evento"); any other configuration accepts no push. §5.3: every 401
// carries WWW-Authenticate. PUBSUB_PUSH_AUDIENCE without PUBSUB_PUSH_SERVICE_ACCOUNT does not start.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@servicios/platform';
import {
  type ApiResponse,
  type Client,
  client,
  login,
  type RunningService,
  signingKey,
  startService,
} from '@servicios/testing';
import type { FastifyInstance } from 'fastify';
import { importPKCS8, SignJWT } from 'jose';
import { freePort } from '../../../test/delivery/support.ts';
import { type Suite, startUsuarios } from '../../usuarios/test/support.ts';
import { buildApp, servicio } from '../src/app.ts';
import { desactivadoAttributes, enDias, envelope, PUSH_PATH } from './events-support.ts';

const AUDIENCE = 'https://reservas.example.com/api/eventos/pubsub/';
const CUENTA = 'pubsub-push@proyecto.iam.gserviceaccount.com';
const KID = 'google-de-prueba';
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const google = rsa();
const googleCerts = async () => ({
  [KID]: google.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
});
const claveUsuarios = signingKey();

let usuarios: Suite;
const instancias: { close(): Promise<void> }[] = [];
let dataDir: string;
const push: Record<'emulador' | 'google' | 'googleYEmulador' | 'ninguna' | 'embebida', Client> = {} as never;

async function reservas(env: Record<string, string>): Promise<RunningService> {
  const service = await startService(servicio, (options) => buildApp({ ...options, googleCerts }), {
    DATABASE_URL: usuarios.db.url,
    JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
    USUARIOS_URL: usuarios.url,
    ...env,
  });
  instancias.push(service);
  return service;
}

before(async () => {
  usuarios = await startUsuarios('events_push_auth', { JWT_PRIVATE_KEY: claveUsuarios.privateKeyPem });
  // The emulator configurations publish nothing here; should they, it goes to a closed local port.
  const cerrado = `127.0.0.1:${await freePort()}`;
  process.env.PUBSUB_EMULATOR_HOST = cerrado;
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulador = { PUBSUB_EMULATOR_HOST: cerrado, GOOGLE_CLOUD_PROJECT: 'test-push' };
  const oidc = { PUBSUB_PUSH_AUDIENCE: AUDIENCE, PUBSUB_PUSH_SERVICE_ACCOUNT: CUENTA };
  push.emulador = client((await reservas(emulador)).url);
  push.google = client((await reservas(oidc)).url);
  push.googleYEmulador = client((await reservas({ ...emulador, ...oidc })).url);
  push.ninguna = client((await reservas({})).url);
  // The embedded default: PGlite in a folder of its own, verifying servicio-usuarios' tokens.
  dataDir = await mkdtemp(path.join(tmpdir(), 'reservas-push-'));
  const config = loadConfig(
    {
      PGLITE_DATA_DIR: dataDir,
      JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
      USUARIOS_URL: usuarios.url,
    },
    { service: servicio.name },
  );
  assert.equal(config.database.kind, 'pglite');
  const app: FastifyInstance = await buildApp({ config, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  instancias.push({ close: () => app.close() });
  push.embebida = client(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
});

after(async () => {
  for (const instancia of instancias.reverse()) await instancia.close();
  await usuarios?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A push of usuario.desactivado (of a user with no reservations: it changes nothing) and its ce-id. */
function unPush() {
  const ceId = randomUUID();
  return { ceId, body: envelope(desactivadoAttributes(424_242, ceId), { id: 424_242, activo: false }) };
}

async function enviar(api: Client, token?: string, headers: Record<string, string> = {}) {
  const { ceId, body } = unPush();
  const res = await api.request('POST', PUSH_PATH, {
    json: body,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
  return { res, ceId };
}

const procesado = async (ceId: string) =>
  (await usuarios.db.query('SELECT 1 FROM reservas_evento_recibido WHERE ce_id = $1', [ceId])).rowCount === 1;

async function aceptado(api: Client, token: string | undefined, label: string, database = true) {
  const { res, ceId } = await enviar(api, token);
  assert.equal(res.status, 204, `${label}: ${res.status} ${res.text}`);
  if (database) assert.ok(await procesado(ceId), `${label}: processed`);
}

async function rechazado(
  status: 401 | 403,
  api: Client,
  token: string | undefined,
  label: string,
  headers: Record<string, string> = {},
) {
  const { res, ceId } = await enviar(api, token, headers);
  assert.equal(res.status, status, `${label}: ${res.status} ${res.text}`);
  assert.equal(typeof (res as ApiResponse).body?.detail, 'string', label);
  if (status === 401)
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/i, `${label}: WWW-Authenticate`);
  assert.ok(!(await procesado(ceId)), `${label}: not processed`);
}

/** An OIDC token as Pub/Sub's push would carry it, signed by `key` (Google's test key by default). */
function oidc(
  claims: Record<string, unknown> = {},
  options: { key?: KeyObject; kid?: string; iat?: number; exp?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: CUENTA, email_verified: true, sub: '1234567890', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? KID, typ: 'JWT' })
    .setIssuer((claims.iss as string) ?? 'https://accounts.google.com')
    .setAudience((claims.aud as string) ?? AUDIENCE)
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 3600)
    .sign(options.key ?? google.privateKey);
}

/** A token of servicio-usuarios' key (the kid its JWKS publishes). */
async function deUsuarios(claims: Record<string, unknown>, options: { pem?: string; ttl?: number } = {}) {
  const jwks = (await (await fetch(`${usuarios.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0]?.kid })
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (options.ttl ?? 60))
    .setJti(randomUUID())
    .sign(await importPKCS8(options.pem ?? claveUsuarios.privateKeyPem, 'ES256'));
}

test('the emulator (PUBSUB_EMULATOR_HOST, no PUBSUB_PUSH_AUDIENCE) pushes without a token', async () => {
  await aceptado(push.emulador, undefined, 'no token');
});

test("PUBSUB_PUSH_AUDIENCE: only Pub/Sub's OIDC token for that audience and service account", async () => {
  const api = push.google;
  const now = Math.floor(Date.now() / 1000);
  await rechazado(401, api, undefined, 'no token');
  await rechazado(401, api, 'basura', 'garbage');
  await rechazado(401, api, 'eyJhbGciOiJSUzI1NiJ9.e30.AAAA', 'a JWT that is not signed');
  await rechazado(401, api, undefined, 'another scheme', {
    authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
  });
  await rechazado(401, api, await oidc({ aud: 'https://otro.example.com/' }), 'wrong aud');
  await rechazado(401, api, await oidc({ iss: 'https://evil.example.com' }), 'wrong iss');
  await rechazado(401, api, await oidc({}, { iat: now - 7200, exp: now - 3600 }), 'expired');
  await rechazado(401, api, await oidc({}, { key: rsa().privateKey }), 'another RSA key, same kid');
  await rechazado(401, api, await oidc({}, { kid: 'desconocido' }), 'unknown kid');
  const acceso = (await login(usuarios.anon, 'admin@example.com', 'Admin-de-pruebas-2026')).access;
  await rechazado(401, api, acceso, 'an access token of servicio-usuarios');
  // Genuinely Google's, but not the push subscription's identity.
  await rechazado(403, api, await oidc({ email: 'otro@proyecto.iam.gserviceaccount.com' }), 'other e-mail');
  await rechazado(403, api, await oidc({ email_verified: false }), 'email_verified false');
  await rechazado(403, api, await oidc({ email_verified: undefined }), 'email_verified missing');
  await aceptado(api, await oidc(), 'the right token');
});

test('PUBSUB_PUSH_AUDIENCE with PUBSUB_EMULATOR_HOST still requires the token', async () => {
  await rechazado(401, push.googleYEmulador, undefined, 'no token');
  await rechazado(401, push.googleYEmulador, 'basura', 'garbage');
  await aceptado(push.googleYEmulador, await oidc(), 'the right token');
});

test('on PostgreSQL with nothing of Pub/Sub configured, every push is refused', async () => {
  const api = push.ninguna;
  await rechazado(401, api, undefined, 'no token');
  await rechazado(401, api, 'basura', 'garbage');
  await rechazado(401, api, await oidc(), 'a valid Google token');
  await rechazado(
    401,
    api,
    await deUsuarios({ token_type: 'evento' }),
    'an evento token of servicio-usuarios',
  );
  const acceso = (await login(usuarios.anon, 'admin@example.com', 'Admin-de-pruebas-2026')).access;
  await rechazado(401, api, acceso, 'an access token');
});

test('the embedded default accepts the pushes servicio-usuarios signs (token_type "evento") only', async () => {
  const api = push.embebida;
  // Its database is its own PGlite: the outcome is the answer alone.
  const no = async (token: string | undefined, label: string) => {
    const { res } = await enviar(api, token);
    assert.equal(res.status, 401, `${label}: ${res.status} ${res.text}`);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/i, label);
  };
  await no(undefined, 'no token');
  await no('basura', 'garbage');
  const sesion = await login(usuarios.anon, 'admin@example.com', 'Admin-de-pruebas-2026');
  await no(sesion.access, 'an access token of the same key');
  await no(sesion.refresh, 'a refresh token of the same key');
  await no(
    await deUsuarios({ token_type: 'evento' }, { pem: signingKey().privateKeyPem }),
    'evento, another key',
  );
  await no(await deUsuarios({ token_type: 'evento' }, { ttl: -120 }), 'evento, expired');
  await no(await oidc(), 'a Google token');
  await aceptado(api, await deUsuarios({ token_type: 'evento' }), 'an evento token', false);
});

test('the embedded default delivers usuario.desactivado: servicio-usuarios pushes it itself', async () => {
  // Another servicio-usuarios with the same signing key, pushing to the embedded servicio-reservas.
  const local = await startUsuarios('events_local_push', {
    JWT_PRIVATE_KEY: claveUsuarios.privateKeyPem,
    LOCAL_PUSH_ENDPOINT: `${push.embebida.baseUrl}${PUSH_PATH}`,
  });
  try {
    const titular = await local.usuario('cliente');
    const reservas = push.embebida.as(titular.api.token);
    const reserva = await reservas.post('/api/reservas/', { fecha_reserva: enDias(5), numero_personas: 2 });
    assert.equal(reserva.status, 201, reserva.text);
    assert.equal((await local.api.post(`/api/usuarios/${titular.id}/desactivar/`)).status, 200);
    const desde = Date.now();
    const admin = push.embebida.as(local.api.token);
    for (;;) {
      const ahora = await admin.get(`/api/reservas/${reserva.body.id}/`);
      assert.equal(ahora.status, 200, ahora.text);
      if (ahora.body.estado === 'cancelada') break;
      assert.ok(Date.now() - desde < 10_000, 'not cancelled within 10 s');
      await sleep(100);
    }
  } finally {
    await local.close();
  }
});

test('the push endpoint is not in the public docs', async () => {
  const schema = await push.ninguna.get('/api/schema/');
  assert.equal(schema.status, 200);
  assert.ok(
    !Object.keys(schema.body.paths ?? {}).some((p) => p.includes('eventos')),
    Object.keys(schema.body.paths).join(),
  );
});

test('PUBSUB_PUSH_AUDIENCE without PUBSUB_PUSH_SERVICE_ACCOUNT does not start (ConfigError)', async () => {
  await assert.rejects(
    reservas({ PUBSUB_PUSH_AUDIENCE: AUDIENCE }),
    (err: Error) => err.name === 'ConfigError' && err.message.includes('PUBSUB_PUSH_SERVICE_ACCOUNT'),
  );
});
