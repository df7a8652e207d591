// Issue 11 with CONTRACT §6 on the official Pub/Sub emulator: a deactivation is ONE trace from
// servicio-usuarios' request through its outbox's publish span, the message's `traceparent` attribute
// and servicio-reservas' consumer span, down to the cancellations' statements and their own publish
// span; and servicios.events.consumed counts what the push endpoint did (processed, duplicate, ignored,
// malformed) by event type, with bounded labels.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type PubSubEmulator, startPubSubEmulator } from '@servicios/testing';
import {
  DESACTIVADO,
  desactivadoAttributes,
  emulatorEnv,
  Inbox,
  PUSH_PATH,
  TOPIC_RESERVAS,
  TOPIC_USUARIOS,
} from '../../services/reservas/test/events-support.ts';
import {
  collect,
  describeSpans,
  enDias,
  eventually,
  isDb,
  type Point,
  parentIdOf,
  type Reader,
  spanIdOf,
  startTracedStack,
  type TracedStack,
  traceIdOf,
} from './support.ts';

const CANCELADA = 'servicios.reservas.v1.reserva.cancelada';

let emulator: PubSubEmulator;
let stack: TracedStack;
let usuariosInbox: Inbox;
let reservasInbox: Inbox;

before(async () => {
  emulator = await startPubSubEmulator();
  for (const topic of [TOPIC_USUARIOS, TOPIC_RESERVAS, 'malformados', 'malformados-dlq'])
    await emulator.createTopic(topic);
  await emulator.createSubscription('todo-usuarios', { topic: TOPIC_USUARIOS, ordering: true });
  await emulator.createSubscription('todo-reservas', { topic: TOPIC_RESERVAS, ordering: true });
  usuariosInbox = new Inbox(emulator, 'todo-usuarios');
  reservasInbox = new Inbox(emulator, 'todo-reservas');
  stack = await startTracedStack('obs_events', emulatorEnv(emulator));
  const pushEndpoint = `${stack.reservas!.url}${PUSH_PATH}`;
  await emulator.createSubscription('reservas-push', { topic: TOPIC_USUARIOS, pushEndpoint, ordering: true });
  // A malformed message is refused (400) until it is dead-lettered: a topic of its own, no ordering.
  await emulator.createSubscription('malformados-push', {
    topic: 'malformados',
    pushEndpoint,
    deadLetterTopic: 'malformados-dlq',
    maxDeliveryAttempts: 5,
  });
});

after(async () => {
  await stack?.close();
  await emulator?.stop();
});

const finished = (of: 'usuarios' | 'reservas') => stack[of]!.spans.getFinishedSpans();

function waitForSpan(of: 'usuarios' | 'reservas', match: (s: ReadableSpan) => boolean, what: string) {
  return eventually(() => finished(of).find(match), what, 15_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${of}:\n${describeSpans(finished(of))}`);
  });
}

test('a deactivation is one trace: usuarios request → publish → message → reservas consumer → its publish', async () => {
  const usuario = await stack.usuario('cliente');
  const reservasAdmin = stack.reservas!.anon.as(stack.adminToken);
  const reserva = await reservasAdmin.post('/api/reservas/', {
    usuario_id: usuario.id,
    fecha_reserva: enDias(5),
    numero_personas: 2,
  });
  assert.equal(reserva.status, 201, reserva.text);

  const res = await stack.admin.post(`/api/usuarios/${usuario.id}/desactivar/`);
  assert.equal(res.status, 200, res.text);

  const server = await waitForSpan(
    'usuarios',
    (s) => s.kind === SpanKind.SERVER && s.name === 'POST /api/usuarios/:id/desactivar/',
    'the deactivation request span',
  );
  assert.equal(server.attributes['http.route'], '/api/usuarios/:id/desactivar/');
  assert.equal(server.attributes['http.response.status_code'], 200);
  const trace = traceIdOf(server);
  const inTrace = (s: ReadableSpan) => traceIdOf(s) === trace;

  const publish = await waitForSpan(
    'usuarios',
    (s) => inTrace(s) && s.name === `publish ${DESACTIVADO}`,
    'the publish span of usuario.desactivado',
  );
  assert.equal(publish.kind, SpanKind.PRODUCER);
  assert.equal(parentIdOf(publish), spanIdOf(server), 'publish: child of the request that wrote the event');

  const consumer = await waitForSpan(
    'reservas',
    (s) => inTrace(s) && s.name === `process ${DESACTIVADO}`,
    "servicio-reservas' consumer span in the same trace",
  );
  assert.equal(consumer.kind, SpanKind.CONSUMER);
  assert.equal(parentIdOf(consumer), spanIdOf(publish), 'process: child of the publish span');
  // Linked to the push's own request span (a trace of its own: the emulator sends no traceparent).
  const pushRequests = finished('reservas').filter(
    (s) => s.kind === SpanKind.SERVER && s.name === `POST ${PUSH_PATH}`,
  );
  assert.ok(
    consumer.links.some((l) => pushRequests.some((p) => spanIdOf(p) === l.context.spanId)),
    'the consumer span links the push request span',
  );

  const cancelPublish = await waitForSpan(
    'reservas',
    (s) => inTrace(s) && s.name === `publish ${CANCELADA}`,
    'the publish span of reserva.cancelada',
  );
  assert.equal(cancelPublish.kind, SpanKind.PRODUCER);
  assert.equal(parentIdOf(cancelPublish), spanIdOf(consumer), 'the cancellation was written by the consumer');

  // The messages carry their publish span's context (W3C, sampled) on to whoever consumes them.
  await usuariosInbox.waitFor(
    (events) => events.some((e) => e.type === DESACTIVADO && e.subject === `usuarios/${usuario.id}`),
    'usuario.desactivado',
  );
  const mensaje = usuariosInbox.events.find(
    (e) => e.type === DESACTIVADO && e.subject === `usuarios/${usuario.id}`,
  )!;
  assert.equal(mensaje.attributes.traceparent, `00-${trace}-${spanIdOf(publish)}-01`);
  await reservasInbox.waitFor(
    (events) => events.some((e) => e.type === CANCELADA && e.subject === `reservas/${reserva.body.id}`),
    'reserva.cancelada',
  );
  const cancelada = reservasInbox.events.find((e) => e.type === CANCELADA)!;
  assert.equal(cancelada.attributes.traceparent, `00-${trace}-${spanIdOf(cancelPublish)}-01`);

  // Last: the consumer's statements (the cancellation) are spans of the trace, under the consumer.
  const statements = finished('reservas').filter((s) => inTrace(s) && isDb(s));
  assert.ok(
    statements.some((s) => / reservas_reserva$/.test(s.name)),
    `the cancellation's statement is a span of the trace:\n${describeSpans(finished('reservas').filter(inTrace))}`,
  );
  for (const s of statements) assert.equal(parentIdOf(s), spanIdOf(consumer), s.name);
});

