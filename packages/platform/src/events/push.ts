import { context, SpanKind, trace } from '@opentelemetry/api';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { forbidden, type KeySource, unauthorized, verifyToken } from '../identity/index.js';
import { inSpan, type Telemetry } from '../telemetry/index.js';
import { type CloudEvent, fromPushEnvelope, MalformedPush } from './cloudevents.js';

/** Google's signing certificates by kid (PEM); a test may bring its own. */
export type GoogleCerts = () => Promise<Record<string, string>>;

/**
 * What consumes one type of event; it must be idempotent on `event.id` (delivery is at least once),
 * and says whether the event was new.
 */
export type EventHandler = (event: CloudEvent, log: FastifyBaseLogger) => Promise<'processed' | 'duplicate'>;

/** A push whose data is not what its type needs: a 400 (it ends in the dead-letter topic). */
export { MalformedPush };

type PushAuth =
  | { kind: 'google'; audience: string; serviceAccount: string }
  | { kind: 'emulator' }
  | { kind: 'local'; keys: KeySource }
  | { kind: 'refuse' };

/**
 * Who may push (CONTRACT §6): Pub/Sub with its OIDC token (PUBSUB_PUSH_AUDIENCE and the push's service
 * account); the official emulator, which sends no token, only when PUBSUB_EMULATOR_HOST is set and
 * PUBSUB_PUSH_AUDIENCE is not; in the embedded default (no database, no Pub/Sub), servicio-usuarios'
 * own push, signed with its token key. Any other configuration accepts no push at all.
 */
export function pushAuth(config: Readonly<Config>, identityKeys: KeySource): PushAuth {
  const { pushAudience, pushServiceAccount, emulatorHost, delivery } = config.events;
  if (pushAudience && pushServiceAccount)
    return { kind: 'google', audience: pushAudience, serviceAccount: pushServiceAccount };
  if (emulatorHost) return { kind: 'emulator' };
  if (config.database.kind === 'pglite' && delivery !== 'pubsub')
    return { kind: 'local', keys: identityKeys };
  return { kind: 'refuse' };
}

const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];

function bearer(request: FastifyRequest): string {
  const [scheme, token, ...rest] = (request.headers.authorization ?? '').trim().split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length)
    throw unauthorized('Push sin token OIDC válido.');
  return token;
}

async function authenticate(
  request: FastifyRequest,
  auth: PushAuth,
  googleCerts: GoogleCerts,
): Promise<void> {
  switch (auth.kind) {
    case 'emulator':
      return;
    case 'refuse':
      throw unauthorized('Este servicio no acepta pushes en esta configuración.');
    case 'local':
      try {
        await verifyToken(bearer(request), { keys: auth.keys, type: 'evento' });
        return;
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw unauthorized('Push sin token válido.');
      }
    case 'google': {
      const { OAuth2Client } = await import('google-auth-library');
      let payload: { email?: string; email_verified?: boolean } | undefined;
      try {
        const ticket = await new OAuth2Client().verifySignedJwtWithCertsAsync(
          bearer(request),
          await googleCerts(),
          auth.audience,
          GOOGLE_ISSUERS,
        );
        payload = ticket.getPayload();
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw unauthorized('Push sin token OIDC válido.');
      }
      // A genuine Google token, but from anyone: only the push subscription's identity may deliver.
      if (payload?.email !== auth.serviceAccount || payload.email_verified !== true) throw forbidden();
    }
  }
}

/** Google's current OIDC certificates, cached by google-auth-library until they expire. */
async function federatedCerts(): Promise<Record<string, string>> {
  const { OAuth2Client } = await import('google-auth-library');
  federatedClient ??= new OAuth2Client();
  return (await federatedClient.getFederatedSignonCertsAsync()).certs as Record<string, string>;
}
let federatedClient: InstanceType<typeof import('google-auth-library')['OAuth2Client']> | undefined;

/** A link from the consumer's span to the push request's own span, when there is one. */
function linkToRequest() {
  const request = trace.getSpanContext(context.active());
  return request ? [{ context: request }] : [];
}

/**
 * The endpoint Pub/Sub pushes to (not part of the public docs). 2xx acknowledges: a processed event,
 * a duplicate, or a type nobody here consumes. A malformed push is a 400; a database that cannot
 * answer is a 503 (the error handler's), and Pub/Sub delivers it again.
 */
export function registerPushEndpoint(
  app: FastifyInstance,
  options: {
    path: string;
    config: Readonly<Config>;
    identityKeys: KeySource;
    handlers: Record<string, EventHandler>;
    googleCerts?: GoogleCerts;
    telemetry: Telemetry;
  },
): void {
  const { telemetry } = options;
  const consumed = telemetry.meter.createCounter('servicios.events.consumed', {
    description: 'Pushed events, by type (those consumed here, else "other") and outcome.',
  });
  const auth = pushAuth(options.config, options.identityKeys);
  if (auth.kind === 'emulator') {
    app.log.warn('PUBSUB_EMULATOR_HOST without PUBSUB_PUSH_AUDIENCE: pushes are accepted without a token');
  }
  app.post(options.path, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    await authenticate(request, auth, options.googleCerts ?? federatedCerts);
    let type = 'unknown';
    try {
      const event = fromPushEnvelope(request.body);
      const handler = options.handlers[event.type];
      type = handler ? event.type : 'other';
      // The consumer's work continues the trace of the change that sent the event (its message's
      // traceparent), linked to this push's own request span.
      const outcome = handler
        ? await inSpan(
            telemetry,
            `process ${event.type}`,
            {
              kind: SpanKind.CONSUMER,
              parent: telemetry.extract(event.traceparent ? { traceparent: event.traceparent } : {}),
              links: linkToRequest(),
              attributes: {
                'messaging.system': 'gcp_pubsub',
                'messaging.operation.type': 'process',
                'cloudevents.event_type': event.type,
              },
            },
            () => handler(event, request.log),
          )
        : 'ignored';
      consumed.add(1, { type, outcome });
    } catch (err) {
      if (err instanceof MalformedPush) {
        consumed.add(1, { type, outcome: 'malformed' });
        throw new HttpError(400, err.message);
      }
      throw err;
    }
    return reply.code(204).send();
  });
}
