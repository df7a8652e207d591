// CONTRACT §6, `usuario.desactivado` and the push endpoint, through the official Pub/Sub emulator's push
// subscription (ordering on): a deactivation cancels the user's pendiente/confirmada reservations dated
// after it, each with a reserva.cancelada event (motivo usuario_desactivado), within 10 s; nothing else
// changes and reactivation restores nothing. Consumers are idempotent on ce-id (a duplicate push cancels
// once, publishes once); a malformed push is a 400 (and ends in the dead-letter topic); a type nobody
// consumes is acknowledged (2xx).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, type PubSubEmulator, startPubSubEmulator } from '@servicios/testing';
import {
  DESACTIVADO,
  desactivadoAttributes,
  emulatorEnv,
  envelope,
  expectStatus,
  Inbox,
  PUSH_PATH,
  reservaPara,
  type Stack,
  startStack,
  TOPIC_RESERVAS,
  TOPIC_USUARIOS,
} from './events-support.ts';

let emulator: PubSubEmulator;
let stack: Stack;
let reservasInbox: Inbox;
const malformedId = randomUUID();

before(async () => {
  emulator = await startPubSubEmulator();
  for (const topic of [TOPIC_USUARIOS, TOPIC_RESERVAS, 'malformados', 'malformados-dlq']) {
    await emulator.createTopic(topic);
  }
  stack = await startStack('events_consumer', emulatorEnv(emulator));
  await emulator.createSubscription('reservas-push', {
    topic: TOPIC_USUARIOS,
    pushEndpoint: `${stack.reservas.url}${PUSH_PATH}`,
    ordering: true,
  });
  // The emulator dead-letters nothing on a subscription with ordering on: the dead-letter check uses
  // a topic of its own, pushed to the same endpoint without ordering.
  await emulator.createSubscription('malformados-push', {
    topic: 'malformados',
    pushEndpoint: `${stack.reservas.url}${PUSH_PATH}`,
    deadLetterTopic: 'malformados-dlq',
    maxDeliveryAttempts: 5,
  });
  await emulator.createSubscription('dlq', { topic: 'malformados-dlq' });
  await emulator.createSubscription('todo-reservas', { topic: TOPIC_RESERVAS, ordering: true });
  reservasInbox = new Inbox(emulator, 'todo-reservas');
  // Published now, checked by the last test: its five refused deliveries take a few seconds.
  await emulator.publish('malformados', [
    { data: 'no es json', attributes: desactivadoAttributes(999_999, malformedId) },
  ]);
});

after(async () => {
  await stack?.close();
  await emulator?.stop();
});

async function crearEn(titular: number, estado: 'pendiente' | 'confirmada' | 'cancelada' | 'completada') {
  const api = stack.api;
  const id = expectStatus(await api.post('/api/reservas/', reservaPara(titular)), 201).body.id as number;
  const camino = {
    pendiente: [],
    confirmada: ['confirmar'],
    cancelada: ['cancelar'],
    completada: ['confirmar', 'completar'],
  };
  for (const accion of camino[estado])
    expectStatus(await api.post(`/api/reservas/${id}/${accion}/`), 200, accion);
  return id;
}

const leer = async (id: number) => expectStatus(await stack.api.get(`/api/reservas/${id}/`), 200).body;

/** Polls until every reservation is cancelada; deadline `timeoutMs` from `since` (the deactivation's answer). */
async function hastaCanceladas(ids: number[], since: number, timeoutMs = 10_000) {
  for (;;) {
    const estados = await Promise.all(ids.map(async (id) => (await leer(id)).estado));
    if (estados.every((e) => e === 'cancelada')) return;
    if (Date.now() - since > timeoutMs) throw new Error(`not cancelled within ${timeoutMs} ms: ${estados}`);
    await sleep(100);
  }
}

