import { HttpError, type Telemetry, tracedFetch } from '@servicios/platform';

export const TITULAR_INVALIDO = 'El usuario no existe o no está activo.';
const SIN_RESPUESTA =
  'No se pudo comprobar el usuario en servicio-usuarios. Intente de nuevo en unos segundos.';

/**
 * Whether a reservation may be held by `usuarioId` (CONTRACT §6): servicio-usuarios is asked, with the
 * caller's own token, for that user. Staff may read every user there, so no standing credential of
 * servicio-reservas is needed, and the check is done with exactly the caller's authority. Answers
 * false for a missing or inactive user; throws 503 when servicio-usuarios cannot say within 2 s.
 */
export function titulares(usuariosUrl: string, telemetry: Telemetry) {
  return async function admite(usuarioId: number, authorization: string): Promise<boolean> {
    let response: Response;
    try {
      response = await tracedFetch(
        telemetry,
        { method: 'GET', template: '/api/usuarios/:id/' },
        `${usuariosUrl}/api/usuarios/${usuarioId}/`,
        { headers: { authorization, accept: 'application/json' }, signal: AbortSignal.timeout(2000) },
      );
    } catch {
      throw new HttpError(503, SIN_RESPUESTA, { 'Retry-After': '5' });
    }
    if (response.status === 404) return false;
    if (response.status !== 200) throw new HttpError(503, SIN_RESPUESTA, { 'Retry-After': '5' });
    const usuario = (await response.json().catch(() => undefined)) as { activo?: unknown } | undefined;
    if (typeof usuario?.activo !== 'boolean') throw new HttpError(503, SIN_RESPUESTA, { 'Retry-After': '5' });
    return usuario.activo;
  };
}
