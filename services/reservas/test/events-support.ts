// Shared pieces of the event suites (CONTRACT §6), not a test file itself: the services started against
// the Pub/Sub emulator, pulled messages read as CloudEvents, and the checks every event must pass.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ApiResponse,
  type Client,
  client,
  type PubSubEmulator,
  type PulledMessage,
  type RunningService,
  startService,
} from '@servicios/testing';
import { type Suite, startUsuarios, type Usuario } from '../../usuarios/test/support.ts';
import { buildApp, servicio } from '../src/app.ts';

export const PUSH_PATH = '/api/eventos/pubsub/';
export const TOPIC_USUARIOS = 'usuarios-eventos';
export const TOPIC_RESERVAS = 'reservas-eventos';
export const DESACTIVADO = 'servicios.usuarios.v1.usuario.desactivado';
export const TITULAR_INVALIDO = { usuario_id: ['El usuario no existe o no está activo.'] };

/** RFC 3339 date-time (CloudEvents' `time`). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The environment of a service that publishes to the emulator. The Pub/Sub client library reads
 * PUBSUB_EMULATOR_HOST from the process environment, not from the variables given to loadConfig, so an
 * in-process service needs it there too (one emulator per test file, so this is safe).
 */
export function emulatorEnv(emulator: PubSubEmulator): Record<string, string> {
  process.env.PUBSUB_EMULATOR_HOST = emulator.host;
  process.env.METADATA_SERVER_DETECTION = 'none';
  return { PUBSUB_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: emulator.project };
}

export interface Evento {
  messageId: string;
  type: string;
  subject: string;
  id: string;
  source: string;
  time: string;
  orderingKey: string;
  attributes: Record<string, string>;
  /** The resource as the API shows it (parsed JSON). */
  data: any;
  raw: string;
}

export function decode(message: PulledMessage): Evento {
  const a = message.attributes;
  let data: unknown;
  try {
    data = JSON.parse(message.raw);
  } catch {
    data = undefined;
  }
  return {
    messageId: message.messageId,
    type: a['ce-type'] ?? '',
    subject: a['ce-subject'] ?? '',
    id: a['ce-id'] ?? '',
    source: a['ce-source'] ?? '',
    time: a['ce-time'] ?? '',
    orderingKey: message.orderingKey,
    attributes: a,
    data,
    raw: message.raw,
  };
}

/** Everything a pull subscription has received so far, in arrival order (redeliveries of a message once). */
export class Inbox {
  readonly events: Evento[] = [];
  private seen = new Set<string>();

  constructor(
    private readonly emulator: PubSubEmulator,
    readonly subscription: string,
  ) {}

  async poll(): Promise<void> {
    for (const message of await this.emulator.pull(this.subscription)) {
      if (this.seen.has(message.messageId)) continue;
      this.seen.add(message.messageId);
      this.events.push(decode(message));
    }
  }

  of(subject: string): Evento[] {
    return this.events.filter((e) => e.subject === subject);
  }

