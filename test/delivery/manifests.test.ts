// The Cloud Build pipeline and the Cloud Run manifest of every service parse, and carry each step, flag,
// probe, resource, secret and substitution of the delivery (issue 4). Each assertion names one item, so
// that a pipeline missing it fails here rather than in a project.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '@servicios/platform';
import YAML from 'yaml';
import { ROOT, type ServiceInfo, services } from './support.ts';

const PROJECT = 'demo-project';
const PROJECT_NUMBER = '123456789012';
const SHA = 'abc1234';
const DATABASE_SECRETS = 'DATABASE_USER=USER:latest,DATABASE_PASSWORD=PASSWORD:latest';
const USUARIOS_URL = `https://servicio-usuarios-${PROJECT_NUMBER}.us-central1.run.app`;

/** What each service's migrations job and deployment read from Secret Manager (CONTRACT §4–5). */
const SECRETS: Record<string, { job: string; deploy: string }> = {
  'servicio-usuarios': {
    job: `${DATABASE_SECRETS},ADMIN_PASSWORD=ADMIN_PASSWORD:latest`,
    deploy: `${DATABASE_SECRETS},JWT_PRIVATE_KEY=JWT_PRIVATE_KEY:latest,JWT_PREVIOUS_PUBLIC_KEYS=JWT_PREVIOUS_PUBLIC_KEYS:latest`,
  },
  'servicio-reservas': { job: DATABASE_SECRETS, deploy: DATABASE_SECRETS },
};
const secretsOf = (service: ServiceInfo) => {
  const secrets = SECRETS[service.pkg];
  assert.ok(secrets, `manifests.test.ts has no secrets for ${service.pkg}: add them`);
  return secrets;
};
/** Names that must only ever come from Secret Manager. */
const SECRET_NAME = /PASSWORD|USER|SECRET|TOKEN|DATABASE_URL|PRIVATE_KEY/;

interface Step {
  id?: string;
  name: string;
  entrypoint?: string;
  args: string[];
  env?: string[];
}

interface Pipeline {
  doc: { substitutions: Record<string, string>; options?: Record<string, unknown>; steps: Step[] };
  /** The steps with every substitution replaced by its default ($PROJECT_ID and $SHORT_SHA made up). */
  steps: Step[];
}

function loadPipeline(service: ServiceInfo): Pipeline {
  const doc = YAML.parse(readFileSync(path.join(service.path, 'cloudbuild.yaml'), 'utf8'));
  const values: Record<string, string> = {
    ...doc.substitutions,
    PROJECT_ID: PROJECT,
    PROJECT_NUMBER,
    SHORT_SHA: SHA,
  };
  const resolve = (text: string): string => {
    let out = text;
    for (let i = 0; i < 5; i++) {
      out = out.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a, b) => values[a ?? b] ?? all);
    }
    return out;
  };
  const steps = (doc.steps as Step[]).map((step) => ({ ...step, args: step.args.map(String).map(resolve) }));
  return { doc, steps };
}

/** The value of --name=value or --name value; undefined when absent. */
function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    if (arg === name) return args[i + 1]?.startsWith('--') === false ? args[i + 1] : '';
  }
  return undefined;
}

