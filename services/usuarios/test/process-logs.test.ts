// The real process (src/server.ts, run through tsx): JSON log lines in Cloud Logging's shape with
// trace correlation, a config error that names its variable (JWT_PRIVATE_KEY included), and a clean
// exit on SIGTERM (§4). §5.1: a password is never in a log line, nor its hash, whatever the request.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@servicios/platform';
import { createTestDatabase, signingKey, type TestDatabase } from '@servicios/testing';
import { servicio } from '../src/app.ts';
import { migrar } from '../src/bootstrap.ts';
import { ADMIN } from './support.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER = 'services/usuarios/src/server.ts';
const KEY = signingKey();

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('usuarios_logs');
  // As the migrations job: the schema and the first administrador.
  await migrar(
    loadConfig(
      {
        DATABASE_URL: db.url,
        JWT_PRIVATE_KEY: KEY.privateKeyPem,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      },
      { service: servicio.name },
    ),
  );
});
after(() => db?.drop());

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts the server; `lines` collects its stdout as parsed JSON (a non-JSON line fails the test). */
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=servicios-source', '--import', 'tsx', SERVER], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let stdout = '';
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    stdout += `${text}\n`;
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const w of waiters.filter((w) => w.match(line))) w.resolve(line);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  /** The first line (already seen or to come) that matches; gives up if the process exits first. */
  const line = (match: (l: Record<string, unknown>) => boolean) =>
    Promise.race([
      new Promise<Record<string, unknown>>((resolve) => {
        const seen = lines.find(match);
        if (seen) resolve(seen);
        else waiters.push({ match, resolve });
      }),
      exited.then(([code]) => {
        throw new Error(`server exited (${code}) before the expected log line; stderr: ${stderr}`);
      }),
    ]);
  return { child, lines, line, exited, stderr: () => stderr, stdout: () => stdout };
}

// A failed assertion must not leave a server behind (it would also keep this file from ending).
const children: ChildProcess[] = [];
after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

