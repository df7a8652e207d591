// Shared pieces of the delivery checks: which services exist, building them, running a compiled
// service as a child process, a TCP proxy that can cut the path to PostgreSQL, and a Dockerfile reader.
// Not a test file itself (no `.test.ts`).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_DATABASE_URL, signingKey } from '@servicios/testing';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, SignJWT } from 'jose';
import pg from 'pg';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ServiceInfo {
  /** Folder name under services/, e.g. `usuarios`. */
  dir: string;
  /** Package name, e.g. `servicio-usuarios`. */
  pkg: string;
  path: string;
}

/** Every service of the repository: a folder of services/ with a src/server.ts. */
export function services(): ServiceInfo[] {
  const base = path.join(ROOT, 'services');
  return (existsSync(base) ? readdirNames(base) : [])
    .filter((dir) => existsSync(path.join(base, dir, 'src', 'server.ts')))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(path.join(base, dir, 'package.json'), 'utf8'));
      return { dir, pkg: manifest.name as string, path: path.join(base, dir) };
    });
}

function readdirNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** A resource of each service to create and read back, and the table it lands in. */
export interface Sample {
  collection: string;
  table: string;
  body(): Record<string, unknown>;
}

export function sampleFor(service: ServiceInfo): Sample {
  switch (service.dir) {
    case 'usuarios':
      return {
        collection: '/api/usuarios/',
        table: 'usuarios_usuario',
        body: () => ({
          email: `delivery-${randomBytes(5).toString('hex')}@example.com`,
          nombre: 'Ana',
          apellido: 'Pérez',
          password: 'Reserva-2026-ventana',
        }),
      };
    case 'reservas':
      return {
        collection: '/api/reservas/',
        table: 'reservas_reserva',
        body: () => ({
          usuario_id: 1,
          fecha_reserva: new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString(),
          numero_personas: 2,
        }),
      };
    default:
      throw new Error(`test/delivery/support.ts has no sample resource for services/${service.dir}: add one`);
  }
}

const key = signingKey();

/**
 * What a compiled service needs to start and to be called (CONTRACT §4–5), with a key made here:
 * servicio-usuarios signs with it, servicio-reservas verifies with its public half; and an
 * administrador's access token (user 1, the sample reservation's holder) signed with it.
 */