test("usuario.desactivado cancels the user's later pendiente/confirmada reservations, nothing else", async () => {
  const usuario = await stack.usuarios.usuario('cliente');
  const otro = await stack.usuarios.usuario('cliente');
  const pendiente = await crearEn(usuario.id, 'pendiente');
  const confirmada = await crearEn(usuario.id, 'confirmada');
  const intactas = [
    await crearEn(usuario.id, 'cancelada'),
    await crearEn(usuario.id, 'completada'),
    await crearEn(otro.id, 'pendiente'),
    await crearEn(otro.id, 'confirmada'),
  ];
  // Dated before the deactivation: not "after the event's ce-time", so it stays.
  const pasada = await crearEn(usuario.id, 'pendiente');
  await stack.usuarios.db.query(
    `UPDATE reservas_reserva SET fecha_reserva = now() - interval '1 hour' WHERE id = $1`,
    [pasada],
  );
  intactas.push(pasada);
  const antes = new Map(
    await Promise.all([pendiente, confirmada, ...intactas].map(async (id) => [id, await leer(id)] as const)),
  );

  expectStatus(await stack.usuarios.api.post(`/api/usuarios/${usuario.id}/desactivar/`), 200);
  await hastaCanceladas([pendiente, confirmada], Date.now());

  const despues = new Map<number, any>();
  for (const id of [pendiente, confirmada]) {
    const ahora = await leer(id);
    despues.set(id, ahora);
    assert.deepEqual(ahora, {
      ...antes.get(id),
      estado: 'cancelada',
      fecha_actualizacion: ahora.fecha_actualizacion,
    });
    assert.ok(
      Date.parse(ahora.fecha_actualizacion) > Date.parse(antes.get(id).fecha_actualizacion),
      'fecha_actualizacion moves',
    );
  }
  for (const id of intactas) assert.deepEqual(await leer(id), antes.get(id), `reserva ${id} untouched`);

  await reservasInbox.waitFor(
    () =>
      [pendiente, confirmada].every((id) =>
        reservasInbox.of(`reservas/${id}`).some((e) => e.type.endsWith('.cancelada')),
      ),
    'the two cancellations',
  );
  for (const id of [pendiente, confirmada]) {
    const canceladas = reservasInbox.of(`reservas/${id}`).filter((e) => e.type.endsWith('.cancelada'));
    assert.equal(canceladas.length, 1, `reservas/${id}: one reserva.cancelada`);
    assert.equal(canceladas[0]!.type, 'servicios.reservas.v1.reserva.cancelada');
    assert.deepEqual(canceladas[0]!.data, { ...despues.get(id), motivo: 'usuario_desactivado' });
  }

  // Reactivation restores nothing. Another deactivation, pushed after it, shows the push has gone by.
  expectStatus(await stack.usuarios.api.post(`/api/usuarios/${usuario.id}/activar/`), 200);
  const testigo = await stack.usuarios.usuario('cliente');
  const suya = await crearEn(testigo.id, 'pendiente');
  expectStatus(await stack.usuarios.api.post(`/api/usuarios/${testigo.id}/desactivar/`), 200);
  await hastaCanceladas([suya], Date.now());
  for (const id of [pendiente, confirmada]) assert.deepEqual(await leer(id), despues.get(id));
  for (const id of intactas) assert.deepEqual(await leer(id), antes.get(id));
  await reservasInbox.poll();
  const porDesactivacion = reservasInbox.events.filter((e) => e.data?.motivo === 'usuario_desactivado');
  assert.deepEqual(
    porDesactivacion.map((e) => e.subject).sort(),
    [pendiente, confirmada, suya].map((id) => `reservas/${id}`).sort(),
  );
});

test('DELETE of a user (a soft deactivation) cancels their reservations too', async () => {
  const usuario = await stack.usuarios.usuario('cliente');
  const reserva = await crearEn(usuario.id, 'confirmada');
  expectStatus(await stack.usuarios.api.delete(`/api/usuarios/${usuario.id}/`), 204);
  await hastaCanceladas([reserva], Date.now());
});

test("the cut-off is the event's ce-time, not the moment it is processed", async () => {
  const usuario = await stack.usuarios.usuario('cliente');
  const despues = await crearEn(usuario.id, 'pendiente');
  const antes = await crearEn(usuario.id, 'confirmada');
  // A deactivation a minute ago, delivered late: a reservation dated between then and now is "after" it.
  const ceTime = new Date(Date.now() - 60_000);
  const fecha = (id: number, ms: number) =>
    stack.usuarios.db.query('UPDATE reservas_reserva SET fecha_reserva = $2 WHERE id = $1', [
      id,
      new Date(ms),
    ]);
  await fecha(despues, ceTime.getTime() + 30_000);
  await fecha(antes, ceTime.getTime() - 1000);
  const intacta = await leer(antes);
  const data = {
    ...expectStatus(await stack.usuarios.api.get(`/api/usuarios/${usuario.id}/`), 200).body,
    activo: false,
  };
  const push = envelope(desactivadoAttributes(usuario.id, randomUUID(), ceTime.toISOString()), data);
  expectStatus(await stack.anon.request('POST', PUSH_PATH, { json: push }), 204);
  assert.equal((await leer(despues)).estado, 'cancelada');
  assert.deepEqual(await leer(antes), intacta);
});

/** A holder with one pendiente reservation, and the envelope of its deactivation (never really done). */
async function titularConReserva() {
  const usuario = await stack.usuarios.usuario('cliente');
  const reserva = await crearEn(usuario.id, 'pendiente');
  const data = {
    ...expectStatus(await stack.usuarios.api.get(`/api/usuarios/${usuario.id}/`), 200).body,
    activo: false,
  };
  return { usuario, reserva, data, push: envelope(desactivadoAttributes(usuario.id, randomUUID()), data) };
}

