// A seconds-long run of the benchmark harness on tiny data, so that `npm run bench` cannot rot:
// every scenario runs (at peak and at half rate, for a fraction of a second), answers 2xx only,
// the queries per request are counted, the small-vs-full comparison runs, and the report renders. The full benchmark (1,000,000
// reservas, minutes) never runs here. Results go to a temporary folder, never to bench/results.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { ROOT, runBench, SCENARIOS, toMarkdown } from '../../bench/harness.ts';

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
  timeout: 120_000,
}, async () => {
  const built = ['usuarios', 'reservas'].every((s) =>
    existsSync(path.join(ROOT, 'services', s, 'dist', 'server.js')),
  );
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
    poolMax: 2,
    coldStarts: 1,
    halfRate: true,
    pin: true,
    // `npm test` has just built dist/ (typecheck runs tsc -b); build only when it is missing.
    build: !built,
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
  for (const service of ['usuarios', 'reservas'] as const) {
    assert.equal(result.coldStartMs[service].length, 1);
    assert.ok(result.peakRssMb[service] > 0);
  }
  assert.ok(result.queriesPerRequest.length > 0);
  for (const q of result.queriesPerRequest)
    assert.ok(q.queries >= 1 && q.queries <= 3, `${q.path}: ${q.queries}`);
  assert.ok(result.sizeComparison.length > 0);
  assert.ok(result.targets.some((t) => t.target.startsWith('no errors') && t.met));
  assert.match(toMarkdown(result), /\| target \| measured \| met \|/);
});