export async function identityFor(
  service: ServiceInfo,
): Promise<{ env: Record<string, string>; authorization: string }> {
  const env: Record<string, string> =
    service.dir === 'usuarios'
      ? { JWT_PRIVATE_KEY: key.privateKeyPem }
      : // Nothing here asks servicio-usuarios: the sample reservation is the caller's own.
        { JWT_PUBLIC_KEY: key.publicKeyPem, USUARIOS_URL: 'http://127.0.0.1:9' };
  const kid = await calculateJwkThumbprint(
    await exportJWK(await importSPKI(key.publicKeyPem, 'ES256', { extractable: true })),
  );
  const token = await new SignJWT({ token_type: 'access', user_id: 1, tipo_usuario: 'administrador' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti(randomBytes(16).toString('hex'))
    .sign(await importPKCS8(key.privateKeyPem, 'ES256'));
  return { env, authorization: `Bearer ${token}` };
}

/**
 * `tsc -b services/<dir>` and the bundle of its build/ into dist/ (the Dockerfile's build step) under a
 * lock, so that test files running at the same time never write one dist/ together.
 */
export async function build(service: ServiceInfo): Promise<void> {
  const lock = path.join(os.tmpdir(), 'servicios-delivery-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error('timed out waiting for the build lock');
      await sleep(200);
    }
  }
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', `services/${service.dir}`],
      { cwd: ROOT, stdio: 'pipe' },
    );
    execFileSync(process.execPath, ['scripts/bundle.mjs', `services/${service.dir}`], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: unknown[],
  database?: string,
): Promise<T[]> {
  const url = new URL(ADMIN_DATABASE_URL);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  child: ChildProcess;
  /** Everything the process wrote, stdout and stderr, line by line. */
  lines: string[];
  exited: Promise<Exit>;
  /** Sends SIGKILL if the process is still running (test clean-up). */
  kill(): Promise<void>;
}

/** Runs `node <args>` with exactly the given environment (nothing inherited but PATH). */
export function runNode(
  args: string[],
  options: { cwd: string; env: Record<string, string>; uid?: number; gid?: number },
): RunningProcess {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    stream?.on('end', () => {
      if (rest) lines.push(rest);
    });
  }
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Waits until GET url answers (any status), failing early if the process exits. */
export async function waitForHttp(url: string, proc: RunningProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: Exit | undefined;
  void proc.exited.then((e) => {
    exited = e;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`process exited (${JSON.stringify(exited)}):\n${proc.lines.join('\n')}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms:\n${proc.lines.join('\n')}`);
}

/** Polls until check() is true. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * A TCP proxy between a service and PostgreSQL that can cut the path, as a database restart or a network
 * partition would, while the shared server keeps running.
 * - `reset`: open connections are destroyed and new ones are closed at once (the database is down);
 * - `blackhole`: open connections go silent (nothing is forwarded any more) and new ones are accepted
 *   but never answered: a partition, where only time-outs can tell.
 */
export class PgProxy {
  private server = net.createServer((socket) => this.accept(socket));
  private pairs = new Set<net.Socket>();
  private held = new Set<net.Socket>();
  mode: 'open' | 'reset' | 'blackhole' = 'open';
  port = 0;

  constructor(
    private readonly target = { host: '127.0.0.1', port: Number(new URL(ADMIN_DATABASE_URL).port || 5432) },
  ) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.mode === 'reset') {
      socket.destroy();
      return;
    }
    if (this.mode === 'blackhole') {
      this.held.add(socket);
      socket.on('close', () => this.held.delete(socket));
      return;
    }
    const upstream = net.connect(this.target);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream);
    upstream.pipe(socket);
    this.pairs.add(socket);
    this.pairs.add(upstream);
    socket.on('close', () => this.pairs.delete(socket));
    upstream.on('close', () => this.pairs.delete(upstream));
  }

  cut(mode: 'reset' | 'blackhole'): void {
    this.mode = mode;
    for (const socket of this.pairs) {
      if (mode === 'reset') {
        socket.destroy();
      } else {
        socket.unpipe();
        socket.pause();
        this.held.add(socket);
      }
    }
    if (mode === 'blackhole') this.pairs.clear();
  }

  restore(): void {
    this.mode = 'open';
    // A partition that heals leaves the half-open connections dead: the peer resets them.
    for (const socket of this.held) socket.destroy();
  }

  get openConnections(): number {
    return this.pairs.size / 2;
  }

  async close(): Promise<void> {
    this.cut('reset');
    for (const socket of this.held) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export interface Instruction {
  keyword: string;
  /** Arguments with line continuations joined. */
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** A small Dockerfile reader: instructions grouped by stage, comments dropped, continuations joined. */
export function readDockerfile(text: string): { preamble: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ') + (lines[++i] ?? '').trim();
    }
    const match = /^\s*(\w+)\s+(.*)$/.exec(line);
    if (match)
      instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      preamble.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { preamble, stages };
}

/** Replaces ${ARG} with the preamble's ARG defaults. */
export function expandArgs(text: string, preamble: Instruction[]): string {
  const values = new Map<string, string>();
  for (const arg of preamble.filter((i) => i.keyword === 'ARG')) {
    const [name, value] = arg.args.split('=');
    if (name && value !== undefined) values.set(name, value);
  }
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a, b) => values.get(a ?? b) ?? all);
}

/** The JSON array of an exec-form instruction, or undefined for the shell form. */
export function execForm(instruction: Instruction | undefined): string[] | undefined {
  if (!instruction) return undefined;
  try {
    const parsed = JSON.parse(instruction.args);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}
