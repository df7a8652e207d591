// The real process (src/server.ts, run through tsx): JSON log lines in Cloud Logging's shape with
// trace correlation, a config error that names its variable, and a clean exit on SIGTERM (§4).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, migrateDatabase } from '@servicios/platform';
import { createTestDatabase, type TestDatabase } from '@servicios/testing';
import { servicio } from '../src/app.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER = 'services/usuarios/src/server.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('usuarios_logs');
  await migrateDatabase(
    loadConfig({ DATABASE_URL: db.url }, { service: servicio.name }).database,
    servicio.migrations,
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
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
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
  return { child, lines, line, exited, stderr: () => stderr };
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

  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`http://127.0.0.1:${port}/api/usuarios/?page=1`, {
    headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` },
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
  const server = run({ PORT: 'ochenta', DATABASE_URL: db.url });
  const [code] = await server.exited;
  assert.equal(code, 1);
  const line = JSON.parse(server.stderr().trim().split('\n').at(-1)!);
  assert.equal(line.severity, 'CRITICAL');
  assert.match(line.message, /PORT/);
  assert.match(line.message, /ochenta/);
});
