// The benchmark harness behind `npm run bench` (see bench/run.ts for the knobs, bench/README.md for
// what each figure means). It seeds a dedicated database once, starts each service as production does
// (node dist/server.js, migrated by dist/migrate.js, production pool size unless told otherwise)
// pinned to core 0, drives it from core 1 with autocannon, and returns one results object that
// bench/run.ts writes as Markdown and JSON. Every request carries a real access token: the bench
// users log in once at the start through POST /api/token/ of a servicio-usuarios that stays up
// (idle, on core 1) for the whole run, so that servicio-reservas verifies through its JWKS as in
// production. The smoke test runs the same code on tiny data.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../packages/platform/src/config.ts';
import {
  benchUserIds,
  countingProxy,
  type Meta,
  pendingPool,
  postgresVersion,
  prepareDatabase,
  resetPool,
} from './database.ts';
import { type DeactivationResult, measureDeactivation, skippedDeactivation } from './latency.ts';
import { type Comparison, interleaved, otlpReceiver } from './overhead.ts';
import { evaluateTargets } from './report.ts';
import { APELLIDOS, BENCH_PASSWORD, BENCH_USERS, NOMBRES } from './seed.ts';
import {
  type Baseline,
  type Emulator,
  findExecutable,
  hasTaskset,
  imageNode,
  imageNodeMajor,
  imageNodeOptions,
  peakRssMb,
  pinned,
  prepareBaseline,
  ROOT,
  type Running,
  type ServiceName,
  signingKeyPem,
  startPubSubEmulator,
  startService,
} from './services.ts';

export { evaluateTargets, resultSuffix, toMarkdown } from './report.ts';
export { ROOT, type ServiceName };

const productionConfig = loadConfig({ DATABASE_URL: 'postgres://localhost/x' }, { service: 'bench' });
/** The pool a service opens when DATABASE_POOL_MAX is unset, read from the platform's own configuration. */
export const PRODUCTION_POOL_MAX =
  productionConfig.database.kind === 'postgres' ? productionConfig.database.poolMax : Number.NaN;

/** The trace sampling ratio the pipelines deploy with (_TRACE_SAMPLE_RATIO of cloudbuild.yaml). */
export const PRODUCTION_SAMPLING_RATIO = (() => {
  const pipeline = readFileSync(path.join(ROOT, 'services', 'usuarios', 'cloudbuild.yaml'), 'utf8');
  const ratio = Number(/_TRACE_SAMPLE_RATIO: "([\d.]+)"/.exec(pipeline)?.[1]);
  if (!(ratio > 0 && ratio <= 1)) throw new Error('cloudbuild.yaml states no _TRACE_SAMPLE_RATIO');
  return ratio;
})();

export interface Scenario {
  name: string;
  service: ServiceName;
  title: string;
  kind: 'one' | 'list' | 'write' | 'mix';
  /** For the queries-per-request count and the 10k-vs-1M comparison (list scenarios). */
  path?: string;
  /**
   * Bound by the password hash (argon2id, ~22 ms of CPU, a few at a time per process): the rate is
   * what one core can hash, reported per core; the target is p99 ≤ 1 s under 32 concurrent clients.
   */
  hashBound?: boolean;
  /** Concurrency regardless of BENCH_CONNECTIONS (the login target is stated for 32 clients). */
  connections?: number;
  /** Issue 10's target rate, req/s, at the production defaults (none for the hash-bound ones). */
  target?: number;
}

