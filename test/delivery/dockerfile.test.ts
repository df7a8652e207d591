// The Dockerfiles pass a Dockerfile linter (dockerfile-utils, from the npm registry) and keep the
// image rules of issue 4; the root .dockerignore keeps dependencies, tests, git and local data out
// of the build context.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { validate } from 'dockerfile-utils';
import {
  execForm,
  expandArgs,
  ROOT,
  readDockerfile,
  type ServiceInfo,
  type Stage,
  services,
} from './support.ts';

const all = services();

function load(service: ServiceInfo) {
  const text = readFileSync(path.join(service.path, 'Dockerfile'), 'utf8');
  return { text, ...readDockerfile(text) };
}

function runtime(stages: Stage[]): Stage {
  const last = stages.at(-1);
  assert.ok(last, 'no FROM');
  return last;
}

/** `COPY [--from=x] src... dest` split into its parts. */
function copies(stage: Stage) {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const options = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = options.find((o) => o.startsWith('--from='))?.slice(7);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });
}

// Docker's .dockerignore semantics, enough for our patterns: globs with *, ** and ?, a pattern that
// matches a folder excludes all beneath it, later `!` lines re-include, the last match wins.
function dockerignore(): (file: string) => boolean {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\//, ''));
      const source = glob
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (file: string) => {
    const parts = file.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const { negate, regex } of patterns) {
      if (prefixes.some((p) => regex.test(p))) excluded = !negate;
    }
    return excluded;
  };
}

test('the Dockerfile linter is real: it flags a broken Dockerfile', () => {
  const diagnostics = validate('FROM node:24-slim\nCMD ["node" "x.js"]\nEXPOSE port\nWORKDIR app\n');
  assert.ok(diagnostics.length >= 2, JSON.stringify(diagnostics));
});

