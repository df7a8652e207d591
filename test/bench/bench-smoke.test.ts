// A seconds-long run of the benchmark harness on tiny data, so that `npm run bench` cannot rot:
// every scenario runs (at peak and at half rate, for a fraction of a second) with real access tokens
// and answers 2xx only, login included; the queries per request are counted, the small-vs-full
// comparison runs, the deactivation → cancellation measurement runs on 3 users (through the Pub/Sub
// emulator when gcloud is installed), and the report renders. The auth-overhead comparison against
// the pre-authentication build is skipped (it needs an npm ci of that commit). The full benchmark
// (1,000,000 reservas, minutes) never runs here. Results go to a temporary folder, never to bench/results.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import {
  PRODUCTION_POOL_MAX,
  resultSuffix,
  runBench,
  SCENARIOS,
  TELEMETRY_SCENARIOS,
  toMarkdown,
} from '../../bench/harness.ts';
import { findExecutable } from '../../bench/services.ts';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = `bench_smoke_${process.pid}`;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));

after(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  for (const name of [database, `${database}_small`])
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  rmSync(workDir, { recursive: true, force: true });
});

test('the benchmark harness runs every scenario on tiny data without errors', {
  timeout: 240_000,
}, async () => {
  const result = await runBench({
    adminUrl: ADMIN_URL,
    database,
    usuarios: 300,
    reservas: 1000,
    small: { usuarios: 30, reservas: 100 },
    duration: 0.2,
    warmup: 0,
    latencyDuration: 0.1,
    connections: 4,
    coldStarts: 1,
    halfRate: true,
    pin: true,
    // npm run build: tsc is incremental (typecheck has just run it), the bundle takes a second.
    build: true,
    baselineRef: '',
    telemetry: true,
    overheadRounds: 1,
    // This machine's node: the smoke test downloads nothing.
    serviceNode: 'current',
    deactivations: 3,
    workDir,
    log: () => {},
  });

  assert.deepEqual(
    result.scenarios.map((s) => s.name),
    SCENARIOS.map((s) => s.name),
  );
  for (const s of result.scenarios) {
    assert.ok(s.peak.requests > 0, `${s.name} made requests`);
    assert.equal(s.peak.errors, 0, `${s.name}: ${JSON.stringify(s.peak.statusCodes)}`);
    assert.equal(s.half?.errors, 0, `${s.name} at half rate: ${JSON.stringify(s.half?.statusCodes)}`);
    assert.ok(s.peakRssMb > 0, `${s.name} RSS sampled`);
  }
  const login = result.scenarios.find((s) => s.name === 'usuarios_login')!;
  assert.equal(login.hashBound, true);
  assert.equal(login.connections, 32);
  assert.ok(login.peak.statusCodes['200']!.count > 0, JSON.stringify(login.peak.statusCodes));
  for (const service of ['usuarios', 'reservas'] as const) {
    assert.equal(result.coldStartMs[service].length, 1);
    assert.ok(result.peakRssMb[service] > 0);
  }

  // The production pool (DATABASE_POOL_MAX unset), stated as such.
  assert.deepEqual(result.pool, {
    max: PRODUCTION_POOL_MAX,
    production: PRODUCTION_POOL_MAX,
    productionDefault: true,
    setting: 'unset',
  });
  // On this machine's node the only suffix is the node's, unless it is the images' major version.
  const major = process.versions.node.split('.')[0];
  assert.equal(result.versions.serviceNode, process.version);
  assert.equal(resultSuffix(result), result.versions.imageNode ? '' : `-node${major}`);
  assert.deepEqual(result.authOverhead, { skipped: 'BENCH_BASELINE_REF is empty', rows: [] });
  // The telemetry comparison ran with and without an exporter, and spans did reach the receiver.
  const telemetry = result.telemetryOverhead;
  assert.equal(telemetry.skipped, undefined);
  assert.deepEqual(
    telemetry.rows.map((r) => r.name),
    TELEMETRY_SCENARIOS,
  );
  for (const row of telemetry.rows) {
    assert.equal(row.runs.measured.length, 2);
    assert.equal(row.runs.reference.length, 2);
    assert.ok(row.measured > 0 && row.reference > 0, JSON.stringify(row));
  }
  assert.ok(telemetry.exports.traces > 0, JSON.stringify(telemetry.exports));

  if (findExecutable('gcloud')) {
    const d = result.deactivation;
    assert.equal(d.skipped, undefined);
    assert.equal(d.users, 3);
    assert.equal(d.cancelledUsers, 3, JSON.stringify(d));
    assert.equal(d.latenciesMs.length, 3);
    for (const ms of [...d.latenciesMs, d.p50, d.p99, d.max])
      assert.ok(Number.isFinite(ms), JSON.stringify(d));
    assert.ok(d.reservations >= 3);
  } else {
    assert.match(result.deactivation.skipped ?? '', /gcloud/);
  }

  assert.ok(result.queriesPerRequest.length > 0);
  for (const q of result.queriesPerRequest)
    assert.ok(q.queries >= 1 && q.queries <= 3, `${q.path}: ${q.queries}`);
  assert.ok(result.sizeComparison.length > 0);
  assert.ok(result.targets.some((t) => t.target.startsWith('no errors') && t.met));
  const markdown = toMarkdown(result);
  assert.match(markdown, /\| target \| measured \| met \|/);
  assert.match(markdown, new RegExp(`Pool: production default \\(${PRODUCTION_POOL_MAX}\\)`));
  assert.match(markdown, /\| POST \/api\/token\/ \(login\) \| 32 \|/);
  assert.match(markdown, /Authentication overhead: not measured \(BENCH_BASELINE_REF is empty\)/);
});
