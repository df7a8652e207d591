// Helpers of the identity suites (identity-*.test.ts): tokens that the tests sign themselves with a
// key they gave the service (or with a foreign one), and the exact 401 answers of CONTRACT §5.2–5.3.
// Not a test file itself (no `.test.ts`).
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { ApiResponse } from '@servicios/testing';
import { calculateJwkThumbprint, exportJWK, importPKCS8, SignJWT } from 'jose';

/** The answer of every protected route to a token that does not verify (§5.3). */
export const TOKEN_NO_VALIDO = {
  detail: 'El token dado no es valido para ningun tipo de token',
  code: 'token_not_valid',
};
/** The answer of the token endpoints to a token that does not verify (§5.2). */
export const TOKEN_INVALIDO = { detail: 'El token es inválido o ha expirado', code: 'token_not_valid' };
/** Unknown e-mail, wrong password and inactive user: one answer (§5.2). */
export const SIN_CUENTA = {
  detail: 'La combinación de credenciales no tiene una cuenta activa',
  code: 'no_active_account',
};
export const SIN_CREDENCIALES = { detail: 'Las credenciales de autenticación no se proveyeron.' };
export const ENCABEZADO_MALO = {
  detail: "El encabezado 'Authorization' debe contener valores delimitados por espacios",
  code: 'bad_authorization_header',
};
export const PROHIBIDO = { detail: 'Usted no tiene permiso para realizar esta acción.' };
export const NO_ENCONTRADO = { detail: 'No encontrado.' };
export const ULTIMO_ADMIN = { detail: 'No se puede dejar el sistema sin un administrador activo.' };

/** A 401 with exactly this body and a Bearer challenge (RFC 9110). */
export function assert401(res: ApiResponse, body: Record<string, string>, message?: string): void {
  assert.equal(res.status, 401, `${message ?? ''} ${res.text}`);
  assert.deepEqual(res.body, body, message);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, message);
}

/** The exact status and body, with the response text in the failure message. */
export function assertAnswer(res: ApiResponse, status: number, body?: unknown, message?: string): void {
  assert.equal(res.status, status, `${message ?? ''} ${res.text}`);
  if (body !== undefined) assert.deepEqual(res.body, body, message);
}

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/** The header and claims of a compact JWS, unverified. */
export function decodificar(token: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()),
  };
}

/** The same token with other claims and the original signature (a tampered payload). */
export function alterar(token: string, cambios: Record<string, unknown>): string {
  const [header, , firma] = token.split('.');
  const { payload } = decodificar(token);
  return `${header}.${b64url(JSON.stringify({ ...payload, ...cambios }))}.${firma}`;
}

/** The `kid` that servicio-usuarios gives a public key (its RFC 7638 thumbprint). */
export async function kidDe(publicKeyPem: string): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(createPublicKey(publicKeyPem)));
}

/** Claims of a valid access token of that user, valid for an hour. */
export function claimsAccess(userId: number, tipo: string): Record<string, unknown> {
  const ahora = Math.floor(Date.now() / 1000);
  return {
    token_type: 'access',
    user_id: userId,
    tipo_usuario: tipo,
    iat: ahora,
    exp: ahora + 3600,
    jti: randomUUID(),
  };
}

/** An ES256 token signed with this PEM private key: exactly these claims, this `kid` (none when undefined), more header. */
export async function firmar(
  privateKeyPem: string,
  claims: Record<string, unknown>,
  kid: string | undefined,
  cabecera: Record<string, unknown> = {},
): Promise<string> {
  const clave = await importPKCS8(privateKeyPem, 'ES256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...(kid ? { kid } : {}), ...cabecera })
    .sign(clave);
}

/** A token with any header, HMAC-SHA256-signed with `secreto` (the HS256 confusion attack). */
export function firmarHs256(secreto: Buffer | string, claims: Record<string, unknown>, kid: string): string {
  const cabeza = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${cabeza}.${createHmac('sha256', secreto).update(cabeza).digest('base64url')}`;
}

/** An unsigned token (`alg: none`). */
export function sinFirma(claims: Record<string, unknown>, kid: string): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}.`;
}

/** An RS256 token signed by a fresh RSA key, claiming `kid`. */
export async function firmarRs256(claims: Record<string, unknown>, kid: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
}

/** Waits a little: only to let a second pass so that `iat`-based values can differ. */
export const pausa = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