/** gcloud's KEY=VALUE list, honouring the ^DELIM^ escape of `gcloud topic escaping`. */
function keyValues(list: string | undefined): Record<string, string> {
  assert.ok(list !== undefined, 'missing key=value list');
  let separator = ',';
  let body = list;
  const delimiter = /^\^([^^]+)\^/.exec(list);
  if (delimiter) {
    separator = delimiter[1]!;
    body = list.slice(delimiter[0].length);
  }
  return Object.fromEntries(
    body.split(separator).map((pair) => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/** gcloud's probe flag, e.g. httpGet.path=/ready,httpGet.port=8080,periodSeconds=2 */
function probe(value: string | undefined): Record<string, string> {
  return keyValues(value);
}

function findStep(steps: Step[], what: string, match: (args: string[]) => boolean): [Step, number] {
  const index = steps.findIndex((s) => match(s.args));
  assert.ok(index >= 0, `cloudbuild.yaml has no ${what} step`);
  return [steps[index]!, index];
}

function pipelineSteps(steps: Step[]) {
  const [build, buildAt] = findStep(steps, 'docker build', (a) => a[0] === 'build');
  const [push, pushAt] = findStep(steps, 'docker push', (a) => a[0] === 'push');
  const [job, jobAt] = findStep(
    steps,
    'run jobs deploy',
    (a) => a.slice(0, 3).join(' ') === 'run jobs deploy',
  );
  const [execute, executeAt] = findStep(
    steps,
    'run jobs execute',
    (a) => a.slice(0, 3).join(' ') === 'run jobs execute',
  );
  const [deploy, deployAt] = findStep(steps, 'run deploy', (a) => a.slice(0, 2).join(' ') === 'run deploy');
  return { build, push, job, execute, deploy, order: [buildAt, pushAt, jobAt, executeAt, deployAt] };
}

const all = services();

test('there is at least one service to deliver', () => {
  assert.ok(all.length > 0);
});

for (const service of all) {
  describe(`${service.pkg}: cloudbuild.yaml`, () => {
    const file = path.join(service.path, 'cloudbuild.yaml');

    test('exists and parses as YAML with steps and substitutions', () => {
      assert.ok(existsSync(file), `${file} is missing`);
      const { doc } = loadPipeline(service);
      assert.ok(Array.isArray(doc.steps) && doc.steps.length >= 5);
      assert.equal(typeof doc.substitutions, 'object');
    });

    test('every project-specific value is a substitution with a default, and every one is used', () => {
      const { doc } = loadPipeline(service);
      for (const name of [
        '_SERVICE',
        '_REGION',
        '_REPOSITORY',
        '_INSTANCE',
        '_DATABASE_NAME',
        '_RUNTIME_SERVICE_ACCOUNT',
        '_ALLOWED_HOSTS',
        '_DATABASE_POOL_MAX',
        '_MAX_INSTANCES',
      ]) {
        assert.ok(String(doc.substitutions[name] ?? '').trim() !== '', `substitution ${name} has no default`);
      }
      assert.equal(doc.substitutions._SERVICE, service.pkg);
      const text = JSON.stringify([doc.steps, doc.substitutions]);
      const used = new Set([...text.matchAll(/\$\{?(_[A-Z0-9_]+)/g)].map((m) => m[1]));
      for (const name of Object.keys(doc.substitutions)) assert.ok(used.has(name), `${name} is never used`);
      for (const name of used) assert.ok(name! in doc.substitutions, `${name} is used but has no default`);
      if (Object.values(doc.substitutions).some((v) => String(v).includes('$'))) {
        assert.equal(
          doc.options?.dynamicSubstitutions,
          true,
          'nested substitutions need dynamicSubstitutions',
        );
      }
      // Builds run as a dedicated service account, which requires an explicit logging choice.
      assert.equal(doc.options?.logging, 'CLOUD_LOGGING_ONLY');
    });

    test('build -> push -> migrations job -> execute --wait -> deploy, in that order', () => {
      const { order } = pipelineSteps(loadPipeline(service).steps);
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
      );
    });

    test('the image is built from this service Dockerfile with the repo root as context, tagged $SHORT_SHA and latest, pushed to Artifact Registry', () => {
      const { doc, steps } = loadPipeline(service);
      const { build, push } = pipelineSteps(steps);
      const image = `us-central1-docker.pkg.dev/${PROJECT}/servicios/${service.pkg}`;
      assert.match(build.name, /cloud-builders\/docker/);
      assert.equal(flag(build.args, '--file'), `services/${service.dir}/Dockerfile`);
      const tags = build.args.filter((a) => a.startsWith('--tag=')).map((a) => a.slice(6));
      assert.deepEqual(tags.sort(), [`${image}:${SHA}`, `${image}:latest`].sort());
      assert.equal(build.args.at(-1), '.', 'the build context must be the repository root');
      assert.ok(push.args.includes('--all-tags') && push.args.includes(image), 'both tags are pushed');
      assert.match(doc.substitutions._IMAGE ?? '', /docker\.pkg\.dev/, 'images go to Artifact Registry');
    });

    test('migrations run as a Cloud Run job of the same image with the migrate command, Cloud SQL and the secrets', () => {
      const { steps } = loadPipeline(service);
      const { job, execute, deploy } = pipelineSteps(steps);
      const jobName = job.args[3];
      assert.ok(jobName && !jobName.startsWith('--'));
      assert.equal(
        flag(job.args, '--image'),
        flag(deploy.args, '--image'),
        'the job runs the deployed image',
      );
      assert.equal(flag(job.args, '--args'), `services/${service.dir}/dist/migrate.js`);
      assert.ok(existsSync(path.join(service.path, 'src', 'migrate.ts')), 'the migrate command exists');
      assert.equal(flag(job.args, '--set-cloudsql-instances'), `${PROJECT}:us-central1:servicios-db`);
      assert.equal(flag(job.args, '--set-secrets'), secretsOf(service).job);
      const env = keyValues(flag(job.args, '--set-env-vars'));
      assert.equal(env.CLOUD_SQL_CONNECTION_NAME, `${PROJECT}:us-central1:servicios-db`);
      assert.equal(env.DATABASE_NAME, keyValues(flag(deploy.args, '--set-env-vars')).DATABASE_NAME);
      assert.equal(flag(job.args, '--region'), flag(deploy.args, '--region'));
      assert.equal(flag(job.args, '--service-account'), flag(deploy.args, '--service-account'));
      assert.equal(flag(job.args, '--max-retries'), '0', 'a failed migration is not retried blindly');
      assert.equal(execute.args[3], jobName, 'the pipeline executes the job it deployed');
      assert.equal(
        flag(execute.args, '--wait'),
        '',
        'execute waits, so that a failed migration stops the deploy',
      );
      assert.equal(flag(execute.args, '--region'), flag(job.args, '--region'));
    });

    test('deploy carries the secrets, Cloud SQL, environment, resources, scaling, port and probes', () => {
      const { deploy } = pipelineSteps(loadPipeline(service).steps);
      const args = deploy.args;
      assert.equal(args[2], service.pkg, 'the Cloud Run service is named after the package');
      assert.equal(
        flag(args, '--image'),
        `us-central1-docker.pkg.dev/${PROJECT}/servicios/${service.pkg}:${SHA}`,
      );
      assert.equal(flag(args, '--region'), 'us-central1');
      assert.equal(flag(args, '--set-secrets'), secretsOf(service).deploy);
      assert.equal(flag(args, '--add-cloudsql-instances'), `${PROJECT}:us-central1:servicios-db`);
      assert.equal(flag(args, '--service-account'), `servicios-runtime@${PROJECT}.iam.gserviceaccount.com`);
      const env = keyValues(flag(args, '--set-env-vars'));
      assert.equal(env.CLOUD_SQL_CONNECTION_NAME, `${PROJECT}:us-central1:servicios-db`);
      assert.equal(env.DATABASE_NAME, 'servicios');
      assert.equal(env.ALLOWED_HOSTS, '.run.app');
      assert.equal(env.DATABASE_POOL_MAX, '2');
      // CONTRACT §5.5: the client address is the entry that Google's front end appends.
      assert.equal(env.TRUSTED_PROXY_HOPS, '1');
      assert.equal(env.GOOGLE_CLOUD_PROJECT, PROJECT, 'events are published to this project');
      assert.equal(env.PUBSUB_TOPIC, `${service.pkg.replace('servicio-', '')}-eventos`, 'and to its topic');
      // Traces and metrics to Google's Telemetry (OTLP) API, a tenth of new traces, with the region
      // Cloud Monitoring files the metrics under.
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'https://telemetry.googleapis.com');
      assert.equal(env.OTEL_TRACES_SAMPLER_ARG, '0.1');
      assert.equal(env.OTEL_RESOURCE_ATTRIBUTES, 'cloud.platform=gcp_cloud_run,cloud.region=us-central1');
      assert.equal(flag(args, '--no-cpu-throttling'), '', 'the outbox relay works between requests');
      assert.equal(flag(args, '--cpu'), '1');
      assert.equal(flag(args, '--memory'), '512Mi');
      assert.equal(flag(args, '--min-instances'), '0');
      assert.equal(flag(args, '--max-instances'), '10');
      assert.equal(flag(args, '--port'), '8080');
      const startup = probe(flag(args, '--startup-probe'));
      assert.equal(startup['httpGet.path'], '/ready', 'startup asks the database');
      assert.equal(startup['httpGet.port'], '8080');
      const window = Number(startup.periodSeconds) * Number(startup.failureThreshold);
      assert.ok(window >= 20 && window <= 240, `startup window ${window}s`);
      assert.ok(Number(startup.timeoutSeconds) <= Number(startup.periodSeconds));
      const liveness = probe(flag(args, '--liveness-probe'));
      assert.equal(liveness['httpGet.path'], '/health', 'liveness never touches the database');
      assert.equal(liveness['httpGet.port'], '8080');
    });

    test('the deployed environment is one the service accepts: Cloud SQL socket, pool, hosts, identity, events', () => {
      const { deploy, job } = pipelineSteps(loadPipeline(service).steps);
      const env = keyValues(flag(deploy.args, '--set-env-vars'));
      const config = loadConfig(
        { ...env, DATABASE_USER: 'from-secret', DATABASE_PASSWORD: 'from-secret' },
        { service: service.pkg },
      );
      assert.equal(config.trustedProxyHops, 1);
      assert.equal(config.telemetry.sampleRatio, 0.1);
      assert.equal(config.telemetry.resourceAttributes['cloud.region'], 'us-central1');
      assert.equal(config.events.delivery, 'pubsub');
      if (service.pkg === 'servicio-usuarios') {
        // The signing key is required on PostgreSQL: it must come with every deployment.
        assert.match(flag(deploy.args, '--set-secrets') ?? '', /\bJWT_PRIVATE_KEY=/);
        const jobEnv = keyValues(flag(job.args, '--set-env-vars'));
        assert.match(jobEnv.ADMIN_EMAIL ?? '', /@/, 'the first administrator is created by the job');
        assert.match(flag(job.args, '--set-secrets') ?? '', /\bADMIN_PASSWORD=/);
      } else {
        assert.equal(config.identity.jwksUrl, `${USUARIOS_URL}/.well-known/jwks.json`);
        assert.equal(config.usuariosUrl, USUARIOS_URL);
        assert.match(
          config.events.pushAudience ?? '',
          /^https:\/\/servicio-reservas-.*\/api\/eventos\/pubsub\/$/,
        );
        assert.equal(
          config.events.pushServiceAccount,
          `servicios-pubsub-push@${PROJECT}.iam.gserviceaccount.com`,
        );
      }
      assert.equal(config.database.kind, 'postgres');
      if (config.database.kind !== 'postgres') return;
      assert.equal(config.database.connection.host, `/cloudsql/${PROJECT}:us-central1:servicios-db`);
      assert.equal(config.database.poolMax, 2);
      assert.deepEqual(config.allowedHosts, ['.run.app']);
      assert.equal(config.port, 8080);
    });

    test('holds no credential: user and password only as Secret Manager references', () => {
      const { steps } = loadPipeline(service);
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /postgres(ql)?:\/\/[^\s/]*:[^\s/]*@/, 'no URL with a password');
      for (const step of steps) {
        const env = flag(step.args, '--set-env-vars');
        if (env === undefined) continue;
        for (const name of Object.keys(keyValues(env))) {
          assert.doesNotMatch(name, SECRET_NAME, `${name} must be a secret`);
        }
      }
    });
  });

  describe(`${service.pkg}: service.yaml`, () => {
    const file = path.join(service.path, 'service.yaml');
    const load = () => {
      const text = readFileSync(file, 'utf8')
        .replaceAll('PROJECT_ID', PROJECT)
        .replaceAll('PROJECT_NUMBER', PROJECT_NUMBER)
        .replaceAll('REGION', 'us-central1');
      return YAML.parse(text);
    };

    test('is a Knative Service for gcloud run services replace, named after the package', () => {
      const doc = load();
      assert.equal(doc.apiVersion, 'serving.knative.dev/v1');
      assert.equal(doc.kind, 'Service');
      assert.equal(doc.metadata.name, service.pkg);
      assert.equal(doc.spec.template.spec.containers.length, 1);
    });

    test('matches the pipeline deploy step: image, scaling, Cloud SQL, env, secrets, resources, probes', () => {
      const doc = load();
      const { deploy } = pipelineSteps(loadPipeline(service).steps);
      const args = deploy.args;
      const template = doc.spec.template;
      const container = template.spec.containers[0];
      const annotations = template.metadata.annotations;

      assert.equal(container.image, `us-central1-docker.pkg.dev/${PROJECT}/servicios/${service.pkg}:latest`);
      assert.equal(annotations['autoscaling.knative.dev/minScale'], flag(args, '--min-instances'));
      assert.equal(annotations['run.googleapis.com/cpu-throttling'], 'false', 'as --no-cpu-throttling');
      assert.equal(annotations['autoscaling.knative.dev/maxScale'], flag(args, '--max-instances'));
      assert.equal(
        annotations['run.googleapis.com/cloudsql-instances'],
        flag(args, '--add-cloudsql-instances'),
      );
      assert.equal(template.spec.serviceAccountName, flag(args, '--service-account'));
      assert.equal(String(template.spec.containerConcurrency), flag(args, '--concurrency'));
      assert.equal(`${template.spec.timeoutSeconds}s`, flag(args, '--timeout'));
      assert.deepEqual(container.ports, [{ name: 'http1', containerPort: Number(flag(args, '--port')) }]);
      assert.equal(String(container.resources.limits.cpu), flag(args, '--cpu'));
      assert.equal(container.resources.limits.memory, flag(args, '--memory'));

      const plain = Object.fromEntries(
        container.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, String(e.value)]),
      );
      assert.deepEqual(plain, keyValues(flag(args, '--set-env-vars')));
      assert.ok(!('PORT' in plain), 'PORT is set by Cloud Run from containerPort');
      const secrets = container.env
        .filter((e: any) => e.valueFrom)
        .map((e: any) => `${e.name}=${e.valueFrom.secretKeyRef.name}:${e.valueFrom.secretKeyRef.key}`)
        .join(',');
      assert.equal(secrets, flag(args, '--set-secrets'));

      for (const [yamlKey, flagName] of [
        ['startupProbe', '--startup-probe'],
        ['livenessProbe', '--liveness-probe'],
      ] as const) {
        const expected = probe(flag(args, flagName));
        const actual = container[yamlKey];
        assert.ok(actual, `${yamlKey} missing`);
        assert.equal(actual.httpGet.path, expected['httpGet.path'], `${yamlKey} path`);
        assert.equal(String(actual.httpGet.port), expected['httpGet.port'], `${yamlKey} port`);
        for (const key of ['periodSeconds', 'timeoutSeconds', 'failureThreshold']) {
          assert.equal(String(actual[key]), expected[key], `${yamlKey}.${key}`);
        }
      }
    });

    test('holds no credential', () => {
      const doc = load();
      for (const entry of doc.spec.template.spec.containers[0].env) {
        if (SECRET_NAME.test(entry.name)) {
          assert.ok(entry.valueFrom?.secretKeyRef, `${entry.name} must come from Secret Manager`);
          assert.ok(!('value' in entry), `${entry.name} has a literal value`);
        }
      }
    });
  });
}