export const SCENARIOS: Scenario[] = [
  { name: 'usuarios_get', service: 'usuarios', title: 'GET one usuario', kind: 'one', target: 5000 },
  {
    name: 'usuarios_list',
    service: 'usuarios',
    title: 'GET /api/usuarios/ page 1',
    kind: 'list',
    path: '/api/usuarios/',
    target: 2500,
  },
  {
    name: 'usuarios_deep',
    service: 'usuarios',
    title: 'GET /api/usuarios/?page=5000',
    kind: 'list',
    path: '/api/usuarios/?page={deepPage}',
    target: 1000,
  },
  {
    name: 'usuarios_search',
    service: 'usuarios',
    title: 'GET /api/usuarios/?search=nombre apellido',
    kind: 'list',
    path: '/api/usuarios/?search=luis%20ortega',
    target: 1500,
  },
  {
    name: 'usuarios_post',
    service: 'usuarios',
    title: 'POST /api/usuarios/',
    kind: 'write',
    hashBound: true,
  },
  {
    name: 'usuarios_login',
    service: 'usuarios',
    title: 'POST /api/token/ (login)',
    kind: 'write',
    hashBound: true,
    connections: 32,
  },
  {
    name: 'usuarios_mix',
    service: 'usuarios',
    title: 'usuarios 90 % reads / 10 % PATCH',
    kind: 'mix',
    target: 4000,
  },
  { name: 'reservas_get', service: 'reservas', title: 'GET one reserva', kind: 'one', target: 5000 },
  {
    name: 'reservas_list',
    service: 'reservas',
    title: 'GET /api/reservas/ page 1 (exact count)',
    kind: 'list',
    path: '/api/reservas/',
    target: 2500,
  },
  {
    name: 'reservas_usuario',
    service: 'reservas',
    title: 'GET /api/reservas/?usuario_id=…',
    kind: 'list',
    path: '/api/reservas/?usuario_id=77',
    target: 2500,
  },
  {
    name: 'reservas_estado_fecha',
    service: 'reservas',
    title: 'GET /api/reservas/?estado=pendiente&fecha_desde=…',
    kind: 'list',
    path: '/api/reservas/?estado=pendiente&fecha_desde={in10days}',
    target: 2500,
  },
  { name: 'reservas_post', service: 'reservas', title: 'POST /api/reservas/', kind: 'write', target: 2000 },
  {
    name: 'reservas_confirmar',
    service: 'reservas',
    title: 'POST /api/reservas/{id}/confirmar/',
    kind: 'write',
    target: 2000,
  },
  {
    name: 'reservas_mix',
    service: 'reservas',
    title: 'reservas 90 % reads / 10 % writes (POST, confirmar)',
    kind: 'mix',
    target: 4000,
  },
];

