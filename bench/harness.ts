// The benchmark harness behind `npm run bench` (see bench/run.ts for the knobs). It seeds a dedicated
// database once, starts each service as production does (node dist/server.js, migrated by
// dist/migrate.js) pinned to core 0, drives it from core 1 with autocannon, and returns one results
// object that bench/run.ts writes as Markdown and JSON. The smoke test runs the same code on tiny data.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { APELLIDOS, NOMBRES, seed } from './seed.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SEED_VERSION = 1;

export type ServiceName = 'usuarios' | 'reservas';

export interface Scenario {
  name: string;
  service: ServiceName;
  title: string;
  kind: 'one' | 'list' | 'write' | 'mix';
  /** For the queries-per-request count and the 10k-vs-1M comparison (list scenarios). */
  path?: string;
}

export const SCENARIOS: Scenario[] = [
  { name: 'usuarios_get', service: 'usuarios', title: 'GET one usuario', kind: 'one' },
  {
    name: 'usuarios_list',
    service: 'usuarios',
    title: 'GET /api/usuarios/ page 1',
    kind: 'list',
    path: '/api/usuarios/',
  },
  {
    name: 'usuarios_deep',
    service: 'usuarios',
    title: 'GET /api/usuarios/?page=5000',
    kind: 'list',
    path: '/api/usuarios/?page={deepPage}',
  },
  {
    name: 'usuarios_search',
    service: 'usuarios',
    title: 'GET /api/usuarios/?search=nombre apellido',
    kind: 'list',
    path: '/api/usuarios/?search=luis%20ortega',
  },
  { name: 'usuarios_post', service: 'usuarios', title: 'POST /api/usuarios/', kind: 'write' },
  { name: 'usuarios_mix', service: 'usuarios', title: 'usuarios 90 % reads / 10 % POST', kind: 'mix' },
  { name: 'reservas_get', service: 'reservas', title: 'GET one reserva', kind: 'one' },
  {
    name: 'reservas_list',
    service: 'reservas',
    title: 'GET /api/reservas/ page 1 (exact count)',
    kind: 'list',
    path: '/api/reservas/',
  },
  {
    name: 'reservas_usuario',
    service: 'reservas',
    title: 'GET /api/reservas/?usuario_id=…',
    kind: 'list',
    path: '/api/reservas/?usuario_id=77',
  },
  {
    name: 'reservas_estado_fecha',
    service: 'reservas',
    title: 'GET /api/reservas/?estado=pendiente&fecha_desde=…',
    kind: 'list',
    path: '/api/reservas/?estado=pendiente&fecha_desde={in10days}',
  },
  { name: 'reservas_post', service: 'reservas', title: 'POST /api/reservas/', kind: 'write' },
  {
    name: 'reservas_confirmar',
    service: 'reservas',
    title: 'POST /api/reservas/{id}/confirmar/',
    kind: 'write',
  },
  {
    name: 'reservas_mix',
    service: 'reservas',
    title: 'reservas 90 % reads / 10 % writes (POST, confirmar)',
    kind: 'mix',
  },
];

export interface BenchOptions {
  /** Server-level URL (any database) used to create the benchmark databases. */
  adminUrl: string;
  database: string;
  usuarios: number;
  reservas: number;
  /** The small data set of the latency comparison (null: skip the comparison). */
  small: { usuarios: number; reservas: number } | null;
  /** Seconds per measured run, and of the warm-up before it. */
  duration: number;
  warmup: number;
  /** Seconds per run of the 10k-vs-1M latency comparison (one connection). */
  latencyDuration: number;
  connections: number;
  /** DATABASE_POOL_MAX given to the services (benchmark-specific, not a default). */
  poolMax: number;
  /** NODE_OPTIONS for the services (V8 heap flags); unset: the service's Dockerfile's, if any. */
  nodeOptions?: string;
  coldStarts: number;
  /** Also run each scenario at half its peak rate to read p99 there. */
  halfRate: boolean;
  pin: boolean;
  build: boolean;
  /** Names of scenarios to run (all by default). */
  only?: string[];
  /** Where service logs and the pool of pending ids go. */
  workDir: string;
  log: (message: string) => void;
}

export interface RunFigures {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  poolExhausted: number;
  statusCodes: Record<string, { count: number }>;
}

