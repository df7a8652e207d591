// Operations as code (issue 11): the SLOs, alert policies and dashboard in ops/ parse as the Cloud
// Monitoring resources they claim to be, and every metric they query exists: one that the services
// emit (found where the code creates it) or one of Cloud Run's own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './support.ts';

const ops = (file: string) => JSON.parse(readFileSync(path.join(ROOT, 'ops', file), 'utf8'));
const policies = readdirSync(path.join(ROOT, 'ops', 'alertas')).map((f) => ({
  file: f,
  policy: ops(`alertas/${f}`),
}));
const CLOUD_RUN = new Set(['request_count', 'request_latencies', 'container_instance_count']);

/** Every metric name the platform and the services create with their meters. */
function emitted(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(
          /create(?:Histogram|Counter|ObservableGauge|UpDownCounter)\(\s*'([^']+)'/g,
        ))
          names.add(m[1]!);
      }
    }
  };
  for (const dir of ['packages/platform/src', 'services/usuarios/src', 'services/reservas/src'])
    walk(path.join(ROOT, dir));
  return names;
}

/** The metrics a PromQL query reads: quoted OpenTelemetry names, and Cloud Run's `run_googleapis_com:…`. */
function queried(query: string): { otel: string[]; cloudRun: string[] } {
  const otel = [...query.matchAll(/\{"([a-z][a-z0-9_.]*)"/g)].map((m) =>
    m[1]!.replace(/_(bucket|count|sum|total)$/, ''),
  );
  const cloudRun = [...query.matchAll(/run_googleapis_com:([a-z_]+)/g)].map((m) =>
    m[1]!.replace(/_bucket$/, ''),
  );
  return { otel, cloudRun };
}

function checkQuery(where: string, query: string, known: Set<string>) {
  assert.equal((query.match(/\(/g) ?? []).length, (query.match(/\)/g) ?? []).length, `${where}: parentheses`);
  assert.equal((query.match(/\{/g) ?? []).length, (query.match(/\}/g) ?? []).length, `${where}: braces`);
  const { otel, cloudRun } = queried(query);
  assert.ok(otel.length + cloudRun.length > 0, `${where}: reads no metric`);
  for (const name of otel) assert.ok(known.has(name), `${where}: no service emits ${name}`);
  for (const name of cloudRun) assert.ok(CLOUD_RUN.has(name), `${where}: ${name} is not a Cloud Run metric`);
}

test('every alert policy pages on one PromQL condition over metrics that exist, with documentation', () => {
  const known = emitted();
  assert.ok(known.has('http.server.request.duration') && known.has('servicios.outbox.oldest_age'));
  const topics = policies.map((p) => p.file).sort();
  assert.deepEqual(topics, ['errores.json', 'latencia.json', 'outbox.json', 'pool.json']);
  for (const { file, policy } of policies) {
    assert.ok(policy.displayName, `${file}: displayName`);
    assert.ok(policy.documentation?.content?.length > 80, `${file}: documentation says what to do`);
    assert.ok(['CRITICAL', 'ERROR', 'WARNING'].includes(policy.severity), `${file}: severity`);
    assert.equal(policy.conditions.length, 1);
    const condition = policy.conditions[0].conditionPrometheusQueryLanguage;
    assert.match(condition.duration, /^\d+s$/, `${file}: duration`);
    checkQuery(file, condition.query, known);
  }
});

test('the SLOs: availability and latency for each service, goals and windows that make sense', () => {
  const { services, objectives } = ops('slos.json');
  assert.deepEqual(services.map((s: { serviceId: string }) => s.serviceId).sort(), [
    'servicio-reservas',
    'servicio-usuarios',
  ]);
  for (const service of services) {
    assert.equal(service.basicService.serviceType, 'CLOUD_RUN');
    assert.equal(service.basicService.serviceLabels.service_name, service.serviceId);
  }
  assert.deepEqual(
    objectives.map((o: { serviceLevelObjectiveId: string }) => o.serviceLevelObjectiveId).sort(),
    ['disponibilidad', 'latencia'],
  );
  for (const objective of objectives) {
    assert.ok(objective.goal > 0.9 && objective.goal < 1, objective.displayName);
    assert.equal(objective.rollingPeriod, `${28 * 86_400}s`);
    assert.ok(objective.serviceLevelIndicator.basicSli);
  }
});

test('the dashboard: a mosaic whose every chart reads metrics that exist', () => {
  const known = emitted();
  const dashboard = ops('tablero.json');
  const tiles = dashboard.mosaicLayout.tiles as { widget: { title: string; xyChart: { dataSets: any[] } } }[];
  assert.ok(tiles.length >= 8);
  for (const { widget } of tiles) {
    for (const set of widget.xyChart.dataSets)
      checkQuery(widget.title, set.timeSeriesQuery.prometheusQuery, known);
  }
  for (const metric of [
    'servicios.outbox.oldest_age',
    'db.client.connection.pending_requests',
    'servicios.events.consumed',
  ])
    assert.ok(JSON.stringify(dashboard).includes(metric), `the dashboard shows ${metric}`);
});
