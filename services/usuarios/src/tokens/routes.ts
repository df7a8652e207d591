import { randomUUID } from 'node:crypto';
import {
  type Access,
  body,
  type Config,
  type Db,
  fields,
  HttpError,
  InvalidToken,
  type TokenClaims,
  unauthorized,
  verifyToken,
} from '@servicios/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Contrasenas } from '../usuarios/password.js';
import { repositorioUsuarios } from '../usuarios/repository.js';
import type { Claves } from './claves.js';
import { type Limite, repositorioLimites } from './limites.js';
import { repositorioSesiones } from './sesiones.js';

// simplejwt's answers (CONTRACT §5.2), with its own Spanish texts.
const SIN_CUENTA = 'La combinación de credenciales no tiene una cuenta activa';
const TOKEN_INVALIDO = 'El token es inválido o ha expirado';
const sinCuenta = () => unauthorized(SIN_CUENTA, 'no_active_account');
const tokenInvalido = () => unauthorized(TOKEN_INVALIDO, 'token_not_valid');
export const regulada = (s: number) =>
  new HttpError(429, `Solicitud fue regulada (throttled). Se espera que esté disponible en ${s} segundos.`, {
    'Retry-After': String(s),
  });

/** Who may call what: login takes a token only to refuse a bad one; the rest ignore Authorization. */
const quien = {
  login: 'optional',
  refresh: 'public',
  verify: 'public',
  blacklist: 'public',
  jwks: 'public',
} satisfies Record<string, Access>;

const credenciales = {
  // simplejwt's username field is a plain CharField (no e-mail format check); matched without case.
  email: fields.string({ max: 254 }),
  password: fields.password({ max: 4096 }),
};
const token = (nombre: string) => ({ [nombre]: fields.string({ max: 4096 }) });

const tags = ['tokens'];
const problema = { type: 'object', additionalProperties: true };
const vacio = { type: 'object', additionalProperties: false, properties: {} };
const jwt = { type: 'string', description: 'JWS compacto (ES256).' };
const pair = (orden: ('access' | 'refresh')[]) => ({
  type: 'object',
  required: orden,
  properties: Object.fromEntries(orden.map((k) => [k, jwt])),
});

