import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { ALGORITHM, type KeySource } from './keys.js';

/** A token that does not verify, for whatever reason: always the same 401 to the client. */
export class InvalidToken extends Error {
  constructor(readonly reason: string) {
    super(`invalid token: ${reason}`);
    this.name = 'InvalidToken';
  }
}

export interface TokenClaims extends JWTPayload {
  /** `evento`: the embedded default's local push, signed by the identity provider (events/push.ts). */
  token_type: 'access' | 'refresh' | 'evento';
  user_id: number;
  jti: string;
  exp: number;
  iat: number;
}

export interface VerifyOptions {
  keys: KeySource;
  issuer?: string;
  audience?: string;
}

/**
 * Checks a compact JWS: ES256 only (`none`, HS256 and the rest are refused before any key is
 * looked up), a known `kid`, the signature, `exp`, and `iss`/`aud` when configured. With
 * `allowExpired` an expired but genuine token is returned (logout accepts those).
 */
export async function verifyToken(
  token: string,
  options: VerifyOptions & { type: TokenClaims['token_type']; allowExpired?: boolean },
): Promise<TokenClaims> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new InvalidToken('malformed');
  }
  if (header.alg !== ALGORITHM) throw new InvalidToken(`algorithm ${String(header.alg)}`);
  if (typeof header.kid !== 'string') throw new InvalidToken('no kid');
  const key = await options.keys.key(header.kid);
  if (!key) throw new InvalidToken('unknown kid');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'jti'],
    }));
  } catch (err) {
    if (!(options.allowExpired && err instanceof errors.JWTExpired)) {
      throw new InvalidToken(err instanceof Error ? err.message : 'verification failed');
    }
    payload = err.payload;
  }
  if (payload.token_type !== options.type) throw new InvalidToken(`not an ${options.type} token`);
  if (
    options.type !== 'evento' &&
    (!Number.isSafeInteger(payload.user_id) || (payload.user_id as number) < 1)
  ) {
    throw new InvalidToken('bad user_id');
  }
  return payload as TokenClaims;
}

/** Who made a request, as its access token says. */
export interface Caller {
  id: number;
  role: string;
}

/**
 * Verifies access tokens, remembering the verified ones until they expire: a client sends the same
 * token for minutes, and an ECDSA verification would otherwise cost more than the request it guards.
 */
export interface AccessVerifier {
  (token: string): Promise<Caller>;
  /** The caller of a token verified before and not yet expired, without waiting: the common case. */
  cached(token: string): Caller | undefined;
}

export function accessTokenVerifier(
  options: VerifyOptions & { roles: readonly string[]; cacheSize?: number },
): AccessVerifier {
  const cacheSize = options.cacheSize ?? 10_000;
  const verified = new Map<string, { caller: Caller; expiresMs: number }>();
  const cached = (token: string) => {
    const hit = verified.get(token);
    if (hit && hit.expiresMs > Date.now()) return hit.caller;
    if (hit) verified.delete(token);
    return undefined;
  };
  const verifyAccess = async (token: string): Promise<Caller> => {
    const hit = cached(token);
    if (hit) return hit;
    const claims = await verifyToken(token, { ...options, type: 'access' });
    const role = claims.tipo_usuario;
    if (typeof role !== 'string' || !options.roles.includes(role)) throw new InvalidToken('bad tipo_usuario');
    const caller = { id: claims.user_id, role };
    // Oldest first out: a Map keeps insertion order.
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string);
    verified.set(token, { caller, expiresMs: claims.exp * 1000 });
    return caller;
  };
  return Object.assign(verifyAccess, { cached });
}