// DEPLOY.md's Cloud SQL tier: db-custom-1-3840 (1 vCPU, 3.75 GB), whose default max_connections is 100.
const MAX_CONNECTIONS = 100;
const SUPERUSER_RESERVED = 3;

test('connection arithmetic: every pool at max instances, plus a rolling revision and the migration jobs, fits max_connections', () => {
  const budgets = all.map((service) => {
    const { doc } = loadPipeline(service);
    return Number(doc.substitutions._DATABASE_POOL_MAX) * Number(doc.substitutions._MAX_INSTANCES);
  });
  const steady = budgets.reduce((a, b) => a + b, 0);
  // During a rollout the old revision's instances still hold their pools; count one extra revision of the
  // largest service, and one connection per migrations job.
  const worst = steady + Math.max(...budgets) + all.length;
  assert.ok(
    worst <= MAX_CONNECTIONS - SUPERUSER_RESERVED,
    `${worst} connections in the worst case > ${MAX_CONNECTIONS} - ${SUPERUSER_RESERVED}`,
  );
  const deploy = readFileSync(path.join(ROOT, 'DEPLOY.md'), 'utf8');
  assert.match(deploy, /db-custom-1-3840/, 'DEPLOY.md creates the tier this arithmetic assumes');
  assert.match(deploy, /max_connections/);
});

test('the service default pool size is the one the arithmetic counts', () => {
  const config = loadConfig({ DATABASE_NAME: 'x' }, { service: 'any' });
  assert.equal(config.database.kind, 'postgres');
  if (config.database.kind !== 'postgres') return;
  for (const service of all) {
    assert.equal(String(config.database.poolMax), loadPipeline(service).doc.substitutions._DATABASE_POOL_MAX);
  }
});
