// `npm run bench`: the full benchmark of issues 5 and 9. Every knob is an environment variable (or a
// --flag=value of the same name in lower case, e.g. --duration=5); bench/README.md says what each does:
//   BENCH_USUARIOS (100000), BENCH_RESERVAS (1000000)  data set; seeded once, reused while it matches
//   BENCH_SMALL_USUARIOS (1000), BENCH_SMALL_RESERVAS (10000)  the comparison data set (0: skip)
//   BENCH_DURATION (10), BENCH_WARMUP (3), BENCH_LATENCY_DURATION (3)  seconds
//   BENCH_CONNECTIONS (32), BENCH_COLD_STARTS (3), BENCH_HALF_RATE (1)
//   BENCH_POOL_MAX (unset: the services' production default)  DATABASE_POOL_MAX of the services
//   BENCH_NODE_OPTIONS (the NODE_OPTIONS of the service's Dockerfile)  V8 flags of the services
//   BENCH_BASELINE_REF (2403db3, before authentication; empty: skip)  the auth-overhead baseline
//   BENCH_TELEMETRY (1; 0: skip)  the telemetry-overhead comparison
//   BENCH_SERVICE_NODE (image: the images' Node major, fetched once from npm; current: this node)
//   BENCH_OVERHEAD_ROUNDS (2)  rounds of with, without, without, with in both overhead comparisons
//   BENCH_DEACTIVATIONS (100; 0: skip)  users of the deactivation → cancellation measurement
//   BENCH_ONLY (comma-separated scenario names, and/or desactivacion), BENCH_PIN (1), BENCH_BUILD (1)
//   BENCH_DATABASE (servicios_bench), BENCH_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres)
//   BENCH_OUT (bench/results)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BenchOptions, ROOT, resultSuffix, runBench, toMarkdown } from './harness.ts';

const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .map((arg) => /^--([\w-]+)=(.*)$/.exec(arg))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [`BENCH_${m[1]!.replace(/-/g, '_').toUpperCase()}`, m[2]!]),
);
const setting = (name: string, fallback: string) => flags[name] ?? process.env[name] ?? fallback;
const number = (name: string, fallback: number) => {
  const value = Number(setting(name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
};

const poolMax = setting('BENCH_POOL_MAX', '') ? number('BENCH_POOL_MAX', 0) : undefined;
if (poolMax !== undefined && (poolMax < 1 || !Number.isInteger(poolMax)))
  throw new Error('BENCH_POOL_MAX must be a positive integer (or unset: the production default)');
const smallUsuarios = number('BENCH_SMALL_USUARIOS', 1000);
const smallReservas = number('BENCH_SMALL_RESERVAS', 10_000);
const outDir = path.resolve(ROOT, setting('BENCH_OUT', 'bench/results'));
const options: BenchOptions = {
  adminUrl: setting('BENCH_ADMIN_URL', 'postgres://postgres@127.0.0.1:5432/postgres'),
  database: setting('BENCH_DATABASE', 'servicios_bench'),
  usuarios: number('BENCH_USUARIOS', 100_000),
  reservas: number('BENCH_RESERVAS', 1_000_000),
  small: smallReservas > 0 ? { usuarios: smallUsuarios, reservas: smallReservas } : null,
  duration: number('BENCH_DURATION', 10),
  warmup: number('BENCH_WARMUP', 3),
  latencyDuration: number('BENCH_LATENCY_DURATION', 3),
  connections: number('BENCH_CONNECTIONS', 32),
  // Unset unless given: the services then open the pool they open in production.
  ...(poolMax !== undefined ? { poolMax } : {}),
  ...(setting('BENCH_NODE_OPTIONS', '') ? { nodeOptions: setting('BENCH_NODE_OPTIONS', '') } : {}),
  coldStarts: number('BENCH_COLD_STARTS', 3),
  halfRate: setting('BENCH_HALF_RATE', '1') !== '0',
  pin: setting('BENCH_PIN', '1') !== '0',
  build: setting('BENCH_BUILD', '1') !== '0',
  baselineRef: setting('BENCH_BASELINE_REF', '2403db3').trim(),
  telemetry: setting('BENCH_TELEMETRY', '1') !== '0',
  overheadRounds: Math.max(1, number('BENCH_OVERHEAD_ROUNDS', 2)),
  serviceNode: setting('BENCH_SERVICE_NODE', 'image') === 'current' ? 'current' : 'image',
  deactivations: number('BENCH_DEACTIVATIONS', 100),
  only: setting('BENCH_ONLY', '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  workDir: path.join(ROOT, 'bench', '.work'),
  log: (message) => process.stderr.write(`[bench] ${message}\n`),
};

const result = await runBench(options);
const markdown = toMarkdown(result);
mkdirSync(outDir, { recursive: true });
// A run of another configuration than production's (-pool8, -unpinned…) says so in its file names,
// and leaves latest.md to the production configuration.
const suffix = resultSuffix(result);
const stem = `${result.startedAt.slice(0, 16).replace(/:/g, '')}-${result.commit}${suffix}`;
writeFileSync(path.join(outDir, `${stem}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(path.join(outDir, `${stem}.md`), markdown);
if (suffix === '') writeFileSync(path.join(outDir, 'latest.md'), markdown);
process.stdout.write(`${markdown}\nwritten: ${path.relative(ROOT, path.join(outDir, stem))}.{md,json}\n`);
