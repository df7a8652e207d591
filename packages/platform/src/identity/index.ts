// How a request is authenticated and what each role may reach (CONTRACT §5): the one place to read.
export {
  type Access,
  AUTH_DETAIL,
  AUTHENTICATED,
  accessDescription,
  accessOf,
  assertReaches,
  authenticate,
  bearerScheme,
  callerOf,
  forbidden,
  isPreflight,
  registerAuthentication,
  type Scope,
  securityOf,
  unauthorized,
} from './access.js';
export {
  ALGORITHM,
  configuredKeys,
  type KeySource,
  KeysUnavailable,
  localKeys,
  type PublicJwk,
  publicJwk,
  remoteKeys,
} from './keys.js';
export { isTipoUsuario, TIPOS_USUARIO, type TipoUsuario } from './roles.js';
export {
  type AccessVerifier,
  accessTokenVerifier,
  type Caller,
  InvalidToken,
  type TokenClaims,
  verifyToken,
} from './tokens.js';