export interface ScenarioResult {
  name: string;
  title: string;
  service: ServiceName;
  kind: Scenario['kind'];
  peak: RunFigures;
  half?: RunFigures;
  /** VmHWM of the service process at the end of the scenario, MB. */
  peakRssMb: number;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  commit: string;
  dirty: boolean;
  machine: { cpu: string; cores: number; memoryGb: number; kernel: string; pinned: boolean };
  versions: { node: string; postgres: string; autocannon: string };
  options: Omit<BenchOptions, 'log' | 'adminUrl'>;
  data: { seededNow: boolean; seedSeconds?: number; usuarios: number; reservas: number };
  /** NODE_OPTIONS each service ran with. */
  nodeOptions: Record<ServiceName, string>;
  coldStartMs: Record<ServiceName, number[]>;
  peakRssMb: Record<ServiceName, number>;
  scenarios: ScenarioResult[];
  queriesPerRequest: { name: string; path: string; queries: number }[];
  sizeComparison: {
    name: string;
    path: string;
    small: { p50: number; p99: number; rps: number };
    large: { p50: number; p99: number; rps: number };
    ratio: number;
  }[];
  targets: { target: string; value: string; met: boolean }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT }).toString().trim();
    return { commit, dirty: status !== '' };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
}

function pinned(core: number, command: string[], pin: boolean): [string, string[]] {
  return pin ? ['taskset', ['-c', String(core), ...command]] : [command[0]!, command.slice(1)];
}

