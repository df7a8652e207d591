import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ALGORITHM,
  type Config,
  ConfigError,
  type KeySource,
  localKeys,
  type PublicJwk,
  publicJwk,
} from '@servicios/platform';
import { importPKCS8, SignJWT } from 'jose';

/** What servicio-usuarios signs with and publishes (CONTRACT §4–5: JWT_PRIVATE_KEY, JWT_PREVIOUS_PUBLIC_KEYS). */
export interface Claves {
  /** The JWKS document: the current key first, then the retired ones still accepted. */
  jwks: { keys: PublicJwk[] };
  /** The same keys, for verifying this service's own tokens without a round trip. */
  verificacion: KeySource;
  /** A signed token with these claims, `kid`, `iat`, `exp`, `jti` and the configured `iss`/`aud`. */
  firmar(claims: Record<string, unknown>, ttlS: number, jti?: string): Promise<string>;
}

/**
 * The embedded database's key: generated once and kept beside the data folder (never in the image,
 * never in git), so that tokens survive a restart of `npm start`.
 */
function claveEmbebida(dataDir: string): string {
  const archivo = path.join(path.dirname(dataDir), `${path.basename(dataDir)}-jwt-private-key.pem`);
  if (!existsSync(archivo)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    mkdirSync(path.dirname(archivo), { recursive: true });
    writeFileSync(archivo, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(archivo, 'utf8');
}

export async function cargarClaves(config: Readonly<Config>): Promise<Claves> {
  const { identity } = config;
  let pem = identity.privateKeyPem;
  if (!pem && config.database.kind === 'pglite') pem = claveEmbebida(config.database.dataDir);
  if (!pem) {
    throw new ConfigError(
      'JWT_PRIVATE_KEY',
      'is required with a PostgreSQL database: the P-256 key that signs tokens',
    );
  }
  const actual = await publicJwk(pem, 'JWT_PRIVATE_KEY');
  let privada: Awaited<ReturnType<typeof importPKCS8>>;
  try {
    privada = await importPKCS8(pem, ALGORITHM);
  } catch {
    throw new ConfigError('JWT_PRIVATE_KEY', 'is not a PKCS #8 EC P-256 private key');
  }
  const anteriores = await Promise.all(
    identity.previousPublicKeysPem.map((p) => publicJwk(p, 'JWT_PREVIOUS_PUBLIC_KEYS')),
  );
  const keys = [actual, ...anteriores.filter((k) => k.kid !== actual.kid)];
  return {
    jwks: { keys },
    verificacion: await localKeys(keys),
    firmar(claims, ttlS, jti = randomUUID()) {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: ALGORITHM, kid: actual.kid, typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(`${ttlS}s`)
        .setJti(jti);
      if (identity.issuer) jwt.setIssuer(identity.issuer);
      if (identity.audience) jwt.setAudience(identity.audience);
      return jwt.sign(privada);
    },
  };
}
