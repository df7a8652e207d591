// Container rehearsal without a Docker engine: replays each Dockerfile on the host. The build stage is
// `tsc -b`; the deps stage's COPY and RUN lines run as written in a fresh folder (npm ci --omit=dev from
// the lockfile); the runtime stage's COPY lines lay out a second fresh folder exactly as the image.
// From there, as uid 1000 with the container's environment (the pipeline's variables, PORT=8080,
// CLOUD_SQL_CONNECTION_NAME pointing at the real PostgreSQL socket laid out as
// <root>/<project:region:instance>/.s.PGSQL.5432, and telemetry exported as the pipeline sets it but
// to a local OTLP receiver), the migrations job's command runs, then the service serves /readyz and a
// create/read round trip.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_DATABASE_URL, createTestDatabase, type TestDatabase } from '@servicios/testing';
import YAML from 'yaml';
import {
  adminQuery,
  build,
  execForm,
  expandArgs,
  freePort,
  identityFor,
  ROOT,
  type RunningProcess,
  readDockerfile,
  runNode,
  type Stage,
  sampleFor,
  services,
  waitForHttp,
} from './support.ts';

const CONNECTION_NAME = 'demo-project:us-central1:servicios-db';
const UID = 1000;
const asRoot = process.getuid?.() === 0;

async function port8080OrFree(): Promise<number> {
  const server = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(8080, '0.0.0.0', () => resolve(true));
  });
  if (!ok) return freePort();
  await new Promise((resolve) => server.close(resolve));
  return 8080;
}

/** Replays the COPY lines of a stage: `from` maps a stage name (or the build context) to a folder. */
function replayCopies(stage: Stage, workdir: string, from: (name: string | undefined) => string) {
  const stageWorkdir = stage.instructions.find((i) => i.keyword === 'WORKDIR')?.args ?? '/';
  for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
    const words = copy.args.split(/\s+/);
    const fromName = words.find((w) => w.startsWith('--from='))?.slice(7);
    const paths = words.filter((w) => !w.startsWith('--'));
    const dest = paths.pop()!;
    const root = from(fromName);
    for (const source of paths) {
      // Paths of another stage are absolute in its file system; the host folder stands for its WORKDIR.
      const relative = fromName ? source.replace(/^\/(src|app)\//, '') : source;
      const src = path.join(root, relative);
      assert.ok(existsSync(src), `COPY source ${source} (${src}) does not exist`);
      const target = path.join(workdir, dest.startsWith('/') ? path.relative(stageWorkdir, dest) : dest);
      const isDir = statSync(src).isDirectory();
      const final = !isDir && dest.endsWith('/') ? path.join(target, path.basename(src)) : target;
      mkdirSync(isDir ? final : path.dirname(final), { recursive: true });
      cpSync(src, final, { recursive: true, verbatimSymlinks: true });
    }
  }
}

function walk(dir: string, visit: (file: string) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, visit);
    else visit(full);
  }
}

function du(dir: string): number {
  let bytes = 0;
  walk(dir, (file) => {
    bytes += statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  });
  return bytes;
}

/** One HTTP request with a chosen Host header (fetch cannot set it), as Cloud Run's front end sends. */
let authorization = '';