/** The scenarios measured against the baseline build too (authentication overhead on GET one). */
export const BASELINE_SCENARIOS = ['usuarios_get', 'reservas_get'];
/** The name BENCH_ONLY knows the deactivation measurement by. */
export const DEACTIVATION = 'desactivacion';
/** The scenarios whose telemetry overhead is measured (issue 11: GET one and the reservas mix). */
export const TELEMETRY_SCENARIOS = ['usuarios_get', 'reservas_get', 'reservas_mix'];
/** Scenarios that consume pending reservations: the pool is reset before each run. */
const POOL_SCENARIOS = ['reservas_confirmar', 'reservas_mix'];

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
  /** DATABASE_POOL_MAX given to the services; undefined: unset, the production default. */
  poolMax?: number;
  /** NODE_OPTIONS for the services (V8 heap flags); unset: the service's Dockerfile's, if any. */
  nodeOptions?: string;
  coldStarts: number;
  /** Also run each scenario at half its peak rate to read p99 there. */
  halfRate: boolean;
  pin: boolean;
  build: boolean;
  /** Commit (or any git ref) before authentication, to measure its cost on GET one; '' skips it. */
  baselineRef: string;
  /** Measure the cost of telemetry on GET one and the reservas mix. */
  telemetry: boolean;
  /** Rounds of with, without, without, with in the overhead comparisons. */
  overheadRounds: number;
  /** The services' node: the images' major version (fetched once if this machine has another), or this process's. */
  serviceNode: 'image' | 'current';
  /** Users deactivated by the deactivation → cancellation measurement (at most 100); 0 skips it. */
  deactivations: number;
  /** Names of scenarios (and `desactivacion`) to run (all by default). */
  only?: string[];
  /** Where service logs, the baseline worktree and the load generator's fixtures go. */
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
  /** Issue 10's rate, req/s (absent for the hash-bound scenarios). */
  target?: number;
  hashBound: boolean;
  connections: number;
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
  /** Cores the measured service may use: 1 when pinned, else all of them. */
  serviceCores: number;
  /**
   * node: the harness's and the load generator's; serviceNode: what the services ran on, and whether
   * that is the images' major version (production's).
   */
  versions: { node: string; serviceNode: string; imageNode: boolean; postgres: string; autocannon: string };
  options: Omit<BenchOptions, 'log' | 'adminUrl'>;
  /** The services' pool: unset (production default) or BENCH_POOL_MAX. */
  pool: { max: number; production: number; productionDefault: boolean; setting: 'unset' | 'BENCH_POOL_MAX' };
  data: { seededNow: boolean; seedSeconds?: number; usuarios: number; reservas: number };
  /** PASSWORD_HASH_CONCURRENCY of servicio-usuarios (its default: the bench sets none). */
  hashConcurrency: number;
  /** NODE_OPTIONS each service ran with, and whether they are its image's. */
  nodeOptions: Record<ServiceName, string>;
  imageNodeOptions: boolean;
  coldStartMs: Record<ServiceName, number[]>;
  peakRssMb: Record<ServiceName, number>;
  scenarios: ScenarioResult[];
  /** GET one with authentication (measured) against the baseline build, which has none (reference). */
  authOverhead: { baseline?: string; skipped?: string; rows: Comparison[] };
  /**
   * GET one and the reservas mix exporting telemetry at the production sampling ratio (measured)
   * against the same build with telemetry off (reference); exports: what the receiver got.
   */
  telemetryOverhead: {
    samplingRatio: number;
    skipped?: string;
    rows: Comparison[];
    exports: { traces: number; metrics: number };
  };
  deactivation: DeactivationResult;
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

