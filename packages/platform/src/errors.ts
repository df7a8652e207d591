import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseError, errorSummary, isDatabaseUnavailable } from './database.js';
import { ValidationError } from './validation.js';

/** An answer `{"detail": "..."}` with a status, as DRF's APIException. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
    /** simplejwt's machine-readable `code` (`token_not_valid`, …), sent beside `detail` when given. */
    readonly code?: string,
  ) {
    super(detail);
    this.name = 'HttpError';
  }
}

export const DETAIL = {
  notFound: 'No encontrado.',
  invalidPage: 'Página inválida.',
  internal: 'Error interno del servidor.',
  unavailable: 'Base de datos no disponible. Intente de nuevo en unos segundos.',
  shuttingDown: 'El servicio se está deteniendo. Intente de nuevo.',
  tooLarge: 'El cuerpo de la solicitud es demasiado grande.',
  badHost: 'Host no permitido.',
  methodNotAllowed: (method: string) => `Método "${method}" no permitido.`,
  mediaType: (type: string) => `Tipo de medio "${type}" incompatible en la solicitud.`,
  malformedJson: (reason: string) => `JSON mal formado - ${reason}`,
};

export const notFound = () => new HttpError(404, DETAIL.notFound);

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = '5';

/** Drizzle's query errors end their message with `params: ...`, the values sent with the query. */
function withoutQueryParameters(text: string): string {
  return text.replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/, '\nparams: [redacted]');
}

/** The one error mapper of both services: every failure leaves as a DRF-shaped answer. */
export function registerErrorHandling(app: FastifyInstance, options: { debug: boolean }): void {
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: DETAIL.notFound }));

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ValidationError) return reply.code(400).send(error.fields);
    if (error instanceof HttpError) {
      const body = error.code ? { detail: error.detail, code: error.code } : { detail: error.detail };
      return reply.code(error.statusCode).headers(error.headers).send(body);
    }
    if (error.validationContext === 'params') return reply.code(404).send({ detail: DETAIL.notFound });

    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send({ detail: DETAIL.mediaType(request.headers['content-type'] ?? '') });
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send({ detail: DETAIL.tooLarge });
    }

    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: errorSummary(error) }, 'database unavailable');
      return reply.code(503).header('Retry-After', RETRY_AFTER_SECONDS).send({ detail: DETAIL.unavailable });
    }

    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad Content-Length, aborted body...): safe to name.
      return reply.code(status).send({ detail: error.message });
    }

    // `stack_trace` lets Cloud Error Reporting group the failure. Query parameters are left out:
    // they are users' data (e-mails, names), which has no place in logs.
    const stack = withoutQueryParameters(error.stack ?? '');
    // The database's own SQLSTATE and message sit under Drizzle's wrapper: they tell a deadlock
    // from a constraint from a bug.
    const cause = databaseError(error);
    request.log.error(
      {
        err: {
          type: error.name,
          code: cause?.code ?? error.code,
          message: withoutQueryParameters(error.message),
          stack,
        },
        ...(cause
          ? { database: { code: cause.code, constraint: cause.constraint, message: cause.message } }
          : {}),
        stack_trace: stack,
      },
      'unhandled error',
    );
    const body: Record<string, unknown> = { detail: DETAIL.internal };
    if (options.debug) Object.assign(body, { error: error.message, stack: error.stack });
    return reply.code(500).send(body);
  });
}
