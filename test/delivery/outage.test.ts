// Database outage and pool exhaustion, on the compiled service as its own process. A TCP proxy written
// here stands between the service and PostgreSQL, so that the path can be cut and restored while the
// shared server keeps running. While cut, data requests get 503 with Retry-After and /readyz says 503,
// quickly (never a hang, never a 500); once restored, the same process serves again without a restart.
// Pool exhaustion (one pool client held by a request waiting on a lock that the test takes) also gives
// 503 with Retry-After, and the pool recovers when the lock goes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@servicios/testing';
import pg from 'pg';
import {
  build,
  freePort,
  identityFor,
  PgProxy,
  ROOT,
  type RunningProcess,
  runNode,
  sampleFor,
  services,
  waitForHttp,
  waitUntil,
} from './support.ts';

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
  ms: number;
}

let authorization = '';

async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? JSON.parse(text) : null,
    ms: Date.now() - started,
  };
}

async function startServer(service: ReturnType<typeof services>[number], env: Record<string, string>) {
  const port = await freePort();
  const identity = await identityFor(service);
  authorization = identity.authorization;
  const server = runNode([`services/${service.dir}/dist/server.js`], {
    cwd: ROOT,
    env: { NODE_ENV: 'production', PORT: String(port), ...identity.env, ...env },
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
  return { server, base: `http://127.0.0.1:${port}` };
}

async function migrate(service: ReturnType<typeof services>[number], db: TestDatabase) {
  const run = runNode([`services/${service.dir}/dist/migrate.js`], {
    cwd: ROOT,
    env: { DATABASE_URL: db.url },
  });
  assert.equal((await run.exited).code, 0, run.lines.join('\n'));
}

function assertUnavailable(answer: Answer, what: string, withinMs: number) {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  assert.ok(answer.retryAfter && Number(answer.retryAfter) > 0, `${what}: Retry-After`);
  assert.ok(answer.ms < withinMs, `${what} took ${answer.ms} ms`);
}

for (const service of services()) {
  const sample = sampleFor(service);

  describe(`${service.pkg}: database outage through a TCP proxy`, () => {
    const CONNECT_TIMEOUT_MS = 1000;
    let db: TestDatabase;
    let proxy: PgProxy;
    let server: RunningProcess | undefined;
    let base: string;
    let id: number;

    before(async () => {
      await build(service);
      db = await createTestDatabase(`outage_${service.dir}`);
      await migrate(service, db);
      proxy = new PgProxy();
      await proxy.start();
      const url = new URL(db.url);
      url.port = String(proxy.port);
      ({ server, base } = await startServer(service, {
        DATABASE_URL: url.toString(),
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      }));
      const created = await call(base, 'POST', sample.collection, sample.body());
      assert.equal(created.status, 201);
      id = created.body.id;
    });

    after(async () => {
      await server?.kill();
      await proxy?.close();
      await db?.drop();
    });

    async function servesAgain(pid: number | undefined) {
      await waitUntil(async () => (await call(base, 'GET', '/readyz')).status === 200, 10_000, '/readyz 200');
      assert.equal((await call(base, 'GET', sample.collection)).status, 200);
      assert.equal((await call(base, 'GET', `${sample.collection}${id}/`)).status, 200);
      assert.equal((await call(base, 'POST', sample.collection, sample.body())).status, 201);
      assert.equal(server!.child.pid, pid);
      assert.equal(server!.child.exitCode, null, 'the same process, never restarted');
    }

    for (const mode of ['reset', 'blackhole'] as const) {
      test(`${mode === 'reset' ? 'database down' : 'network partition'} (${mode}): 503 with Retry-After, /readyz 503, then recovery in the same process`, async () => {
        const pid = server!.child.pid;
        proxy.restore();
        await servesAgain(pid);
        assert.ok(proxy.openConnections > 0, 'the pool holds connections through the proxy');

        proxy.cut(mode);
        // Generous bound: the connect time-out plus the query time-out, never a hang.
        const bound = CONNECT_TIMEOUT_MS + 2000 + 1500;
        const answers = await Promise.all([
          call(base, 'GET', sample.collection),
          call(base, 'GET', `${sample.collection}${id}/`),
          call(base, 'POST', sample.collection, sample.body()),
        ]);
        assertUnavailable(answers[0]!, 'list', bound);
        assertUnavailable(answers[1]!, 'read', bound);
        assertUnavailable(answers[2]!, 'create', bound);
        for (const answer of answers) assert.equal(typeof answer.body.detail, 'string');
        const ready = await call(base, 'GET', '/readyz');
        assertUnavailable(ready, '/readyz', bound);
        assert.equal(ready.body.status, 'ERROR');
        assert.equal((await call(base, 'GET', '/ready')).status, 503);
        const live = await call(base, 'GET', '/health');
        assert.equal(live.status, 200, 'liveness does not depend on the database');
        assert.ok(live.ms < 1000);

        proxy.restore();
        await servesAgain(pid);
      });
    }
  });

  describe(`${service.pkg}: pool exhaustion`, () => {
    let db: TestDatabase;
    let server: RunningProcess | undefined;
    let base: string;

    before(async () => {
      await build(service);
      db = await createTestDatabase(`exhaustion_${service.dir}`);
      await migrate(service, db);
      ({ server, base } = await startServer(service, {
        DATABASE_URL: db.url,
        DATABASE_POOL_MAX: '1',
        DATABASE_CONNECT_TIMEOUT_MS: '500',
        DATABASE_STATEMENT_TIMEOUT_MS: '1500',
      }));
      assert.equal((await call(base, 'POST', sample.collection, sample.body())).status, 201);
    });

    after(async () => {
      await server?.kill();
      await db?.drop();
    });

    test('with the only pool client held by a slow query, other requests get 503 with Retry-After, and the pool recovers', async () => {
      const locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE ${sample.table} IN ACCESS EXCLUSIVE MODE`);
        const slow = call(base, 'GET', sample.collection);
        await waitUntil(
          async () => {
            const { rows } = await db.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
              [db.name],
            );
            return rows[0]?.n === 1;
          },
          5000,
          'the slow request holding the only client',
        );
        const [waiting, ready] = await Promise.all([
          call(base, 'GET', sample.collection),
          call(base, 'GET', '/readyz'),
        ]);
        assertUnavailable(waiting, 'a request waiting for the exhausted pool', 2000);
        assertUnavailable(ready, '/readyz with the pool exhausted', 2000);
        // The slow one ends at the statement time-out: also a 503, not a 500.
        assertUnavailable(await slow, 'the request cut by the statement time-out', 4000);
      } finally {
        await locker.query('ROLLBACK').catch(() => {});
        await locker.end();
      }
      assert.equal((await call(base, 'GET', '/readyz')).status, 200);
      assert.equal((await call(base, 'GET', sample.collection)).status, 200);
      assert.equal(server!.child.exitCode, null);
    });
  });
}