/** What load.mjs reads besides its JSON argument: the confirmar pool, the tokens, the login users. */
interface Fixtures {
  pool: { confirmar: number[]; mix: number[] };
  tokens: { administrador: string; empleado: string; clientes: string[] };
  logins: string[];
  password: string;
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

/** One autocannon run in its own process, pinned to the load generator's core. */
function load(
  core: number | null,
  config: {
    url: string;
    scenario: string;
    duration: number;
    warmup: number;
    connections: number;
    rate?: number;
    data: object;
    fixturesFile: string;
    /** false: send no token (the baseline build knows no authentication). */
    auth?: boolean;
  },
): Promise<RunFigures> {
  const [command, args] = pinned(core, [
    process.execPath,
    path.join(ROOT, 'bench', 'load.mjs'),
    JSON.stringify(config),
  ]);
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

/** A random client address, as Google's front end would append it (one login each: no throttle). */
const clientAddress = () =>
  Array.from({ length: 4 }, (_, i) => 1 + Math.floor(Math.random() * (i === 0 ? 223 : 254))).join('.');

/** Logs one user in through the real POST /api/token/; answers its access token. */
async function logIn(usuariosUrl: string, email: string): Promise<string> {
  const response = await fetch(`${usuariosUrl}/api/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': clientAddress() },
    body: JSON.stringify({ email, password: BENCH_PASSWORD }),
  });
  const body = (await response.json()) as { access?: string };
  if (response.status !== 200 || !body.access)
    throw new Error(`login of ${email}: ${response.status} ${JSON.stringify(body)}`);
  return body.access;
}

/** The scenario users' tokens, each logged in once (two at a time: the service hashes two at a time). */
async function logInScenarioUsers(usuariosUrl: string): Promise<Fixtures['tokens']> {
  const emails = [
    BENCH_USERS.administrador,
    BENCH_USERS.empleado,
    ...Array.from({ length: BENCH_USERS.clientes }, (_, i) => BENCH_USERS.cliente(i + 1)),
  ];
  const tokens: string[] = [];
  for (let i = 0; i < emails.length; i += 2)
    tokens.push(...(await Promise.all(emails.slice(i, i + 2).map((e) => logIn(usuariosUrl, e)))));
  return { administrador: tokens[0]!, empleado: tokens[1]!, clientes: tokens.slice(2) };
}

/**
 * One authenticated request to a fresh servicio-reservas, so that its first JWKS fetch is done before
 * anything is measured: while that fetch is in flight, concurrent requests with valid tokens are
 * answered 401 (remoteKeys in packages/platform; see bench/README.md), which a warm-up hides in a
 * full run but not in a smoke test's run without one.
 */
async function fetchKeysOf(running: Running, token: string): Promise<void> {
  const response = await fetch(`${running.url}/api/reservas/?page_size=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`servicio-reservas refused a valid token: ${response.status}`);
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
  // The measured service on core 0; the load generator (and the idle identity provider) on core 1.
  const cores = pin ? { service: 0, load: 1 } : { service: null, load: null };
  if (options.build) {
    options.log('building (npm run build)');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }
  const wanted = (name: string) => !options.only?.length || options.only.includes(name);
  const selected = SCENARIOS.filter((s) => wanted(s.name));
  const services: ServiceName[] = (['usuarios', 'reservas'] as const).filter((svc) =>
    selected.some((s) => s.service === svc),
  );

  // The slow preparations come before any measurement, so that none of them competes for the cores.
  let baseline: Baseline | undefined;
  let baselineSkipped: string | undefined;
  if (!options.baselineRef) baselineSkipped = 'BENCH_BASELINE_REF is empty';
  else if (!selected.some((s) => BASELINE_SCENARIOS.includes(s.name)))
    baselineSkipped = 'no GET one scenario selected';
  else {
    try {
      baseline = prepareBaseline(options.baselineRef, options.workDir, options.log);
    } catch (err) {
      baselineSkipped = `the baseline ${options.baselineRef} could not be built: ${(err as Error).message}`;
      options.log(baselineSkipped);
    }
  }
  let emulator: Emulator | undefined;
  let deactivation: DeactivationResult | undefined;
  if (options.deactivations <= 0 || !wanted(DEACTIVATION))
    deactivation = skippedDeactivation('not selected (BENCH_DEACTIVATIONS=0 or BENCH_ONLY)');
  else {
    const gcloud = findExecutable('gcloud');
    if (gcloud) emulator = await startPubSubEmulator(gcloud, options.workDir);
    else deactivation = skippedDeactivation('gcloud (the Pub/Sub emulator) is not installed on this machine');
  }

  try {
    const large = await prepareDatabase(
      options.adminUrl,
      options.database,
      { usuarios: options.usuarios, reservas: options.reservas },
      options.log,
    );
    const ids = await benchUserIds(large.url);
    const pool = await pendingPool(large.url, large.meta.reservas, 200_000);
    // The mix gets its own fifth of the pool; confirmar the rest.
    const split = Math.floor(pool.length * 0.8);
    const fixturesFile = path.join(options.workDir, 'fixtures.json');

    const serviceNode =
      (options.serviceNode === 'image' ? imageNode(options.workDir, options.log) : undefined) ??
      process.execPath;
    const serviceNodeVersion = execFileSync(serviceNode, ['--version']).toString().trim();
    const key = signingKeyPem();
    const nodeOptions = (service: ServiceName) => options.nodeOptions ?? imageNodeOptions(service);
    const start = (
      service: ServiceName,
      databaseUrl: string,
      core: number | null,
      env: Record<string, string> = {},
      root?: string,
    ): Promise<Running> =>
      startService({
        service,
        databaseUrl,
        poolMax: options.poolMax,
        nodeOptions: nodeOptions(service),
        node: serviceNode,
        core,
        workDir: options.workDir,
        root,
        // Every servicio-usuarios of the run signs with the same key, so any of them accepts the tokens.
        env: {
          ...(service === 'usuarios' ? { JWT_PRIVATE_KEY: key, JWT_ACCESS_TTL_S: '3600' } : {}),
          ...env,
        },
      });

    // The identity provider: it logs the scenario users in now and serves its JWKS to servicio-reservas.
    const identity = await start('usuarios', large.url, cores.load);
    try {
      const verifier = { JWT_JWKS_URL: `${identity.url}/.well-known/jwks.json`, USUARIOS_URL: identity.url };
      const envOf = (service: ServiceName) => (service === 'reservas' ? verifier : {});
      const fixtures: Fixtures = {
        pool: { confirmar: pool.slice(0, split), mix: pool.slice(split) },
        tokens: await logInScenarioUsers(identity.url),
        logins: Array.from({ length: BENCH_USERS.logins }, (_, i) => BENCH_USERS.login(i + 1)),
        password: BENCH_PASSWORD,
      };
      writeFileSync(fixturesFile, JSON.stringify(fixtures));
      if (emulator) {
        try {
          await emulator.ready;
        } catch (err) {
          deactivation = skippedDeactivation((err as Error).message);
          await emulator.stop();
          emulator = undefined;
        }
      }

      const deepPage = Math.max(1, Math.min(5000, Math.floor(options.usuarios / 10)));
      const data = (sizes: { usuarios: number; reservas: number }) => ({
        usuarios: sizes.usuarios,
        reservas: sizes.reservas,
        deepPage,
        nombres: NOMBRES,
        apellidos: APELLIDOS,
      });

      const coldStartMs: Record<ServiceName, number[]> = { usuarios: [], reservas: [] };
      const rss: Record<ServiceName, number> = { usuarios: 0, reservas: 0 };
      const scenarios: ScenarioResult[] = [];
      for (const service of services) {
        // Cold starts: process spawn to the first 200 from /readyz, with the page cache already warm.
        let running: Running | undefined;
        for (let i = 0; i < Math.max(1, options.coldStarts); i++) {
          await running?.stop();
          running = await start(service, large.url, cores.service, envOf(service));
          coldStartMs[service].push(round(running.coldStartMs, 1));
        }
        options.log(`${service}: cold start ${coldStartMs[service].join(', ')} ms`);
        try {
          if (service === 'reservas') await fetchKeysOf(running!, fixtures.tokens.empleado);
          for (const scenario of selected.filter((s) => s.service === service)) {
            const connections = scenario.connections ?? options.connections;
            // 32 clients queue behind a few hashes at a time: the first answers take most of a second,
            // and a shorter run (a smoke test's) would count none.
            const duration = scenario.hashBound ? Math.max(options.duration, 2) : options.duration;
            const base = {
              url: running!.url,
              scenario: scenario.name,
              connections,
              data: data(large.meta),
              fixturesFile,
            };
            const usesPool = POOL_SCENARIOS.includes(scenario.name);
            if (usesPool) await resetPool(large.url);
            const peak = await load(cores.load, { ...base, duration, warmup: options.warmup });
            let half: RunFigures | undefined;
            if (options.halfRate && peak.rps > 0) {
              if (usesPool) await resetPool(large.url);
              half = await load(cores.load, {
                ...base,
                duration,
                warmup: 0,
                rate: Math.max(1, Math.floor(peak.rps / 2)),
              });
            }
            const result: ScenarioResult = {
              name: scenario.name,
              title: scenario.title,
              service,
              kind: scenario.kind,
              ...(scenario.target ? { target: scenario.target } : {}),
              hashBound: scenario.hashBound === true,
              connections,
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

      // The cost of authentication on GET one: the same scenario on the build from before it existed,
      // same database, pool and pinning, without tokens, on fresh processes both: the main table's
      // figure was taken minutes earlier.
      const measureOn = async (
        scenario: ScenarioResult,
        running: Running,
        auth: boolean,
      ): Promise<number> => {
        try {
          if (auth && scenario.service === 'reservas') await fetchKeysOf(running, fixtures.tokens.empleado);
          if (POOL_SCENARIOS.includes(scenario.name)) await resetPool(large.url);
          const figures = await load(cores.load, {
            url: running.url,
            scenario: scenario.name,
            connections: scenario.connections,
            duration: options.duration,
            warmup: options.warmup,
            data: data(large.meta),
            fixturesFile,
            auth,
          });
          if (figures.errors > 0) throw new Error(`${scenario.name}: ${JSON.stringify(figures.statusCodes)}`);
          return figures.rps;
        } finally {
          await running.stop();
        }
      };
      const authOverhead: BenchResult['authOverhead'] = baseline
        ? { baseline: baseline.commit, rows: [] }
        : { skipped: baselineSkipped, rows: [] };
      if (baseline) {
        for (const scenario of scenarios.filter((s) => BASELINE_SCENARIOS.includes(s.name))) {
          const row = await interleaved(scenario.name, 0.9, options.overheadRounds, async (variant) => {
            const current = variant === 'measured';
            const env = current ? envOf(scenario.service) : {};
            const root = current ? undefined : baseline.root;
            const running = await start(scenario.service, large.url, cores.service, env, root);
            return measureOn(scenario, running, current);
          });
          authOverhead.rows.push(row);
          options.log(
            `${scenario.name}: with auth ${row.runs.measured.join(' / ')} req/s, ` +
              `on ${baseline.commit} ${row.runs.reference.join(' / ')} req/s (ratio ${row.ratio})`,
          );
        }
      }

      // The cost of telemetry: exported over OTLP/HTTP to a local receiver, traces sampled at the
      // pipelines' ratio, against the same build with telemetry off.
      const telemetryOverhead: BenchResult['telemetryOverhead'] = {
        samplingRatio: PRODUCTION_SAMPLING_RATIO,
        rows: [],
        exports: { traces: 0, metrics: 0 },
      };
      const telemetryScenarios = scenarios.filter((s) => TELEMETRY_SCENARIOS.includes(s.name));
      if (!options.telemetry) telemetryOverhead.skipped = 'BENCH_TELEMETRY=0';
      else if (telemetryScenarios.length === 0)
        telemetryOverhead.skipped = 'no GET one or reservas mix selected';
      else {
        const receiver = await otlpReceiver();
        try {
          for (const scenario of telemetryScenarios) {
            const row = await interleaved(scenario.name, 0.95, options.overheadRounds, async (variant) => {
              const telemetry: Record<string, string> =
                variant === 'measured'
                  ? {
                      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
                      OTEL_TRACES_SAMPLER_ARG: String(PRODUCTION_SAMPLING_RATIO),
                    }
                  : {};
              const env = { ...envOf(scenario.service), ...telemetry };
              return measureOn(scenario, await start(scenario.service, large.url, cores.service, env), true);
            });
            telemetryOverhead.rows.push(row);
            options.log(
              `${scenario.name}: with telemetry ${row.runs.measured.join(' / ')} req/s, ` +
                `without ${row.runs.reference.join(' / ')} req/s (ratio ${row.ratio})`,
            );
          }
        } finally {
          telemetryOverhead.exports = receiver.exports();
          await receiver.close();
        }
      }

      // Queries per list request, counted on the wire through a proxy, for default and maximal pages.
      const queriesPerRequest: BenchResult['queriesPerRequest'] = [];
      const authorization = { authorization: `Bearer ${fixtures.tokens.empleado}` };
      const proxy = await countingProxy(new URL(large.url));
      try {
        const proxied = new URL(large.url);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(proxy.port);
        for (const service of services) {
          const running = await start(service, proxied.toString(), null, envOf(service));
          try {
            for (const scenario of selected.filter((s) => s.service === service && s.path)) {
              for (const variant of ['', 'page_size=100']) {
                let target = fillPath(scenario.path!, { deepPage });
                if (variant) target += `${target.includes('?') ? '&' : '?'}${variant}`;
                if (variant && target.includes('page=')) continue;
                const before = proxy.count();
                const n = 10;
                for (let i = 0; i < n; i++) {
                  const response = await fetch(`${running.url}${target}`, { headers: authorization });
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

      // The same list requests on a data set 100 times smaller: latency with one connection, no
      // queueing. The tokens are the large database's: an empleado's reads check the role, not the row.
      const sizeComparison: BenchResult['sizeComparison'] = [];
      if (options.small) {
        const small = await prepareDatabase(
          options.adminUrl,
          `${options.database}_small`,
          options.small,
          options.log,
        );
        const listScenarios = selected.filter((s) => s.path);
        const measure = async (url: string, sizes: Meta) => {
          const figures = new Map<string, RunFigures>();
          for (const service of services) {
            const running = await start(service, url, cores.service, envOf(service));
            try {
              if (service === 'reservas') await fetchKeysOf(running, fixtures.tokens.empleado);
              for (const scenario of listScenarios.filter((s) => s.service === service)) {
                if (scenario.name === 'usuarios_deep' && sizes.usuarios < deepPage * 10) continue;
                figures.set(
                  scenario.name,
                  await load(cores.load, {
                    url: running.url,
                    scenario: scenario.name,
                    connections: 1,
                    duration: options.latencyDuration,
                    warmup: Math.min(1, options.warmup),
                    data: data(sizes),
                    fixturesFile,
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

      if (emulator) {
        // Its relay (delivery 'none') would take the deactivations' events from the shared outbox and
        // discard them. The tokens stay valid: the measurement's servicio-usuarios signs with the same key.
        await identity.stop();
        options.log(`deactivation: ${options.deactivations} users, Pub/Sub emulator at ${emulator.host}`);
        deactivation = await measureDeactivation({
          databaseUrl: large.url,
          emulator,
          users: options.deactivations,
          adminToken: fixtures.tokens.administrador,
          ids,
          start: (service, env, core) => start(service, large.url, pin ? core : null, env),
          log: options.log,
        });
        options.log(
          `deactivation: p50 ${deactivation.p50} ms, p99 ${deactivation.p99} ms, max ${deactivation.max} ms, ` +
            `${deactivation.cancelledUsers} of ${deactivation.users} users cancelled`,
        );
      }

      const poolMax = options.poolMax ?? PRODUCTION_POOL_MAX;
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
        serviceCores: pin ? 1 : os.cpus().length,
        versions: {
          node: process.version,
          serviceNode: serviceNodeVersion,
          imageNode: serviceNodeVersion.slice(1).split('.')[0] === imageNodeMajor(),
          postgres: await postgresVersion(large.url),
          autocannon: JSON.parse(
            readFileSync(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8'),
          ).version,
        },
        options: { ...options, log: undefined, adminUrl: undefined } as unknown as BenchResult['options'],
        pool: {
          max: poolMax,
          production: PRODUCTION_POOL_MAX,
          productionDefault: poolMax === PRODUCTION_POOL_MAX,
          setting: options.poolMax === undefined ? 'unset' : 'BENCH_POOL_MAX',
        },
        data: {
          seededNow: large.seededNow,
          ...(large.seedSeconds ? { seedSeconds: round(large.seedSeconds, 1) } : {}),
          usuarios: large.meta.usuarios,
          reservas: large.meta.reservas,
        },
        hashConcurrency: productionConfig.identity.hashConcurrency,
        nodeOptions: { usuarios: nodeOptions('usuarios'), reservas: nodeOptions('reservas') },
        imageNodeOptions: (['usuarios', 'reservas'] as const).every(
          (s) => nodeOptions(s) === imageNodeOptions(s),
        ),
        coldStartMs,
        peakRssMb: rss,
        scenarios,
        authOverhead,
        telemetryOverhead,
        deactivation: deactivation ?? skippedDeactivation('not run'),
        queriesPerRequest,
        sizeComparison,
        targets: [],
      };
      result.targets = evaluateTargets(result);
      return result;
    } finally {
      await identity.stop();
    }
  } finally {
    await emulator?.stop();
  }
}
