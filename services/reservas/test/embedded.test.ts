// CONTRACT §4 embedded default: with no database configured servicio-reservas runs on PGlite in a data
// folder; §4 JWT_JWKS_URL / JWT_PUBLIC_KEY: it verifies tokens against a fixed public key when given one,
// and refuses to start with neither (a ConfigError naming JWT_JWKS_URL).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '@servicios/platform';
import { client, signingKey } from '@servicios/testing';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, SignJWT } from 'jose';
import { buildApp } from '../src/app.ts';
import { enDias, sinCredenciales } from './setup.ts';

/** An access token as servicio-usuarios would sign it, its `kid` the RFC 7638 thumbprint of the key. */
async function accessToken(key: { privateKeyPem: string; publicKeyPem: string }, kid?: string) {
  const jwk = await exportJWK(await importSPKI(key.publicKeyPem, 'ES256', { extractable: true }));
  return new SignJWT({ token_type: 'access', user_id: 1, tipo_usuario: 'administrador' })
    .setProtectedHeader({ alg: 'ES256', kid: kid ?? (await calculateJwkThumbprint(jwk)) })
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(await importPKCS8(key.privateKeyPem, 'ES256'));
}

async function withDataDir(run: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'reservas-pglite-'));
  try {
    await run(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('with no database configured, the embedded PGlite starts, migrates, creates and lists', async () => {
  await withDataDir(async (dataDir) => {
    const key = signingKey();
    const config = loadConfig(
      { PGLITE_DATA_DIR: dataDir, JWT_PUBLIC_KEY: key.publicKeyPem, USUARIOS_URL: 'http://127.0.0.1:9' },
      { service: 'servicio-reservas' },
    );
    assert.equal(config.database.kind, 'pglite');
    const app = await buildApp({ config, logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = app.server.address() as { port: number };
      const anon = client(`http://127.0.0.1:${address.port}`);
      const token = await accessToken(key);
      const api = anon.as(token);
      assert.equal((await anon.get('/readyz')).status, 200);
      sinCredenciales(await anon.get('/api/reservas/'));
      // The same claims and kid signed by another key: the fixed public key is what decides.
      const forged = anon.as(await accessToken(signingKey(), kidOf(token)));
      const refused = await forged.get('/api/reservas/');
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'token_not_valid');
      const created = await api.post('/api/reservas/', {
        usuario_id: 1,
        fecha_reserva: enDias(3),
        numero_personas: 2,
      });
      assert.equal(created.status, 201, created.text);
      assert.equal((await api.post(`/api/reservas/${created.body.id}/confirmar/`)).body.estado, 'confirmada');
      const list = await api.get('/api/reservas/');
      assert.equal(list.body.count, 1);
      assert.equal(list.body.results[0].estado, 'confirmada');
    } finally {
      await app.close();
    }
  });
});

test('with neither JWT_JWKS_URL nor JWT_PUBLIC_KEY it refuses to start, naming JWT_JWKS_URL', async () => {
  await withDataDir(async (dataDir) => {
    await assert.rejects(
      async () => {
        const config = loadConfig(
          { PGLITE_DATA_DIR: dataDir, USUARIOS_URL: 'http://127.0.0.1:9' },
          { service: 'servicio-reservas' },
        );
        const app = await buildApp({ config, logger: false });
        await app.close();
      },
      (err: Error) => err instanceof ConfigError && /JWT_JWKS_URL/.test(err.message),
    );
    // And without USUARIOS_URL, that one is named.
    await assert.rejects(
      async () => {
        const config = loadConfig({ PGLITE_DATA_DIR: dataDir }, { service: 'servicio-reservas' });
        await buildApp({ config, logger: false });
      },
      (err: Error) => err instanceof ConfigError && /USUARIOS_URL/.test(err.message),
    );
  });
});

/** The `kid` header of a compact JWS. */
function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).kid;
}