const consumed = (points: Point[], type: string, outcome: string) =>
  points
    .filter((p) => p.metric === 'servicios.events.consumed')
    .filter((p) => p.attributes.type === type && p.attributes.outcome === outcome)
    .reduce((sum, p) => sum + p.value, 0);

async function points(reader: Reader) {
  return (await collect(reader)).points;
}

test('servicios.events.consumed counts processed, duplicate, ignored and malformed pushes', async () => {
  const reservas = stack.reservas!.metrics;
  // The deactivation of the test above: processed once.
  await eventually(
    async () => (consumed(await points(reservas), DESACTIVADO, 'processed') === 1 ? true : undefined),
    'one processed',
  );

  // Pub/Sub delivers at least once: the same event again (same ce-id) is a duplicate.
  await usuariosInbox.poll();
  const original = usuariosInbox.events.find((e) => e.type === DESACTIVADO)!;
  await emulator.publish(TOPIC_USUARIOS, [
    { data: original.raw, attributes: original.attributes, orderingKey: original.orderingKey },
  ]);
  await eventually(
    async () => (consumed(await points(reservas), DESACTIVADO, 'duplicate') === 1 ? true : undefined),
    'one duplicate counted',
  );

  // Every other event of servicio-usuarios (the creations) is acknowledged and ignored, as "other".
  const ignored = await eventually(async () => {
    await usuariosInbox.poll();
    const others = usuariosInbox.events.filter((e) => e.type !== DESACTIVADO).length;
    const counted = consumed(await points(reservas), 'other', 'ignored');
    return others > 0 && counted === others ? counted : undefined;
  }, 'one "ignored" per other event of servicio-usuarios');
  assert.ok(ignored >= 1);

  await emulator.publish('malformados', [
    { data: 'no es json', attributes: desactivadoAttributes(1, randomUUID()) },
  ]);
  await eventually(
    async () =>
      (await points(reservas)).some(
        (p) =>
          p.metric === 'servicios.events.consumed' && p.attributes.outcome === 'malformed' && p.value >= 1,
      )
        ? true
        : undefined,
    'a malformed push counted',
    15_000,
  );

  const final = (await points(reservas)).filter((p) => p.metric === 'servicios.events.consumed');
  assert.equal(consumed(final, DESACTIVADO, 'processed'), 1, 'the duplicate was not processed again');
  for (const p of final) {
    assert.deepEqual(Object.keys(p.attributes).sort(), ['outcome', 'type']);
    assert.ok(['processed', 'duplicate', 'ignored', 'malformed'].includes(String(p.attributes.outcome)));
    // Bounded: the types consumed here, "other", or "unknown" (unreadable), never a subject or an id.
    assert.ok(
      [DESACTIVADO, 'other', 'unknown'].includes(String(p.attributes.type)),
      String(p.attributes.type),
    );
  }
});

test('servicios.events.published and the outbox gauges report on both services', async () => {
  for (const of of ['usuarios', 'reservas'] as const) {
    const reader = stack[of]!.metrics;
    const now = await eventually(async () => {
      const all = await points(reader);
      const pending = all.find((p) => p.metric === 'servicios.outbox.pending');
      return pending?.value === 0 ? all : undefined;
    }, `${of}: the outbox drained (servicios.outbox.pending = 0)`);
    const published = now.filter((p) => p.metric === 'servicios.events.published');
    assert.ok(
      published.some((p) => p.attributes.outcome === 'published' && p.value >= 1),
      `${of}: ${JSON.stringify(published)}`,
    );
    for (const p of published) assert.deepEqual(Object.keys(p.attributes), ['outcome']);
    assert.equal(now.find((p) => p.metric === 'servicios.outbox.oldest_age')?.value, 0, `${of}: oldest_age`);
  }
});