async function unaSolaCancelacion(reserva: number) {
  const ahora = await leer(reserva);
  assert.equal(ahora.estado, 'cancelada');
  // A later change of the same subject: once its event is here, a second cancellation would be too.
  expectStatus(await stack.api.delete(`/api/reservas/${reserva}/`), 204);
  await reservasInbox.waitFor(
    () => reservasInbox.of(`reservas/${reserva}`).some((e) => e.type.endsWith('.eliminada')),
    `the deletion of ${reserva}`,
  );
  const eventos = reservasInbox.of(`reservas/${reserva}`);
  assert.deepEqual(
    eventos.map((e) => [e.type.split('.').at(-1), e.data.motivo]),
    [
      ['creada', undefined],
      ['cancelada', 'usuario_desactivado'],
      ['eliminada', undefined],
    ],
  );
  assert.deepEqual(eventos[1]!.data, { ...ahora, motivo: 'usuario_desactivado' });
}

test('a duplicate push (same ce-id), one after the other or at once, cancels once and publishes once', async () => {
  const push = (api: Client, body: unknown) => api.request('POST', PUSH_PATH, { json: body });
  const uno = await titularConReserva();
  const primero = await push(stack.anon, uno.push);
  assert.ok(primero.status >= 200 && primero.status < 300, `${primero.status} ${primero.text}`);
  const tras = await leer(uno.reserva);
  const segundo = await push(stack.anon, uno.push);
  assert.ok(segundo.status >= 200 && segundo.status < 300, `${segundo.status} ${segundo.text}`);
  assert.deepEqual(await leer(uno.reserva), tras, 'the duplicate changes nothing');
  await unaSolaCancelacion(uno.reserva);

  const dos = await titularConReserva();
  const juntos = await Promise.all([push(stack.anon, dos.push), push(stack.anon, dos.push)]);
  for (const res of juntos) assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
  await unaSolaCancelacion(dos.reserva);
});

test('a malformed push is a 400 and changes nothing; a type nobody consumes is acknowledged', async () => {
  const { usuario, reserva, data } = await titularConReserva();
  const antes = await leer(reserva);
  const atributos = () => desactivadoAttributes(usuario.id, randomUUID());
  const sin = (name: string) => {
    const a: Record<string, string> = atributos();
    delete a[name];
    return a;
  };
  const malformed: [string, unknown][] = [
    ['an empty object', {}],
    ['an array', []],
    ['a message that is a string', { message: 'hola' }],
    ['no data', { message: { attributes: atributos(), messageId: '1' } }],
    ['data that is not JSON', envelope(atributos(), undefined, { rawData: 'no es json' })],
    ['data that is a JSON array', envelope(atributos(), [usuario.id])],
    ['ce-time that is no date', envelope({ ...atributos(), 'ce-time': 'ayer' }, data)],
    ...['ce-specversion', 'ce-id', 'ce-type', 'ce-source', 'ce-time', 'ce-subject'].map(
      (name) => [`no ${name}`, envelope(sin(name), data)] as [string, unknown],
    ),
    ...[undefined, null, 'abc', 1.5, 0, -3, true].map(
      (id) => [`data.id ${JSON.stringify(id)}`, envelope(atributos(), { ...data, id })] as [string, unknown],
    ),
  ];
  for (const [label, body] of malformed) {
    const res = await stack.anon.request('POST', PUSH_PATH, { json: body });
    assert.equal(res.status, 400, `${label}: ${res.status} ${res.text}`);
    assert.equal(typeof res.body?.detail, 'string', label);
  }
  assert.deepEqual(await leer(reserva), antes, 'no malformed push cancelled anything');

  for (const type of [
    'servicios.usuarios.v1.usuario.creado',
    'servicios.usuarios.v1.usuario.activado',
    'com.example.otra.cosa',
  ]) {
    const res = await stack.anon.request('POST', PUSH_PATH, {
      json: envelope({ ...atributos(), 'ce-type': type }, data),
    });
    assert.equal(res.status, 204, `${type}: ${res.status} ${res.text}`);
  }
  assert.deepEqual(await leer(reserva), antes);
  // The same data as usuario.desactivado does act: the ones above were refused for their form only.
  expectStatus(await stack.anon.request('POST', PUSH_PATH, { json: envelope(atributos(), data) }), 204);
  assert.equal((await leer(reserva)).estado, 'cancelada');
});

test('a malformed message, refused at each delivery, ends in the dead-letter topic', async () => {
  const dlq = new Inbox(emulator, 'dlq');
  await dlq.waitFor(
    (events) => events.some((e) => e.id === malformedId),
    'the malformed message in the DLQ',
    30_000,
  );
  const [muerto] = dlq.events.filter((e) => e.id === malformedId);
  assert.equal(muerto!.type, DESACTIVADO);
  assert.equal(muerto!.raw, 'no es json');
});