for (const service of all) {
  describe(`${service.pkg}: Dockerfile`, () => {
    test('exists and passes the Dockerfile linter with no diagnostic at all', () => {
      const { text } = load(service);
      assert.deepEqual(
        validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
        [],
      );
    });

    test('is multi-stage: the runtime stage starts from a current Node LTS slim or distroless image', () => {
      const { stages, preamble } = load(service);
      assert.ok(stages.length >= 2, 'multi-stage build');
      const base = expandArgs(runtime(stages).from, preamble);
      const match =
        /^gcr\.io\/distroless\/nodejs(\d+)-debian\d+(:[\w.-]+)?$/.exec(base) ??
        /^node:(\d+)(\.[\d.]+)?-(\w+-)?slim$/.exec(base);
      assert.ok(match, `runtime base ${base} is neither distroless nor slim`);
      const major = Number(match[1]);
      assert.ok(major >= 22 && major % 2 === 0, `Node ${major} is not a current LTS line`);
      for (const stage of stages.slice(0, -1)) {
        const from = expandArgs(stage.from, preamble);
        if (from.startsWith('node:'))
          assert.ok(from.startsWith(`node:${major}`), `${from}: build with the runtime's Node`);
      }
    });

    test('runs as the non-root uid 1000, node as PID 1 in exec form, never npm start', () => {
      const { text, stages } = load(service);
      const stage = runtime(stages);
      const users = stage.instructions.filter((i) => i.keyword === 'USER');
      assert.ok(users.length > 0, 'the runtime stage sets USER');
      assert.match(users.at(-1)!.args, /^1000(:1000)?$/, 'the last USER is uid 1000');
      const entrypoint = stage.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
      const cmd = stage.instructions.filter((i) => i.keyword === 'CMD').at(-1);
      const entry = entrypoint ? execForm(entrypoint) : [];
      assert.ok(entry, 'ENTRYPOINT is in exec form (a shell form would make sh PID 1)');
      const command = execForm(cmd);
      assert.ok(command, 'CMD is in exec form');
      const argv = [...entry, ...command];
      assert.match(argv[0] ?? '', /(^|\/)node$/, 'node itself is PID 1');
      assert.equal(argv[1], `services/${service.dir}/dist/server.js`);
      assert.doesNotMatch(text, /npm\s+(run\s+)?start/, 'npm start swallows SIGTERM');
      assert.ok(!argv.some((a) => /npm|yarn|pnpm|sh$/.test(a)));
    });

    test('listens on PORT 8080', () => {
      const stage = runtime(load(service).stages);
      assert.ok(stage.instructions.some((i) => i.keyword === 'EXPOSE' && i.args === '8080'));
      assert.ok(stage.instructions.some((i) => i.keyword === 'ENV' && /\bPORT=8080\b/.test(i.args)));
    });

    test('the runtime stage holds only the bundled service, its migrations and production dependencies', () => {
      const { stages } = load(service);
      const stage = runtime(stages);
      // The shared package is inside the bundle (scripts/bundle.mjs): its dist/ is not copied.
      const allowed = [
        'node_modules/',
        `services/${service.dir}/package.json`,
        `services/${service.dir}/dist/`,
        `services/${service.dir}/drizzle/`,
      ];
      const list = copies(stage);
      for (const copy of list) {
        assert.ok(copy.from, `runtime COPY without --from brings build-context files: ${copy.sources}`);
        assert.ok(
          allowed.some((a) => copy.dest === a || copy.dest === `${path.posix.dirname(a)}/`),
          `unexpected runtime path ${copy.dest}`,
        );
      }
      for (const needed of [
        'node_modules/',
        `services/${service.dir}/dist/`,
        `services/${service.dir}/drizzle/`,
      ]) {
        assert.ok(
          list.some((c) => c.dest === needed),
          `the runtime stage lacks ${needed}`,
        );
      }
      const depsStage = stages.find((s) => s.name === list.find((c) => c.dest === 'node_modules/')?.from);
      assert.ok(depsStage, 'node_modules comes from a stage of this Dockerfile');
      const install = depsStage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
      assert.ok(
        install.some((r) => /npm ci\b.*--omit=dev/.test(r)),
        'production dependencies only, from the lockfile',
      );
      if (/distroless/.test(stage.from)) {
        assert.ok(!stage.instructions.some((i) => i.keyword === 'RUN'), 'distroless has no shell to RUN');
      }
    });

    test('holds no secret: no credential in ENV, ARG or LABEL', () => {
      const { stages, preamble } = load(service);
      const instructions = [...preamble, ...stages.flatMap((s) => s.instructions)];
      for (const i of instructions.filter((x) => ['ENV', 'ARG', 'LABEL'].includes(x.keyword))) {
        assert.doesNotMatch(i.args, /PASSWORD|SECRET|TOKEN|DATABASE_URL|DATABASE_USER|API_KEY/i, i.args);
      }
    });

    test('every file it takes from the build context exists and is not in .dockerignore', () => {
      const { stages } = load(service);
      const ignored = dockerignore();
      for (const stage of stages) {
        for (const copy of copies(stage).filter((c) => !c.from)) {
          for (const source of copy.sources) {
            const file = source.replace(/\/$/, '');
            assert.ok(existsSync(path.join(ROOT, file)), `${source} does not exist`);
            assert.ok(!ignored(file), `${source} is excluded by .dockerignore`);
          }
        }
      }
    });
  });
}

describe('.dockerignore', () => {
  test('keeps node_modules, tests, .git, local data, builds and secrets out of the context', () => {
    const ignored = dockerignore();
    for (const file of [
      'node_modules/fastify/package.json',
      'services/usuarios/node_modules/x/index.js',
      '.git/HEAD',
      '.data/servicio-usuarios/PG_VERSION',
      'services/usuarios/.data/servicio-usuarios/PG_VERSION',
      'services/usuarios/test/smoke.test.ts',
      'services/reservas/test/setup.ts',
      'packages/platform/test/config.test.ts',
      'test/delivery/manifests.test.ts',
      'packages/testing/src/index.ts',
      'services/usuarios/dist/server.js',
      'services/usuarios/build/app.js',
      'packages/platform/tsconfig.tsbuildinfo',
      '.env',
      'services/usuarios/.env.local',
    ]) {
      assert.ok(ignored(file), `${file} would enter the build context`);
    }
  });

  test('lets through what the builds need', () => {
    const ignored = dockerignore();
    for (const file of [
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
      'packages/platform/package.json',
      'packages/platform/tsconfig.json',
      'packages/platform/src/index.ts',
      'scripts/bundle.mjs',
      ...all.flatMap((s) => [
        `services/${s.dir}/package.json`,
        `services/${s.dir}/tsconfig.json`,
        `services/${s.dir}/src/server.ts`,
        `services/${s.dir}/src/migrate.ts`,
        `services/${s.dir}/drizzle/meta/_journal.json`,
      ]),
    ]) {
      assert.ok(!ignored(file), `${file} is needed by the build`);
    }
  });
});