/** Token endpoints of djangorestframework-simplejwt, with rotation and reuse detection (CONTRACT §5.2). */
export async function rutasTokens(
  app: FastifyInstance,
  {
    db,
    config,
    claves,
    contrasenas,
  }: { db: Db; config: Readonly<Config>; claves: Claves; contrasenas: Contrasenas },
): Promise<void> {
  const usuarios = repositorioUsuarios(db);
  const sesiones = repositorioSesiones(db);
  const limites = repositorioLimites(db);
  const { identity } = config;
  const { throttle } = identity;
  const verificar = (t: string, type: TokenClaims['token_type'], allowExpired = false) =>
    verifyToken(t, {
      keys: claves.verificacion,
      issuer: identity.issuer,
      audience: identity.audience,
      type,
      allowExpired,
    });

  /** Access and refresh of one login (`sid`: the family). */
  async function par(usuarioId: number, tipo: string, sid: string, refreshJti: string) {
    const [access, refresh] = await Promise.all([
      claves.firmar({ token_type: 'access', user_id: usuarioId, tipo_usuario: tipo }, identity.accessTtlS),
      claves.firmar({ token_type: 'refresh', user_id: usuarioId, sid }, identity.refreshTtlS, refreshJti),
    ]);
    return { access, refresh };
  }
  const caducidadRefresh = () => new Date(Date.now() + identity.refreshTtlS * 1000);

  /** A refresh token signed here (expired ones too, where allowed), else the 401 of simplejwt. */
  async function refreshFirmado(valor: string, allowExpired = false) {
    try {
      const claims = await verificar(valor, 'refresh', allowExpired);
      if (typeof claims.sid !== 'string') throw new InvalidToken('no sid');
      return { ...claims, sid: claims.sid };
    } catch (err) {
      if (err instanceof InvalidToken) throw tokenInvalido();
      throw err;
    }
  }

  // Expired families and throttle keys are deleted now and then, at most once a minute per process.
  let limpiezaMs = 0;
  function limpiarDeVezEnCuando(request: FastifyRequest) {
    if (Date.now() - limpiezaMs < 60_000) return;
    limpiezaMs = Date.now();
    Promise.all([sesiones.limpiar(), limites.limpiar()]).catch((err) =>
      request.log.warn({ err: { message: (err as Error).message } }, 'cleanup of expired sessions failed'),
    );
  }

  app.post(
    '/api/token/',
    {
      config: { access: quien.login },
      schema: {
        tags,
        summary: 'Inicia sesión: un par de tokens (refresh, access)',
        body: body(credenciales, 'create'),
        response: { 200: pair(['refresh', 'access']), 400: problema, 401: problema, 429: problema },
      },
      attachValidation: true,
    },
    async (request) => {
      const direccion = request.ip;
      const porDireccion: Limite = {
        clave: `login-ip:${direccion}`,
        maximo: throttle.loginAttempts,
        ventanaS: throttle.loginAttemptsWindowS,
      };
      // A 400 is an attempt from the address, but no failure for any e-mail (CONTRACT §5.5).
      if (request.validationError) {
        const intento = await limites.intentar([porDireccion]);
        if (!intento.ok) throw regulada(intento.esperaS);
        throw request.validationError;
      }
      const { email, password } = request.body as { email: string; password: string };
      const porEmail: Limite = {
        clave: `login:${direccion}:${email.toLowerCase()}`,
        maximo: throttle.loginFailures,
        ventanaS: throttle.loginFailuresWindowS,
      };
      // Counted as a failure before the password is checked, so that concurrent guesses cannot all
      // slip under the limit; a success takes it back.
      const intento = await limites.intentar([porDireccion, porEmail]);
      if (!intento.ok) throw regulada(intento.esperaS);
      const usuario = await usuarios.credenciales(email);
      const coincide = await contrasenas.coincide(password, usuario?.password).catch(async (err) => {
        // Too many hashes at once (503): the password was not checked, so nothing was attempted.
        await limites.devolver([porDireccion.clave, porEmail.clave]);
        throw err;
      });
      if (!usuario || !coincide || !usuario.activo) throw sinCuenta();
      await limites.olvidar(porEmail.clave);
      limpiarDeVezEnCuando(request);
      const jti = randomUUID();
      const sid = await sesiones.abrir(usuario.id, jti, caducidadRefresh());
      const { access, refresh } = await par(usuario.id, usuario.tipo_usuario, sid, jti);
      return { refresh, access };
    },
  );

  app.post(
    '/api/token/refresh/',
    {
      config: { access: quien.refresh },
      schema: {
        tags,
        summary: 'Rota el refresh token: un par nuevo; el presentado deja de valer',
        body: body(token('refresh'), 'create'),
        response: { 200: pair(['access', 'refresh']), 400: problema, 401: problema },
      },
    },
    async (request) => {
      const claims = await refreshFirmado((request.body as { refresh: string }).refresh);
      const jti = randomUUID();
      const usuario = await sesiones.rotar(claims.sid, claims.jti, jti, caducidadRefresh());
      if (!usuario) throw tokenInvalido();
      return par(usuario.usuarioId, usuario.tipo, claims.sid, jti);
    },
  );

  app.post(
    '/api/token/verify/',
    {
      config: { access: quien.verify },
      schema: {
        tags,
        summary: 'Comprueba un token (firma, caducidad; un refresh, además, que siga vigente)',
        body: body(token('token'), 'create'),
        response: { 200: vacio, 400: problema, 401: problema },
      },
    },
    async (request) => {
      const valor = (request.body as { token: string }).token;
      try {
        await verificar(valor, 'access');
        return {};
      } catch (err) {
        if (!(err instanceof InvalidToken)) throw err;
      }
      const claims = await refreshFirmado(valor);
      if (!(await sesiones.usable(claims.sid, claims.jti))) throw tokenInvalido();
      return {};
    },
  );

  app.post(
    '/api/token/blacklist/',
    {
      config: { access: quien.blacklist },
      schema: {
        tags,
        summary: 'Cierra la sesión a la que pertenece el refresh token (idempotente)',
        body: body(token('refresh'), 'create'),
        response: { 200: vacio, 400: problema, 401: problema },
      },
    },
    async (request) => {
      const claims = await refreshFirmado((request.body as { refresh: string }).refresh, true);
      await sesiones.revocar(claims.sid);
      return {};
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: quien.jwks },
      schema: {
        tags,
        summary: 'Claves públicas (JWKS) que firman los tokens: la actual y las retiradas aún válidas',
        response: {
          200: {
            type: 'object',
            required: ['keys'],
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: Object.fromEntries(
                    ['kty', 'crv', 'x', 'y', 'alg', 'use', 'kid'].map((k) => [k, { type: 'string' }]),
                  ),
                },
              },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      reply.header('Cache-Control', 'public, max-age=300');
      return claves.jwks;
    },
  );
}
