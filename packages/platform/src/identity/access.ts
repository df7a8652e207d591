import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, notFound } from '../errors.js';
import { KeysUnavailable } from './keys.js';
import type { TipoUsuario } from './roles.js';
import { type AccessVerifier, type Caller, InvalidToken } from './tokens.js';

/**
 * What a role may reach through a route: every object (`all`); only its own, others looking missing
 * (`own`, a 404) or refused (`own-else-403`); or none, though its own are visible (`see-own`: a 403
 * on its own, a 404 on others', as DRF checks the object's visibility before its permission).
 */
export type Scope = 'all' | 'own' | 'own-else-403' | 'see-own';

/**
 * Who may call a route, declared beside its schema (CONTRACT §5.3–5.4):
 * - `public`: no token is looked at (health, docs, refresh/verify/blacklist, JWKS);
 * - `optional`: anyone, but a token that is sent must be valid (registration, login);
 * - a scope per role: a token is required, and a role not listed gets 403 before anything else.
 */
export type Access = 'public' | 'optional' | Partial<Record<TipoUsuario, Scope>>;

/** Any valid token: what a 405 or OPTIONS answer needs on a path whose routes need one. */
export const AUTHENTICATED: Access = { cliente: 'all', empleado: 'all', administrador: 'all' };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The caller whose token was verified, or null (anonymous, or a public route). */
    caller: (Caller & { scope: Scope }) | null;
  }
}

const REALM = { 'WWW-Authenticate': 'Bearer realm="api"' };

export const AUTH_DETAIL = {
  notProvided: 'Las credenciales de autenticación no se proveyeron.',
  tokenNotValid: 'El token dado no es valido para ningun tipo de token',
  badHeader: "El encabezado 'Authorization' debe contener valores delimitados por espacios",
  forbidden: 'Usted no tiene permiso para realizar esta acción.',
  keysUnavailable: 'No se pueden verificar las credenciales ahora. Intente de nuevo en unos segundos.',
};

/** 401 answers always name the scheme (RFC 9110), as simplejwt's `Bearer realm="api"`. */
export const unauthorized = (detail: string, code?: string) => new HttpError(401, detail, REALM, code);
export const forbidden = () => new HttpError(403, AUTH_DETAIL.forbidden);

/** A CORS preflight: answered without a token (the browser never sends one with it). */
export const isPreflight = (request: FastifyRequest) =>
  request.method === 'OPTIONS' &&
  request.headers.origin !== undefined &&
  request.headers['access-control-request-method'] !== undefined;

/**
 * The token of an `Authorization: Bearer <token>` header, as simplejwt reads it: another scheme is
 * no credentials at all (undefined); `Bearer` with no value or with several is a 401 of its own.
 */
function bearerToken(header: string): string | undefined {
  const parts = header.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  if (parts.length !== 2) throw unauthorized(AUTH_DETAIL.badHeader, 'bad_authorization_header');
  return parts[1];
}

export function accessOf(request: FastifyRequest): Access {
  return request.routeOptions.config?.access ?? 'public';
}

/**
 * Authentication, then the route's permission by role, on every request before its body is read:
 * as DRF, a 401 or a role's 403 comes before 404 (odd ids included), 415, 400 and 409.
 */
/**
 * The caller of a request under `access`, or null (anonymous where allowed); throws the 401, the
 * role's 403, or a 503 when the keys cannot be had.
 */
export async function authenticate(
  request: FastifyRequest,
  access: Access,
  verifyAccess: AccessVerifier,
): Promise<(Caller & { scope: Scope }) | null> {
  const token = tokenOf(request, access);
  if (token === undefined) return null;
  let caller: Caller;
  try {
    caller = await verifyAccess(token);
  } catch (err) {
    if (err instanceof InvalidToken) throw unauthorized(AUTH_DETAIL.tokenNotValid, 'token_not_valid');
    if (err instanceof KeysUnavailable) {
      request.log.warn('signing keys unavailable: answering 503');
      throw new HttpError(503, AUTH_DETAIL.keysUnavailable, { 'Retry-After': String(err.retryAfterS) });
    }
    throw err;
  }
  return permitted(access, caller);
}

/** The bearer token a request must be judged by, or undefined when it goes on anonymous; or the 401. */
function tokenOf(request: FastifyRequest, access: Access): string | undefined {
  if (access === 'public' || isPreflight(request)) return undefined;
  const header = request.headers.authorization;
  const token = header === undefined ? undefined : bearerToken(header);
  if (token === undefined && access !== 'optional') throw unauthorized(AUTH_DETAIL.notProvided);
  return token;
}

/** The caller with the route's scope for its role, or the role's 403. */
function permitted(access: Access, caller: Caller): Caller & { scope: Scope } {
  const scope = typeof access === 'object' ? access[caller.role as TipoUsuario] : 'all';
  if (!scope) throw forbidden();
  return { ...caller, scope };
}

/**
 * Authentication, then the route's permission by role, on every request before its body is read:
 * as DRF, a 401 or a role's 403 comes before 404 (odd ids included), 415, 400 and 409. Callback style,
 * and without waiting when the token was verified before: this runs on every request.
 */
export function registerAuthentication(app: FastifyInstance, verifyAccess: AccessVerifier) {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', (request, _reply, done) => {
    const access = accessOf(request);
    try {
      const token = tokenOf(request, access);
      const known = token === undefined ? undefined : verifyAccess.cached(token);
      if (token === undefined || known) {
        request.caller = known ? permitted(access, known) : null;
        return done();
      }
    } catch (err) {
      return done(err as Error);
    }
    authenticate(request, access, verifyAccess).then((caller) => {
      request.caller = caller;
      done();
    }, done);
  });
}

/** The caller of a route that requires a token. */
export function callerOf(request: FastifyRequest): Caller & { scope: Scope } {
  if (!request.caller) throw unauthorized(AUTH_DETAIL.notProvided);
  return request.caller;
}

/** Throws what the caller gets for an object held by `ownerId` that its scope does not reach. */
export function assertReaches(request: FastifyRequest, ownerId: number): void {
  const { scope, id } = callerOf(request);
  if (scope === 'all' || (id === ownerId && scope !== 'see-own')) return;
  throw (scope === 'own' || scope === 'see-own') && id !== ownerId ? notFound() : forbidden();
}

/** OpenAPI: the bearer scheme on every route that takes a token, so the docs page can "Authorize". */
export function securityOf(access: Access): Record<string, string[]>[] | undefined {
  if (access === 'public') return undefined;
  return access === 'optional' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }];
}

const SCOPE_WORDS: Record<Scope, string> = {
  all: 'todos',
  own: 'solo los propios (otros: 404)',
  'own-else-403': 'solo los propios (otros: 403)',
  'see-own': 'ninguno (propios: 403, otros: 404)',
};

/** A route's access as one sentence of its OpenAPI description. */
export function accessDescription(access: Access): string | undefined {
  if (access === 'public') return undefined;
  if (access === 'optional') return 'Acceso: sin token, o con un token válido.';
  const roles = Object.entries(access).map(([role, scope]) => `${role}: ${SCOPE_WORDS[scope as Scope]}`);
  return `Acceso (token Bearer): ${roles.join('; ')}; otros roles: 403.`;
}

export const bearerScheme = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } as const;
