import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BuildOptions,
  type Config,
  loadConfig,
  type Migrations,
  migrateDatabase,
} from '@servicios/platform';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';

/** The PostgreSQL server the suites use; each suite makes its own database on it and drops it after. */
export const ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL straight against the test database (setup and assertions that bypass the API). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // Dropping the database (WITH FORCE) terminates what is still connected: not a test failure.
  pool.on('error', () => {});
  return {
    name,
    url: url.toString(),
    query: (text, values) => pool.query(text, values),
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface RunningService {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  config: Readonly<Config>;
  close(): Promise<void>;
}

/** A fresh EC P-256 key pair in PEM, as JWT_PRIVATE_KEY / JWT_PUBLIC_KEY take them. */
export function signingKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Migrates the database as the migrations job would (the service's own `migrate` when it has one),
 * then serves the app on a free port.
 */
export async function startService(
  service: { name: string; migrations: Migrations },
  buildApp: (options: BuildOptions) => Promise<FastifyInstance>,
  env: Record<string, string>,
  options: { migrate?: (config: Readonly<Config>) => Promise<unknown> } = {},
): Promise<RunningService> {
  const config = loadConfig(env, { service: service.name });
  await (options.migrate ? options.migrate(config) : migrateDatabase(config.database, service.migrations));
  const app = await buildApp({ config, logger: process.env.TEST_LOGS === '1' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return { app, url: `http://127.0.0.1:${address.port}`, config, close: () => app.close() };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A thin fetch wrapper: JSON in, JSON (or text) out, nothing hidden; `token` is sent as a Bearer. */
export function client(baseUrl: string, token?: string) {
  async function request<T = any>(
    method: string,
    path: string,
    options: { json?: unknown; body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    };
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(new URL(path, baseUrl), { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('json') && text) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }
  return {
    baseUrl,
    token,
    /** The same client, sending another token (none: anonymous). */
    as: (other?: string) => client(baseUrl, other),
    request,
    get: <T = any>(path: string, headers?: Record<string, string>) => request<T>('GET', path, { headers }),
    post: <T = any>(path: string, json?: unknown) =>
      request<T>('POST', path, json === undefined ? {} : { json }),
    put: <T = any>(path: string, json: unknown) => request<T>('PUT', path, { json }),
    patch: <T = any>(path: string, json: unknown) => request<T>('PATCH', path, { json }),
    delete: <T = any>(path: string) => request<T>('DELETE', path),
  };
}

export type Client = ReturnType<typeof client>;

/** Logs in at servicio-usuarios (POST /api/token/) and returns the pair; throws unless 200. */
export async function login(
  api: Client,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<{ access: string; refresh: string }> {
  const res = await api.as().request('POST', '/api/token/', { json: { email, password }, headers });
  if (res.status !== 200) throw new Error(`login of ${email} failed: ${res.status} ${res.text}`);
  return res.body;
}

/** A message as a pull from the emulator returns it, its data decoded. */
export interface PulledMessage {
  messageId: string;
  attributes: Record<string, string>;
  orderingKey: string;
  publishTime: string;
  /** The message data as sent (UTF-8), for searches in the raw bytes. */
  raw: string;
}

export interface PubSubEmulator {
  /** `127.0.0.1:<port>`, as PUBSUB_EMULATOR_HOST takes it. */
  host: string;
  project: string;
  /** Kills the emulator (the whole process group: gcloud spawns a java child) and waits for its port to close. */
  stop(): Promise<void>;
  /** Starts it again on the same port. A fresh emulator knows no topic or subscription: create them again. */
  restart(): Promise<void>;
  createTopic(name: string): Promise<void>;
  /** A subscription of `topic`: a pull one unless `pushEndpoint`; a dead-letter policy when `deadLetterTopic`. */
  createSubscription(
    name: string,
    options: {
      topic: string;
      pushEndpoint?: string;
      ordering?: boolean;
      deadLetterTopic?: string;
      maxDeliveryAttempts?: number;
      ackDeadlineSeconds?: number;
    },
  ): Promise<void>;
  /** Publishes straight to a topic (data as given, UTF-8), as another publisher would. */
  publish(
    topic: string,
    messages: { data: string; attributes?: Record<string, string>; orderingKey?: string }[],
  ): Promise<void>;
  /** Whatever the subscription has now (possibly nothing), acknowledged. */
  pull(subscription: string, max?: number): Promise<PulledMessage[]>;
}

const emulators = new Set<number>();
// A test file that dies without its after() hooks must not leave a JVM behind.
process.once('exit', () => {
  for (const pid of emulators) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
});

/**
 * The official Pub/Sub emulator (`gcloud beta emulators pubsub start`) on a free port, answering its
 * REST API before this resolves (it takes a few seconds: a JVM starts). One per test file.
 */
export async function startPubSubEmulator(): Promise<PubSubEmulator> {
  const project = `test-${randomBytes(4).toString('hex')}`;
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const host = `127.0.0.1:${port}`;
  const base = `http://${host}/v1/projects/${project}`;
  let running: { pid: number; exited: Promise<void>; output: string[] } | undefined;

  async function start(): Promise<void> {
    const child = spawn(
      'gcloud',
      ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${project}`, '--quiet'],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
      },
    );
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => output.push(chunk));
    }
    let gone = false;
    const exited = new Promise<void>((resolve) =>
      child.on('exit', () => {
        gone = true;
        resolve();
      }),
    );
    if (child.pid === undefined) throw new Error('gcloud could not be started');
    running = { pid: child.pid, exited, output };
    emulators.add(child.pid);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`the Pub/Sub emulator exited:\n${output.join('')}`);
      try {
        const res = await fetch(`${base}/topics`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {}
      await sleep(100);
    }
    await stop();
    throw new Error(`the Pub/Sub emulator did not answer within 60 s:\n${output.join('')}`);
  }

  async function stop(): Promise<void> {
    if (!running) return;
    const { pid, exited } = running;
    running = undefined;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
    await exited;
    emulators.delete(pid);
    // The JVM is in the group too: the port is free once it has gone.
    for (let i = 0; i < 100; i++) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (!open) return;
      await sleep(100);
    }
    throw new Error(`the Pub/Sub emulator still listens on ${host} after being killed`);
  }

  async function rest(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${base}/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }

  await start();
  return {
    host,
    project,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async createTopic(name) {
      await rest('PUT', `topics/${name}`);
    },
    async createSubscription(name, options) {
      await rest('PUT', `subscriptions/${name}`, {
        topic: `projects/${project}/topics/${options.topic}`,
        ...(options.pushEndpoint ? { pushConfig: { pushEndpoint: options.pushEndpoint } } : {}),
        ...(options.ordering ? { enableMessageOrdering: true } : {}),
        ...(options.ackDeadlineSeconds ? { ackDeadlineSeconds: options.ackDeadlineSeconds } : {}),
        ...(options.deadLetterTopic
          ? {
              deadLetterPolicy: {
                deadLetterTopic: `projects/${project}/topics/${options.deadLetterTopic}`,
                maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5,
              },
            }
          : {}),
      });
    },
    async publish(topic, messages) {
      await rest('POST', `topics/${topic}:publish`, {
        messages: messages.map((m) => ({
          data: Buffer.from(m.data).toString('base64'),
          ...(m.attributes ? { attributes: m.attributes } : {}),
          ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
        })),
      });
    },
    async pull(subscription, max = 100) {
      const answer = await rest('POST', `subscriptions/${subscription}:pull`, {
        maxMessages: max,
        returnImmediately: true,
      });
      const received: { ackId: string; message: Record<string, any> }[] = answer.receivedMessages ?? [];
      if (received.length) {
        await rest('POST', `subscriptions/${subscription}:acknowledge`, {
          ackIds: received.map((r) => r.ackId),
        });
      }
      return received.map(({ message }) => ({
        messageId: String(message.messageId),
        attributes: message.attributes ?? {},
        orderingKey: message.orderingKey ?? '',
        publishTime: message.publishTime,
        raw: Buffer.from(message.data ?? '', 'base64').toString('utf8'),
      }));
    },
  };
}
