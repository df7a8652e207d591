// SIGTERM under load, on the compiled service as Cloud Run runs it (node dist/server.js as its own
// process). Requests are held in flight by a table lock taken from the test (no test code in the
// service): every one must finish with its normal answer after SIGTERM, new connections must be
// refused, and the process must close its pool and exit 0 well inside Cloud Run's 10 s grace period.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@servicios/testing';
import pg from 'pg';
import {
  build,
  freePort,
  identityFor,
  ROOT,
  type RunningProcess,
  runNode,
  sampleFor,
  services,
  waitForHttp,
  waitUntil,
} from './support.ts';

const IN_FLIGHT = 16;

/** A brand-new connection (no keep-alive reuse): 'refused', or the status it got. */
function freshRequest(port: number): Promise<'refused' | { status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/health', agent: false, timeout: 5000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('fresh request hung')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? resolve('refused') : reject(err),
    );
    req.end();
  });
}

for (const service of services()) {
  describe(`${service.pkg}: SIGTERM under load`, () => {
    const sample = sampleFor(service);
    let db: TestDatabase;
    let server: RunningProcess | undefined;
    let port: number;
    let authorization: string;

    before(async () => {
      await build(service);
      db = await createTestDatabase(`shutdown_${service.dir}`);
      const migrate = runNode([`services/${service.dir}/dist/migrate.js`], {
        cwd: ROOT,
        env: { DATABASE_URL: db.url },
      });
      assert.equal((await migrate.exited).code, 0, migrate.lines.join('\n'));
      port = await freePort();
      const identity = await identityFor(service);
      authorization = identity.authorization;
      server = runNode([`services/${service.dir}/dist/server.js`], {
        cwd: ROOT,
        // One pool client per request in flight, so that every one of them is waiting in the database.
        env: {
          ...identity.env,
          DATABASE_URL: db.url,
          PORT: String(port),
          NODE_ENV: 'production',
          DATABASE_POOL_MAX: String(IN_FLIGHT),
        },
      });
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
    });

    after(async () => {
      await server?.kill();
      await db?.drop();
    });

    test('in-flight requests finish with their normal answer, new work is refused, the pool closes, exit 0 within 10 s', async () => {
      const base = `http://127.0.0.1:${port}`;
      const created = await fetch(`${base}${sample.collection}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify(sample.body()),
      });
      assert.equal(created.status, 201);
      const id = ((await created.json()) as { id: number }).id;

      // Hold every read of the table: the requests below stay in flight until the lock goes.
      const locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${sample.table} IN ACCESS EXCLUSIVE MODE`);

      const inFlight = Array.from({ length: IN_FLIGHT }, async (_, i) => {
        const url = i % 2 === 0 ? `${base}${sample.collection}` : `${base}${sample.collection}${id}/`;
        const res = await fetch(url, { headers: { authorization } });
        return { i, status: res.status, body: (await res.json()) as any };
      });
      await waitUntil(
        async () => {
          const { rows } = await db.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
            [db.name],
          );
          return rows[0]?.n === IN_FLIGHT;
        },
        10_000,
        `${IN_FLIGHT} requests waiting in the database`,
      );

      const sigterm = Date.now();
      server!.child.kill('SIGTERM');
      await sleep(300);
      const fresh = await freshRequest(port);
      assert.ok(
        fresh === 'refused' || (fresh.status === 503 && fresh.retryAfter),
        `a new request after SIGTERM got ${JSON.stringify(fresh)}`,
      );
      await sleep(500);
      assert.equal(server!.child.exitCode, null, 'the process waits for the requests in flight');

      await locker.query('COMMIT');
      await locker.end();
      const answers = await Promise.all(inFlight);
      for (const answer of answers) {
        assert.equal(answer.status, 200, `request ${answer.i}: ${JSON.stringify(answer.body)}`);
        if (answer.i % 2 === 0) assert.ok(answer.body.count >= 1 && Array.isArray(answer.body.results));
        else assert.equal(answer.body.id, id);
      }

      const exit = await server!.exited;
      const elapsed = Date.now() - sigterm;
      assert.deepEqual(exit, { code: 0, signal: null }, server!.lines.join('\n'));
      assert.ok(elapsed < 5000, `exit took ${elapsed} ms after SIGTERM`);
      const messages = server!.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).message);
      const draining = messages.findIndex((m) => /shutting down/.test(m));
      const complete = messages.findIndex((m) => /shutdown complete/.test(m));
      assert.ok(
        draining >= 0 && complete > draining,
        'logs the drain, then the completed shutdown (pool closed)',
      );
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'servicios'`,
        [db.name],
      );
      assert.equal(rows[0]?.n, 0, 'no connection of the service is left on the database');
    });
  });
}