function request(
  port: number,
  method: string,
  url: string,
  body?: unknown,
  host = 'servicio-abc123-uc.a.run.app',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: url,
        agent: false,
        timeout: 10_000,
        headers: {
          host,
          'x-forwarded-proto': 'https',
          ...(authorization ? { authorization } : {}),
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text ? JSON.parse(text) : null,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

for (const service of services()) {
  describe(`${service.pkg}: container rehearsal`, () => {
    const sample = sampleFor(service);
    let work: string;
    let app: string;
    let db: TestDatabase;
    let server: RunningProcess | undefined;
    let entrypoint: string[];
    let env: Record<string, string>;
    let port: number;
    let otlp: http.Server;

    before(async () => {
      await build(service);
      // The exporters load lazily, only when an endpoint is set: the bundle must carry them too.
      otlp = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      });
      await new Promise<void>((resolve) => otlp.listen(0, '127.0.0.1', resolve));
      work = mkdtempSync(path.join(os.tmpdir(), `rehearsal-${service.dir}-`));
      chmodSync(work, 0o755);
      const deps = path.join(work, 'deps');
      app = path.join(work, 'app');
      mkdirSync(deps);
      mkdirSync(app);

      const { preamble, stages } = readDockerfile(
        readFileSync(path.join(service.path, 'Dockerfile'), 'utf8'),
      );
      const runtimeStage = stages.at(-1)!;
      const folders = new Map<string | undefined, string>([[undefined, ROOT]]);
      for (const stage of stages.slice(0, -1)) {
        // The build stage is the repository itself, built by tsc above; other stages are replayed.
        if (stage.instructions.some((i) => i.keyword === 'RUN' && /tsc -b/.test(i.args))) {
          folders.set(stage.name, ROOT);
          continue;
        }
        const folder = path.join(work, `stage-${stage.name}`);
        mkdirSync(folder);
        replayCopies(stage, folder, (name) => folders.get(name) ?? assert.fail(`unknown stage ${name}`));
        for (const run of stage.instructions.filter((i) => i.keyword === 'RUN')) {
          execFileSync('sh', ['-c', expandArgs(run.args, preamble)], {
            cwd: folder,
            stdio: 'pipe',
            // The npm cache of this machine, as Docker's layer cache would be: same lockfile, same tarballs.
            env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
            timeout: 120_000,
          });
        }
        folders.set(stage.name, folder);
      }
      replayCopies(runtimeStage, app, (name) => folders.get(name) ?? assert.fail(`unknown stage ${name}`));
      rmSync(deps, { recursive: true, force: true });

      const entry = runtimeStage.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
      const cmd = runtimeStage.instructions.filter((i) => i.keyword === 'CMD').at(-1);
      entrypoint = [...(execForm(entry) ?? []), ...(execForm(cmd) ?? [])];
      // The image's ENV lines (NODE_ENV, PORT, NODE_OPTIONS).
      const imageEnv: Record<string, string> = {};
      for (const line of runtimeStage.instructions.filter((i) => i.keyword === 'ENV')) {
        // KEY=value or KEY="value with spaces" (NODE_OPTIONS="--flag=4 --other=128"), as Docker reads them.
        for (const [, key, quoted, plain] of line.args.matchAll(/(\w+)=(?:"([^"]*)"|(\S*))/g)) {
          imageEnv[key!] = quoted ?? plain ?? '';
        }
      }

      db = await createTestDatabase(`rehearsal_${service.dir}`);
      const socketRows = await adminQuery<{ unix_socket_directories: string }>(
        'SHOW unix_socket_directories',
      );
      const socketDir = socketRows[0]!.unix_socket_directories.split(',')[0]!.trim();
      const socketRoot = path.join(work, 'cloudsql');
      mkdirSync(path.join(socketRoot, CONNECTION_NAME), { recursive: true });
      symlinkSync(
        path.join(socketDir, '.s.PGSQL.5432'),
        path.join(socketRoot, CONNECTION_NAME, '.s.PGSQL.5432'),
      );

      // The pipeline's variables, the secrets' values, and the socket root that Cloud Run calls /cloudsql.
      const pipeline = YAML.parse(readFileSync(path.join(service.path, 'cloudbuild.yaml'), 'utf8'));
      port = await port8080OrFree();
      const identity = await identityFor(service);
      authorization = identity.authorization;
      env = {
        ...imageEnv,
        ...identity.env,
        PORT: String(port),
        CLOUD_SQL_CONNECTION_NAME: CONNECTION_NAME,
        CLOUD_SQL_SOCKET_DIR: socketRoot,
        DATABASE_NAME: db.name,
        DATABASE_USER: decodeURIComponent(new URL(ADMIN_DATABASE_URL).username) || 'postgres',
        DATABASE_PASSWORD: decodeURIComponent(new URL(ADMIN_DATABASE_URL).password),
        ALLOWED_HOSTS: pipeline.substitutions._ALLOWED_HOSTS,
        DATABASE_POOL_MAX: pipeline.substitutions._DATABASE_POOL_MAX,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as net.AddressInfo).port}`,
        OTEL_TRACES_SAMPLER_ARG: pipeline.substitutions._TRACE_SAMPLE_RATIO,
      };
    });

    after(async () => {
      await server?.kill();
      otlp?.close();
      await db?.drop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('the runtime layout holds only the bundled service, its migrations and production dependencies', (t) => {
      const dir = `services/${service.dir}`;
      assert.ok(existsSync(path.join(app, dir, 'package.json')), `${dir}/package.json`);
      assert.ok(existsSync(path.join(app, dir, 'dist', 'server.js')), `${dir}/dist/server.js`);
      assert.ok(existsSync(path.join(app, dir, 'dist', 'migrate.js')), `${dir}/dist/migrate.js`);
      for (const absent of [`${dir}/src`, `${dir}/build`, `${dir}/test`, 'packages/platform']) {
        assert.ok(!existsSync(path.join(app, absent)), `${absent} must not be in the image`);
      }
      assert.ok(existsSync(path.join(app, `services/${service.dir}/drizzle/meta/_journal.json`)));
      for (const dev of [
        'typescript',
        'tsx',
        'drizzle-kit',
        '@biomejs',
        'dockerfile-utils',
        '@servicios/testing',
      ]) {
        assert.ok(!existsSync(path.join(app, 'node_modules', dev)), `dev dependency ${dev} in the image`);
      }
      walk(app, (file) => {
        assert.doesNotMatch(file, /\.test\.ts$|\/\.env|tsbuildinfo$/, file);
        if (file.includes('/node_modules/')) assert.doesNotMatch(file, /\.[cm]?ts$|\.map$/, file);
      });
      const megabytes = (du(app) / 1e6).toFixed(1);
      t.diagnostic(`runtime files of ${service.pkg}: ${megabytes} MB (plus the Node base image)`);
    });

    test('the migrations job command applies the migrations as uid 1000 over the Cloud SQL socket', async () => {
      const pipeline = YAML.parse(readFileSync(path.join(service.path, 'cloudbuild.yaml'), 'utf8'));
      const jobStep = pipeline.steps.find((s: any) => s.args.slice(0, 3).join(' ') === 'run jobs deploy');
      const jobArgs = String(jobStep.args.find((a: string) => a.startsWith('--args=')).slice(7)).split(',');
      // The job keeps the image's ENTRYPOINT (node) and replaces CMD with --args.
      const migrate = runNode(jobArgs, { cwd: app, env, ...(asRoot ? { uid: UID } : {}) });
      const timer = setTimeout(() => void migrate.kill(), 30_000);
      const exit = await migrate.exited;
      clearTimeout(timer);
      assert.deepEqual(exit, { code: 0, signal: null }, migrate.lines.join('\n'));
      const tables = await db.query('SELECT to_regclass($1) AS t', [sample.table]);
      assert.equal(tables.rows[0]?.t, sample.table);
      const logged = migrate.lines.filter(Boolean).map((l) => JSON.parse(l));
      assert.ok(logged.some((l) => l.severity === 'INFO' && /migrations applied/.test(l.message)));
    });

    test('the server starts as uid 1000 on PORT, is ready over the socket, and serves a create/read round trip', async () => {
      assert.match(entrypoint[0] ?? '', /(^|\/)node$/);
      // The image's /nodejs/bin/node is this machine's node; the rest of the argv is the image's.
      server = runNode(entrypoint.slice(1), { cwd: app, env, ...(asRoot ? { uid: UID } : {}) });
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
      if (asRoot) {
        const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
        assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'the process runs as uid 1000');
      }

      for (const url of ['/readyz', '/ready', '/healthz', '/health']) {
        const res = await request(port, 'GET', url);
        assert.equal(res.status, 200, url);
        assert.deepEqual(res.json, { status: 'OK' });
      }
      const created = await request(port, 'POST', sample.collection, sample.body());
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const read = await request(port, 'GET', `${sample.collection}${created.json.id}/`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.json, created.json);
      const rows = await db.query(`SELECT count(*)::int AS n FROM ${sample.table} WHERE id = $1`, [
        created.json.id,
      ]);
      assert.equal(rows.rows[0]?.n, 1);
      // Behind Cloud Run's TLS front end, links say https.
      const list = await request(port, 'GET', `${sample.collection}?page_size=1`);
      assert.equal(list.status, 200);
      assert.ok(list.json.count >= 1);
      // ALLOWED_HOSTS from the pipeline admits *.run.app and refuses other hosts.
      assert.equal(
        (await request(port, 'GET', sample.collection, undefined, 'evil.example.com')).status,
        400,
      );

      // Cloud Logging reads JSON lines with a severity.
      const lines = server.lines.filter((l) => l.trim());
      assert.ok(lines.length > 0);
      for (const line of lines) {
        const entry = JSON.parse(line);
        assert.ok(typeof entry.severity === 'string' && typeof entry.message === 'string', line);
      }

      server.child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null });
    });
  });
}