  /** Pulls until `check` holds (deadline `timeoutMs`), then pulls once more so late extras show too. */
  async waitFor(check: (events: Evento[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      if (check(this.events)) break;
      if (Date.now() > deadline) {
        const seen = this.events.map((e) => `${e.subject} ${e.type}`).join('\n  ');
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received:\n  ${seen}`);
      }
      await sleep(100);
    }
    await this.poll();
  }

  /** Waits until `subject` has at least `count` events. */
  waitForSubject(subject: string, count: number, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(
      (events) => events.filter((e) => e.subject === subject).length >= count,
      `${count} events of ${subject}`,
      timeoutMs,
    );
  }
}

/** CONTRACT §6's binary mode: exactly these attributes, the ordering key = `ce-subject`. */
export function assertCloudEvent(
  event: Evento,
  expected: { type: string; subject: string; source: string; after?: number; before?: number },
): void {
  const label = `${expected.subject} ${expected.type}`;
  assert.deepEqual(
    event.attributes,
    {
      'ce-specversion': '1.0',
      'ce-id': event.attributes['ce-id'],
      'ce-type': expected.type,
      'ce-source': expected.source,
      'ce-time': event.attributes['ce-time'],
      'ce-subject': expected.subject,
      'content-type': 'application/json',
    },
    label,
  );
  assert.match(event.id, /^\S+$/, label);
  assert.match(event.time, RFC3339, label);
  // The event's time is the change's: within the request that made it (1 s of slack for clock rounding).
  if (expected.after !== undefined)
    assert.ok(Date.parse(event.time) >= expected.after - 1000, `${label} ${event.time}`);
  if (expected.before !== undefined)
    assert.ok(Date.parse(event.time) <= expected.before + 1000, `${label} ${event.time}`);
  assert.equal(event.orderingKey, expected.subject, `${label}: ordering key`);
}

/** What `ce-source` of a service's events must be: a URI-reference (CloudEvents 1.0), one per service. */
export function assertSource(source: string): void {
  assert.ok(source.length > 0 && !/\s/.test(source), `ce-source "${source}"`);
}

export function expectStatus(res: ApiResponse, status: number, label = ''): ApiResponse {
  assert.equal(res.status, status, `${label} ${res.status} ${res.text}`.trim());
  return res;
}

export interface Stack {
  usuarios: Suite;
  reservas: RunningService;
  /** servicio-reservas as the administrador. */
  api: Client;
  anon: Client;
  /** A new user of that role, logged in, with a client of servicio-reservas carrying its token. */
  como(tipo: 'cliente' | 'empleado' | 'administrador'): Promise<Usuario & { reservas: Client }>;
  close(): Promise<void>;
}

/** servicio-usuarios and servicio-reservas in this process, on one new database, with `env` added to both. */
export async function startStack(
  label: string,
  env: Record<string, string> = {},
  reservasEnv: Record<string, string> = {},
): Promise<Stack> {
  const usuarios = await startUsuarios(label, env);
  const reservas = await startService(servicio, buildApp, {
    DATABASE_URL: usuarios.db.url,
    JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
    USUARIOS_URL: usuarios.url,
    ...env,
    ...reservasEnv,
  });
  const anon = client(reservas.url);
  return {
    usuarios,
    reservas,
    anon,
    api: anon.as(usuarios.api.token),
    async como(tipo) {
      const usuario = await usuarios.usuario(tipo);
      return { ...usuario, reservas: anon.as(usuario.api.token) };
    },
    async close() {
      await reservas.close();
      await usuarios.close();
    },
  };
}

/** An ISO date-time `days` from now. */
export function enDias(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

export function reservaPara(usuarioId: number | undefined, overrides: Record<string, unknown> = {}) {
  return {
    ...(usuarioId === undefined ? {} : { usuario_id: usuarioId }),
    fecha_reserva: enDias(10),
    numero_personas: 2,
    ...overrides,
  };
}

/** A Pub/Sub push envelope (as the push subscription POSTs it) of one CloudEvent in binary mode. */
export function envelope(
  attributes: Record<string, string>,
  data: unknown,
  options: { rawData?: string; orderingKey?: string } = {},
) {
  const text = options.rawData ?? JSON.stringify(data);
  return {
    message: {
      attributes,
      data: Buffer.from(text).toString('base64'),
      messageId: String(Math.floor(Math.random() * 1e12)),
      publishTime: new Date().toISOString(),
      ...(options.orderingKey ? { orderingKey: options.orderingKey } : {}),
    },
    subscription: 'projects/test/subscriptions/reservas-push',
  };
}

/** The attributes of a usuario.desactivado event of `usuarioId`, as servicio-usuarios publishes them. */
export function desactivadoAttributes(usuarioId: number, ceId: string, time = new Date().toISOString()) {
  return {
    'ce-specversion': '1.0',
    'ce-id': ceId,
    'ce-type': DESACTIVADO,
    'ce-source': '/servicio-usuarios',
    'ce-time': time,
    'ce-subject': `usuarios/${usuarioId}`,
    'content-type': 'application/json',
  };
}