test('logs JSON lines with severity and message, correlates traces, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const server = run({
    PORT: String(port),
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEY: KEY.privateKeyPem,
    LOG_LEVEL: 'debug',
    GOOGLE_CLOUD_PROJECT: 'mi-proyecto',
  });
  const listening = await server.line((l) => /servicio-usuarios listening/.test(String(l.message)));
  assert.equal(listening.severity, 'INFO');
  assert.match(String(listening.message), new RegExp(`servicio-usuarios listening on port ${port}`));
  assert.doesNotMatch(JSON.stringify(listening), /password/i);

  // With no HOST, every interface: IPv4, and IPv6 where the machine has it (CONTRACT §4).
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const ipv6 = Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((a) => a.family === 'IPv6' && a.address === '::1'),
  );
  if (ipv6) assert.equal((await fetch(`http://[::1]:${port}/healthz`)).status, 200);

  const { access } = await post(port, '/api/token/', { email: ADMIN.email, password: ADMIN.password }, 200);
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`http://127.0.0.1:${port}/api/usuarios/?page=1`, {
    headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01`, authorization: `Bearer ${access}` },
  });
  assert.equal(res.status, 200);
  const request = await server.line((l) => String(l.message).startsWith('GET /api/usuarios/?page=1 200'));
  assert.equal(request.severity, 'DEBUG');
  assert.equal(request['logging.googleapis.com/trace'], `projects/mi-proyecto/traces/${trace}`);
  assert.equal(request['logging.googleapis.com/spanId'], '00f067aa0ba902b7');
  assert.equal(request['logging.googleapis.com/trace_sampled'], true);
  assert.equal((request.httpRequest as { status: number }).status, 200);

  server.child.kill('SIGTERM');
  const [code] = await server.exited;
  assert.equal(code, 0, server.stderr());
  assert.ok(server.lines.some((l) => l.message === 'shutdown complete' && l.severity === 'INFO'));
  for (const line of server.lines) {
    assert.equal(typeof line.severity, 'string');
    assert.equal(typeof line.message, 'string');
    assert.equal('level' in line, false, 'pino numeric level replaced by severity');
    assert.equal('msg' in line, false, 'pino msg renamed message');
  }
});

test('a bad configuration exits 1 with a message naming the variable', async () => {
  const server = run({ PORT: 'ochenta', DATABASE_URL: db.url, JWT_PRIVATE_KEY: KEY.privateKeyPem });
  const [code] = await server.exited;
  assert.equal(code, 1);
  const line = JSON.parse(server.stderr().trim().split('\n').at(-1)!);
  assert.equal(line.severity, 'CRITICAL');
  assert.match(line.message, /PORT/);
  assert.match(line.message, /ochenta/);
});

test('on PostgreSQL without JWT_PRIVATE_KEY it refuses to start, in the same shape', async () => {
  const server = run({ PORT: String(await freePort()), DATABASE_URL: db.url });
  const [code] = await server.exited;
  assert.equal(code, 1, server.stderr());
  assert.equal(
    server.lines.some((l) => /listening/.test(String(l.message))),
    false,
  );
  assert.match(server.stderr(), /JWT_PRIVATE_KEY/);
  // One JSON line for Cloud Logging, as every other configuration error: not a multi-line stack.
  const line = JSON.parse(server.stderr().trim().split('\n').at(-1)!);
  assert.equal(line.severity, 'CRITICAL');
  assert.match(line.message, /JWT_PRIVATE_KEY/);
});

/** POST with a JSON body to the process; asserts the status and answers the parsed body (or null). */
async function post(port: number, path: string, body: unknown, status: number, token?: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, status, `POST ${path}: ${text}`);
  return text ? JSON.parse(text) : null;
}

test('no log line holds a password or its hash, whatever the request (CONTRACT §5.1)', async () => {
  const port = await freePort();
  const server = run({
    PORT: String(port),
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEY: KEY.privateKeyPem,
    // The most verbose level: nothing a deployment may switch on can show more.
    LOG_LEVEL: 'trace',
  });
  await server.line((l) => /listening/.test(String(l.message)));

  // Distinct values that nothing else in a log line could contain by chance.
  const unico = () => randomBytes(6).toString('hex');
  const email = `logs-${unico()}@example.com`;
  const inicial = `Inicial-${unico()}-Clave`;
  const equivocada = `Equivocada-${unico()}-Clave`;
  const nueva = `Nueva-${unico()}-Clave`;
  const numerica = String(randomInt(1e9, 1e10)) + String(randomInt(1e9, 1e10));
  const larga = `Larga-${unico()}-`.padEnd(129, 'x');

  const creado = await post(
    port,
    '/api/usuarios/',
    { email, nombre: 'Log', apellido: 'Ger', password: inicial },
    201,
  );
  const hashInicial = (await db.query('SELECT password FROM usuarios_usuario WHERE id = $1', [creado.id]))
    .rows[0]!.password as string;
  // Validation errors that include the password field, with and without other fields.
  const invalido = await post(
    port,
    '/api/usuarios/',
    { email: 'no-es-correo', nombre: 'Log', apellido: 'Ger', password: numerica },
    400,
  );
  assert.deepEqual(Object.keys(invalido).sort(), ['email', 'password']);
  await post(
    port,
    '/api/usuarios/',
    { email: `otro-${email}`, nombre: 'A', apellido: 'B', password: larga },
    400,
  );
  await post(port, '/api/token/', { email, password: equivocada }, 401);
  const { access } = await post(port, '/api/token/', { email, password: inicial }, 200);
  await post(
    port,
    `/api/usuarios/${creado.id}/password/`,
    { password: nueva, password_actual: equivocada },
    400,
    access,
  );
  await post(
    port,
    `/api/usuarios/${creado.id}/password/`,
    { password: nueva, password_actual: inicial },
    204,
    access,
  );
  const hashNuevo = (await db.query('SELECT password FROM usuarios_usuario WHERE id = $1', [creado.id]))
    .rows[0]!.password as string;
  await post(port, '/api/token/', { email, password: nueva }, 200);
  assert.match(hashInicial, /^\$argon2id\$/);
  assert.notEqual(hashNuevo, hashInicial);

  // Every one of those requests was logged (so the search below looks at their lines).
  for (const [path, status] of [
    ['/api/usuarios/', 201],
    ['/api/usuarios/', 400],
    ['/api/token/', 401],
    ['/api/token/', 200],
    [`/api/usuarios/${creado.id}/password/`, 400],
    [`/api/usuarios/${creado.id}/password/`, 204],
  ] as const) {
    await server.line((l) => String(l.message).startsWith(`POST ${path} ${status}`));
  }
  server.child.kill('SIGTERM');
  const [code] = await server.exited;
  assert.equal(code, 0, server.stderr());

  const salida = `${server.stdout()}\n${server.stderr()}`;
  assert.ok(server.lines.length > 10, 'the requests were logged');
  const secretos = { inicial, equivocada, nueva, numerica, larga, hashInicial, hashNuevo };
  for (const hash of [hashInicial, hashNuevo]) {
    // Salt and digest on their own too: a log that kept only part of the hash still leaks it.
    const [salt, digest] = hash.split('$').slice(-2);
    Object.assign(secretos, { [`salt of ${hash}`]: salt, [`digest of ${hash}`]: digest });
  }
  for (const [nombre, secreto] of Object.entries(secretos)) {
    assert.ok(secreto && secreto.length >= 16, nombre);
    assert.equal(salida.includes(secreto!), false, `${nombre} appears in the logs`);
  }
  assert.doesNotMatch(salida, /\$argon2/);
});