/** Runs the service's own migration command, as the Cloud Run job does. */
function migrate(service: ServiceName, url: string): void {
  execFileSync(process.execPath, [path.join(ROOT, 'services', service, 'dist', 'migrate.js')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

interface Meta {
  usuarios: number;
  reservas: number;
  maxUsuario: number;
  maxReserva: number;
  version: number;
}

/**
 * Creates, migrates and seeds the database unless it already holds this data set; then undoes
 * what an earlier run wrote (its new rows, its confirmed reservations), so every run starts equal.
 */
async function prepareDatabase(
  options: BenchOptions,
  database: string,
  sizes: { usuarios: number; reservas: number },
): Promise<{ url: string; meta: Meta; seededNow: boolean; seedSeconds?: number }> {
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const url = databaseUrl(options.adminUrl, database);
  migrate('usuarios', url);
  migrate('reservas', url);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, meta jsonb NOT NULL)');
    const found = await client.query<{ meta: Meta }>('SELECT meta FROM bench_meta WHERE id = 1');
    let meta = found.rows[0]?.meta;
    let seededNow = false;
    let seedSeconds: number | undefined;
    if (
      !meta ||
      meta.usuarios !== sizes.usuarios ||
      meta.reservas !== sizes.reservas ||
      meta.version !== SEED_VERSION
    ) {
      options.log(
        `seeding ${database}: ${sizes.usuarios} usuarios, ${sizes.reservas} reservas (once; later runs reuse it)`,
      );
      const started = performance.now();
      await client.query('TRUNCATE usuarios_usuario, reservas_reserva RESTART IDENTITY');
      const max = await seed(client, sizes);
      await client.query('VACUUM (ANALYZE) usuarios_usuario');
      await client.query('VACUUM (ANALYZE) reservas_reserva');
      // Write the seed's dirty pages out now, not during the first scenarios (needs superuser).
      await client.query('CHECKPOINT').catch(() => undefined);
      meta = { ...sizes, ...max, version: SEED_VERSION };
      await client.query(
        'INSERT INTO bench_meta VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET meta = EXCLUDED.meta',
        [meta],
      );
      seededNow = true;
      seedSeconds = (performance.now() - started) / 1000;
      options.log(`seeded in ${seedSeconds.toFixed(1)} s`);
    } else {
      const u = await client.query('DELETE FROM usuarios_usuario WHERE id > $1', [meta.maxUsuario]);
      const r = await client.query('DELETE FROM reservas_reserva WHERE id > $1', [meta.maxReserva]);
      if ((u.rowCount ?? 0) + (r.rowCount ?? 0) > 0) {
        await client.query('VACUUM (ANALYZE) usuarios_usuario');
        await client.query('VACUUM (ANALYZE) reservas_reserva');
      }
    }
    return { url, meta, seededNow, seedSeconds };
  } finally {
    await client.end();
  }
}

/** Pending reservations for confirmar: a fixed set, put back to pendiente before every run. */
async function pendingPool(url: string, seedMax: number, size: number): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_pool (id bigint PRIMARY KEY)');
    const existing = await client.query<{ id: string }>('SELECT id FROM bench_pool ORDER BY id');
    if (existing.rowCount) return existing.rows.map((r) => Number(r.id));
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO bench_pool SELECT id FROM reservas_reserva
        WHERE estado = 'pendiente' AND id <= $1 ORDER BY id LIMIT $2 RETURNING id`,
      [seedMax, size],
    );
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  } finally {
    await client.end();
  }
}

async function resetPool(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `UPDATE reservas_reserva r SET estado = 'pendiente' FROM bench_pool p
        WHERE r.id = p.id AND r.estado <> 'pendiente'`,
    );
  } finally {
    await client.end();
  }
}

interface Running {
  process: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** The service's NODE_OPTIONS: the bench's own, or else those its image sets (`ENV NODE_OPTIONS=…`). */
function nodeOptions(service: ServiceName, options: Pick<BenchOptions, 'nodeOptions'>): string {
  if (options.nodeOptions !== undefined) return options.nodeOptions;
  const dockerfile = readFileSync(path.join(ROOT, 'services', service, 'Dockerfile'), 'utf8');
  return /^ENV\b.*\bNODE_OPTIONS=("[^"]*"|\S+)/m.exec(dockerfile)?.[1]?.replace(/^"|"$/g, '') ?? '';
}

let nextPort = 18_000 + Math.floor(Math.random() * 20_000);

/** Starts `node services/<svc>/dist/server.js` as production does; resolves at its first 200 from /readyz. */
async function startService(
  service: ServiceName,
  databaseUrlValue: string,
  options: BenchOptions,
  pin: boolean,
): Promise<Running & { coldStartMs: number }> {
  const port = nextPort++;
  const logFile = path.join(options.workDir, `${service}-${port}.log`);
  const [command, args] = pinned(
    0,
    [process.execPath, path.join('services', service, 'dist', 'server.js')],
    pin,
  );
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrlValue,
      DATABASE_POOL_MAX: String(options.poolMax),
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: nodeOptions(service, options),
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

function peakRssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** One autocannon run in its own process, pinned to core 1. */
function load(
  options: BenchOptions,
  config: {
    url: string;
    scenario: string;
    duration: number;
    warmup: number;
    connections: number;
    rate?: number;
    data: object;
    poolFile?: string;
  },
): Promise<RunFigures> {
  const [command, args] = pinned(
    1,
    [process.execPath, path.join(ROOT, 'bench', 'load.mjs'), JSON.stringify(config)],
    options.pin,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator for ${config.scenario} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as RunFigures);
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * A transparent TCP proxy in front of PostgreSQL that counts the statements executed through it
 * (simple 'Q' and extended-protocol 'E' messages): the queries a request costs, seen from outside.
 */
async function countingProxy(target: URL): Promise<{ port: number; count: () => number; close: () => void }> {
  let executed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((clientSocket) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(clientSocket);
    sockets.add(upstream);
    let buffer = Buffer.alloc(0);
    let startup = true;
    clientSocket.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (startup) {
          if (buffer.length < 8) break;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) break;
          const code = buffer.readInt32BE(4);
          buffer = buffer.subarray(length);
          // SSLRequest / GSSENCRequest come before the real startup message.
          if (code !== 80877103 && code !== 80877104) startup = false;
          continue;
        }
        if (buffer.length < 5) break;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) break;
        const type = String.fromCharCode(buffer[0]!);
        if (type === 'Q' || type === 'E') executed++;
        buffer = buffer.subarray(length + 1);
      }
    });
    upstream.on('data', (chunk: Buffer) => clientSocket.write(chunk));
    const end = () => {
      clientSocket.destroy();
      upstream.destroy();
    };
    clientSocket.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    count: () => executed,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function fillPath(template: string, data: { deepPage: number }): string {
  const in10days = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  return template.replace('{deepPage}', String(data.deepPage)).replace('{in10days}', in10days);
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  mkdirSync(options.workDir, { recursive: true });
  const pin = options.pin && hasTaskset();
  if (options.pin && !pin) options.log('taskset or a second core is missing: running unpinned');
  if (options.build) {
    options.log('building (npm run build)');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }

  const large = await prepareDatabase(options, options.database, {
    usuarios: options.usuarios,
    reservas: options.reservas,
  });
  const pool = await pendingPool(large.url, large.meta.maxReserva, 200_000);
  const poolFile = path.join(options.workDir, 'pool.json');
  // The mix gets its own fifth of the pool; confirmar the rest.
  const split = Math.floor(pool.length * 0.8);
  writeFileSync(poolFile, JSON.stringify({ confirmar: pool.slice(0, split), mix: pool.slice(split) }));

  const deepPage = Math.max(1, Math.min(5000, Math.floor(options.usuarios / 10)));
  const data = (sizes: { usuarios: number; reservas: number }) => ({
    usuarios: sizes.usuarios,
    reservas: sizes.reservas,
    deepPage,
    nombres: NOMBRES,
    apellidos: APELLIDOS,
  });
  const selected = SCENARIOS.filter((s) => !options.only?.length || options.only.includes(s.name));
  const services: ServiceName[] = (['usuarios', 'reservas'] as const).filter((svc) =>
    selected.some((s) => s.service === svc),
  );

  const coldStartMs: Record<ServiceName, number[]> = { usuarios: [], reservas: [] };
  const rss: Record<ServiceName, number> = { usuarios: 0, reservas: 0 };
  const scenarios: ScenarioResult[] = [];
  for (const service of services) {
    // Cold starts: process spawn to the first 200 from /readyz, with the page cache already warm.
    let running: (Running & { coldStartMs: number }) | undefined;
    for (let i = 0; i < Math.max(1, options.coldStarts); i++) {
      await running?.stop();
      running = await startService(service, large.url, options, pin);
      coldStartMs[service].push(round(running.coldStartMs, 1));
    }
    options.log(`${service}: cold start ${coldStartMs[service].join(', ')} ms`);
    try {
      for (const scenario of selected.filter((s) => s.service === service)) {
        const base = {
          url: running!.url,
          scenario: scenario.name,
          connections: options.connections,
          data: data(large.meta),
          poolFile,
        };
        if (scenario.name === 'reservas_confirmar' || scenario.name === 'reservas_mix')
          await resetPool(large.url);
        const peak = await load(options, { ...base, duration: options.duration, warmup: options.warmup });
        let half: RunFigures | undefined;
        if (options.halfRate && peak.rps > 0) {
          if (scenario.name === 'reservas_confirmar' || scenario.name === 'reservas_mix')
            await resetPool(large.url);
          half = await load(options, {
            ...base,
            duration: options.duration,
            warmup: 0,
            rate: Math.max(1, Math.floor(peak.rps / 2)),
          });
        }
        const result: ScenarioResult = {
          name: scenario.name,
          title: scenario.title,
          service,
          kind: scenario.kind,
          peak,
          ...(half ? { half } : {}),
          peakRssMb: peakRssMb(running!.process.pid),
        };
        scenarios.push(result);
        options.log(
          `${scenario.name}: ${peak.rps.toFixed(0)} req/s, p50 ${peak.p50} ms, p99 ${peak.p99} ms, ` +
            `errors ${peak.errors}${half ? `; at half rate p99 ${half.p99} ms, errors ${half.errors}` : ''}, ` +
            `RSS ${result.peakRssMb} MB`,
        );
      }
      rss[service] = peakRssMb(running!.process.pid);
    } finally {
      await running?.stop();
    }
  }

  // Queries per list request, counted on the wire through a proxy, for default and maximal pages.
  const queriesPerRequest: BenchResult['queriesPerRequest'] = [];
  const proxy = await countingProxy(new URL(large.url));
  try {
    const proxied = new URL(large.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    for (const service of services) {
      const running = await startService(service, proxied.toString(), options, false);
      try {
        for (const scenario of selected.filter((s) => s.service === service && s.path)) {
          for (const variant of ['', 'page_size=100']) {
            let target = fillPath(scenario.path!, { deepPage });
            if (variant) target += `${target.includes('?') ? '&' : '?'}${variant}`;
            if (variant && target.includes('page=')) continue;
            const before = proxy.count();
            const n = 10;
            for (let i = 0; i < n; i++) {
              const response = await fetch(`${running.url}${target}`);
              if (response.status !== 200) throw new Error(`${target}: ${response.status}`);
              await response.arrayBuffer();
            }
            queriesPerRequest.push({
              name: scenario.name,
              path: target,
              queries: round((proxy.count() - before) / n),
            });
          }
        }
      } finally {
        await running.stop();
      }
    }
  } finally {
    proxy.close();
  }

  // The same list requests on a data set 100 times smaller: latency with one connection, no queueing.
  const sizeComparison: BenchResult['sizeComparison'] = [];
  if (options.small) {
    const small = await prepareDatabase(options, `${options.database}_small`, options.small);
    const listScenarios = selected.filter((s) => s.path);
    const measure = async (url: string, sizes: Meta) => {
      const figures = new Map<string, RunFigures>();
      for (const service of services) {
        const running = await startService(service, url, options, pin);
        try {
          for (const scenario of listScenarios.filter((s) => s.service === service)) {
            if (scenario.name === 'usuarios_deep' && sizes.usuarios < deepPage * 10) continue;
            figures.set(
              scenario.name,
              await load(options, {
                url: running.url,
                scenario: scenario.name,
                connections: 1,
                duration: options.latencyDuration,
                warmup: Math.min(1, options.warmup),
                data: data(sizes),
              }),
            );
          }
        } finally {
          await running.stop();
        }
      }
      return figures;
    };
    const smallFigures = await measure(small.url, small.meta);
    const largeFigures = await measure(large.url, large.meta);
    for (const scenario of listScenarios) {
      const s = smallFigures.get(scenario.name);
      const l = largeFigures.get(scenario.name);
      if (!s || !l) continue;
      sizeComparison.push({
        name: scenario.name,
        path: fillPath(scenario.path!, { deepPage }),
        small: { p50: s.p50, p99: s.p99, rps: round(s.rps, 0) },
        large: { p50: l.p50, p99: l.p99, rps: round(l.rps, 0) },
        // autocannon reports whole milliseconds below 1 ms poorly: compare mean service time instead.
        ratio: round(s.rps / l.rps, 2),
      });
    }
  }

  const result: BenchResult = {
    startedAt,
    finishedAt: new Date().toISOString(),
    ...gitInfo(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGb: round(os.totalmem() / 2 ** 30, 1),
      kernel: `${os.type()} ${os.release()}`,
      pinned: pin,
    },
    versions: {
      node: process.version,
      postgres: await postgresVersion(large.url),
      autocannon: JSON.parse(readFileSync(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8'))
        .version,
    },
    options: { ...options, log: undefined, adminUrl: undefined } as unknown as BenchResult['options'],
    data: {
      seededNow: large.seededNow,
      ...(large.seedSeconds ? { seedSeconds: round(large.seedSeconds, 1) } : {}),
      usuarios: large.meta.usuarios,
      reservas: large.meta.reservas,
    },
    nodeOptions: { usuarios: nodeOptions('usuarios', options), reservas: nodeOptions('reservas', options) },
    coldStartMs,
    peakRssMb: rss,
    scenarios,
    queriesPerRequest,
    sizeComparison,
    targets: [],
  };
  result.targets = evaluateTargets(result);
  return result;
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

/** The issue's targets, each with the measured value. */
export function evaluateTargets(result: BenchResult): BenchResult['targets'] {
  const targets: BenchResult['targets'] = [];
  const add = (target: string, value: string, met: boolean) => targets.push({ target, value, met });
  const byKind = (kind: Scenario['kind']) => result.scenarios.filter((s) => s.kind === kind);
  for (const s of byKind('one'))
    add(`${s.name} ≥ 5,000 req/s`, `${s.peak.rps.toFixed(0)}`, s.peak.rps >= 5000);
  for (const s of byKind('list'))
    add(`${s.name} ≥ 2,000 req/s`, `${s.peak.rps.toFixed(0)}`, s.peak.rps >= 2000);
  for (const s of result.scenarios.filter((x) => x.name.endsWith('_post')))
    add(`${s.name} ≥ 2,000 req/s`, `${s.peak.rps.toFixed(0)}`, s.peak.rps >= 2000);
  for (const s of byKind('mix'))
    add(`${s.name} ≥ 4,000 req/s`, `${s.peak.rps.toFixed(0)}`, s.peak.rps >= 4000);
  const halves = result.scenarios.filter((s) => s.half);
  if (halves.length) {
    const worst = halves.reduce((a, b) => (b.half!.p99 > a.half!.p99 ? b : a));
    add(
      'p99 ≤ 25 ms at half peak (worst scenario)',
      `${worst.half!.p99} ms (${worst.name})`,
      worst.half!.p99 <= 25,
    );
  }
  const errors = result.scenarios.reduce((sum, s) => sum + s.peak.errors + (s.half?.errors ?? 0), 0);
  add('no errors (non-2xx included)', String(errors), errors === 0);
  for (const [service, mb] of Object.entries(result.peakRssMb))
    if (mb > 0) add(`${service} peak RSS ≤ 150 MB`, `${mb} MB`, mb <= 150);
  for (const [service, times] of Object.entries(result.coldStartMs)) {
    if (times.length === 0) continue;
    const worst = Math.max(...times);
    add(`${service} cold start ≤ 1 s`, `${worst} ms (worst of ${times.length})`, worst <= 1000);
  }
  if (result.queriesPerRequest.length) {
    const most = Math.max(...result.queriesPerRequest.map((q) => q.queries));
    add('bounded queries per list request', `≤ ${most} per request, any page size`, most <= 2);
  }
  for (const c of result.sizeComparison)
    add(
      `${c.name}: ${result.data.reservas.toLocaleString('en')}-row latency within 2× of small data set`,
      `${c.ratio}×`,
      c.ratio <= 2,
    );
  return targets;
}

export function toMarkdown(result: BenchResult): string {
  const lines: string[] = [];
  const o = result.options;
  lines.push(
    `# Benchmark ${result.startedAt.slice(0, 10)} — commit ${result.commit}${result.dirty ? ' (dirty)' : ''}`,
  );
  lines.push('');
  lines.push(
    `Machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGb} GB, ${result.machine.kernel}; ` +
      `service ${result.machine.pinned ? 'pinned to core 0, load generator to core 1' : 'not pinned'} (PostgreSQL unpinned).`,
  );
  lines.push(
    `Versions: Node ${result.versions.node}, PostgreSQL ${result.versions.postgres}, autocannon ${result.versions.autocannon}.`,
  );
  lines.push(
    `Data: ${result.data.usuarios.toLocaleString('en')} usuarios, ${result.data.reservas.toLocaleString('en')} reservas` +
      `${result.data.seededNow ? ` (seeded in ${result.data.seedSeconds} s)` : ' (reused)'}. ` +
      `Runs: ${o.warmup} s warm-up + ${o.duration} s, ${o.connections} connections, DATABASE_POOL_MAX=${o.poolMax}, ` +
      `NODE_OPTIONS ${Object.entries(result.nodeOptions)
        .map(([svc, v]) => `${svc} \`${v || '(none)'}\``)
        .join(', ')}.`,
  );
  lines.push('');
  lines.push('| scenario | req/s | p50 ms | p99 ms | errors | p99 ms at half rate | peak RSS MB |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of result.scenarios) {
    lines.push(
      `| ${s.title} | ${s.peak.rps.toFixed(0)} | ${s.peak.p50} | ${s.peak.p99} | ${s.peak.errors + (s.half?.errors ?? 0)} | ` +
        `${s.half ? `${s.half.p99} (${s.half.rps.toFixed(0)} req/s)` : '—'} | ${s.peakRssMb} |`,
    );
  }
  lines.push('');
  lines.push(
    `Cold start (spawn → first 200 from /readyz): ${Object.entries(result.coldStartMs)
      .filter(([, t]) => t.length)
      .map(([svc, t]) => `${svc} ${t.join(' / ')} ms`)
      .join('; ')}.`,
  );
  if (result.queriesPerRequest.length) {
    lines.push('');
    lines.push('| list request | SQL statements per request |');
    lines.push('|---|---:|');
    for (const q of result.queriesPerRequest) lines.push(`| \`${q.path}\` | ${q.queries} |`);
  }
  if (result.sizeComparison.length) {
    lines.push('');
    lines.push(
      `Small data set vs full (${o.small?.usuarios.toLocaleString('en')} usuarios / ${o.small?.reservas.toLocaleString('en')} reservas vs ` +
        `${result.data.usuarios.toLocaleString('en')} / ${result.data.reservas.toLocaleString('en')}), one connection:`,
    );
    lines.push('');
    lines.push(
      '| list request | small p50 / p99 ms | full p50 / p99 ms | small req/s | full req/s | full ÷ small time |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const c of result.sizeComparison) {
      lines.push(
        `| \`${c.path}\` | ${c.small.p50} / ${c.small.p99} | ${c.large.p50} / ${c.large.p99} | ${c.small.rps} | ${c.large.rps} | ${c.ratio}× |`,
      );
    }
  }
  lines.push('');
  lines.push('| target | measured | met |');
  lines.push('|---|---|:-:|');
  for (const t of result.targets) lines.push(`| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  return lines.join('\n');
}
