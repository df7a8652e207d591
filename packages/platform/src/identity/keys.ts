import { createPublicKey } from 'node:crypto';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, importJWK, importSPKI, type JWK } from 'jose';
import { ConfigError } from '../config.js';

export const ALGORITHM = 'ES256';

/** A public key as servicio-usuarios publishes it in its JWKS. */
export interface PublicJwk extends JWK {
  kty: 'EC';
  crv: 'P-256';
  alg: typeof ALGORITHM;
  use: 'sig';
  kid: string;
}

/** Where a verifier finds the public key that signed a token. */
export interface KeySource {
  /** The key of `kid`; undefined when the source does not know it (a 401), throws KeysUnavailable (a 503). */
  key(kid: string): Promise<CryptoKey | undefined>;
}

/** The keys cannot be had now (the JWKS does not answer): the request is a 503, not the client's fault. */
export class KeysUnavailable extends Error {
  constructor(readonly retryAfterS: number) {
    super('signing keys unavailable');
    this.name = 'KeysUnavailable';
  }
}

/** Only P-256 keys: ES256 is the one algorithm tokens may use. */
function assertP256(pem: string, variable: string): void {
  let curve: string | undefined;
  try {
    curve = createPublicKey(pem).asymmetricKeyDetails?.namedCurve;
  } catch {
    throw new ConfigError(variable, 'is not a readable PEM key');
  }
  if (curve !== 'prime256v1') throw new ConfigError(variable, 'must be an EC P-256 key (ES256)');
}

/**
 * The JWK of a public key, with its RFC 7638 thumbprint as `kid`: the same key gets the same kid in
 * every process, so retired keys need no bookkeeping of their ids.
 */
export async function publicJwk(pem: string, variable: string): Promise<PublicJwk> {
  assertP256(pem, variable);
  const spki = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
  const jwk = await exportJWK(await importSPKI(spki, ALGORITHM, { extractable: true }));
  const kid = await calculateJwkThumbprint(jwk);
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, alg: ALGORITHM, use: 'sig', kid };
}

/** A fixed set of keys (servicio-usuarios' own, or JWT_PUBLIC_KEY). */
export async function localKeys(jwks: readonly PublicJwk[]): Promise<KeySource> {
  const keys = new Map<string, CryptoKey>();
  for (const jwk of jwks) keys.set(jwk.kid, (await importJWK(jwk, ALGORITHM)) as CryptoKey);
  return { key: async (kid) => keys.get(kid) };
}

export interface RemoteKeysOptions {
  /** At most one fetch per this many ms (CONTRACT §5.3: 30 s), for an unknown kid or after a failure. */
  minIntervalMs?: number;
  /** Keys older than this are fetched again on next use (retired keys stop being trusted). */
  maxAgeMs?: number;
  timeoutMs?: number;
  onFetch?: (outcome: 'ok' | 'error', error?: unknown) => void;
}

/**
 * The JWKS of servicio-usuarios, fetched at first use and cached. An unknown kid (a rotation) fetches
 * again, at most once per interval; when no key can be had because the JWKS does not answer,
 * `key` throws KeysUnavailable with the seconds until the next try.
 */
export function remoteKeys(url: string, options: RemoteKeysOptions = {}): KeySource {
  const minInterval = options.minIntervalMs ?? 30_000;
  const maxAge = options.maxAgeMs ?? 300_000;
  const timeout = options.timeoutMs ?? 3000;
  let keys = new Map<string, CryptoKey>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let failed = false;
  let pending: Promise<void> | undefined;

  async function fetchKeys(): Promise<void> {
    attemptedAt = Date.now();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeout) });
      if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
      const body = (await response.json()) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new Error('JWKS without "keys"');
      const next = new Map<string, CryptoKey>();
      for (const jwk of body.keys as JWK[]) {
        // Anything but an ES256 signing key is ignored: it could never verify a token here.
        if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.kid !== 'string') continue;
        if ((jwk.alg ?? ALGORITHM) !== ALGORITHM || (jwk.use ?? 'sig') !== 'sig') continue;
        next.set(jwk.kid, (await importJWK({ ...jwk, alg: ALGORITHM }, ALGORITHM)) as CryptoKey);
      }
      keys = next;
      fetchedAt = Date.now();
      failed = false;
      options.onFetch?.('ok');
    } catch (err) {
      failed = true;
      options.onFetch?.('error', err);
    }
  }

  function refresh(): Promise<void> {
    pending ??= fetchKeys().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  const mayFetch = () => Date.now() - attemptedAt >= minInterval;

  return {
    async key(kid) {
      // Requests that arrive while a fetch is under way wait for its answer, not for the next one.
      if (pending) await pending;
      if (Date.now() - fetchedAt > maxAge && mayFetch()) await refresh();
      let key = keys.get(kid);
      if (!key && mayFetch()) {
        await refresh();
        key = keys.get(kid);
      }
      if (key) return key;
      if (failed)
        throw new KeysUnavailable(Math.max(1, Math.ceil((attemptedAt + minInterval - Date.now()) / 1000)));
      return undefined;
    },
  };
}

/** A verifier's keys from its configuration: JWT_PUBLIC_KEY (fixed) or JWT_JWKS_URL (fetched). */
export async function configuredKeys(
  identity: { jwksUrl?: string; publicKeyPem?: string },
  onFetch?: RemoteKeysOptions['onFetch'],
): Promise<KeySource> {
  if (identity.publicKeyPem) return localKeys([await publicJwk(identity.publicKeyPem, 'JWT_PUBLIC_KEY')]);
  if (identity.jwksUrl) return remoteKeys(identity.jwksUrl, { onFetch });
  throw new ConfigError(
    'JWT_JWKS_URL',
    'is required (or JWT_PUBLIC_KEY): where servicio-usuarios publishes the keys that sign tokens',
  );
}
