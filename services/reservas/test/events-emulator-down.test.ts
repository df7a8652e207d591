// CONTRACT §6, "nothing lost" and ordering: while Pub/Sub (the official emulator) is down the changes
// still succeed and their events wait in the outbox; once it is back every event is published, and for
// each subject in the order of its changes (ordering key = ce-subject).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type PubSubEmulator, startPubSubEmulator } from '@servicios/testing';
import { nuevoUsuario, type Suite, startUsuarios } from '../../usuarios/test/support.ts';
import { emulatorEnv, expectStatus, Inbox, TOPIC_USUARIOS } from './events-support.ts';

let emulator: PubSubEmulator;
let usuarios: Suite;

async function topicAndSubscription() {
  await emulator.createTopic(TOPIC_USUARIOS);
  await emulator.createSubscription('todo-usuarios', { topic: TOPIC_USUARIOS, ordering: true });
}

before(async () => {
  emulator = await startPubSubEmulator();
  await topicAndSubscription();
  usuarios = await startUsuarios('events_emulator_down', emulatorEnv(emulator));
});

after(async () => {
  await usuarios?.close();
  await emulator?.stop();
});

const pendientes = async (subjects: string[]) =>
  (
    await usuarios.db.query<{ sujeto: string; intentos: number }>(
      'SELECT sujeto, intentos FROM usuarios_outbox WHERE sujeto = ANY($1) ORDER BY id',
      [subjects],
    )
  ).rows;

test('events of changes made while Pub/Sub is down are all published once it is back, in order per subject', async (t) => {
  const crear = async () =>
    expectStatus(await usuarios.api.post('/api/usuarios/', nuevoUsuario()), 201).body.id as number;
  const a = await crear();
  const b = await crear();
  const subjects = [`usuarios/${a}`, `usuarios/${b}`];
  const arriba = new Inbox(emulator, 'todo-usuarios');
  await arriba.waitFor(
    () => subjects.every((s) => arriba.of(s).length === 1),
    'the creations, with Pub/Sub up',
  );

  await emulator.stop();
  const cambios: [number, string][] = [
    [a, 'A1'],
    [b, 'B1'],
    [a, 'A2'],
    [a, 'A3'],
    [b, 'B2'],
  ];
  for (const [id, nombre] of cambios) {
    expectStatus(
      await usuarios.api.patch(`/api/usuarios/${id}/`, { nombre }),
      200,
      `PATCH ${nombre} with Pub/Sub down`,
    );
  }
  // The relay has tried (and cannot have succeeded): every event is still in the outbox.
  const deadline = Date.now() + 20_000;
  let filas = await pendientes(subjects);
  while (!filas.some((f) => f.intentos > 0) && Date.now() < deadline) {
    await sleep(100);
    filas = await pendientes(subjects);
  }
  assert.equal(filas.length, cambios.length, JSON.stringify(filas));
  assert.ok(
    filas.some((f) => f.intentos > 0),
    `the relay tried: ${JSON.stringify(filas)}`,
  );

  // A fresh emulator knows no topic: recreate it (and the subscription) at once, as an operator would.
  await emulator.restart();
  await topicAndSubscription();
  const back = Date.now();
  const inbox = new Inbox(emulator, 'todo-usuarios');
  const nombres = (subject: string) => {
    const seen = new Set<string>();
    return inbox
      .of(subject)
      .filter((e) => !seen.has(e.id) && seen.add(e.id))
      .map((e) => e.data.nombre as string);
  };
  await inbox.waitFor(
    () => nombres(subjects[0]!).length >= 3 && nombres(subjects[1]!).length >= 2,
    'the five events after the restart',
    90_000,
  );
  t.diagnostic(`published ${Date.now() - back} ms after the emulator answered again`);
  assert.deepEqual(nombres(subjects[0]!), ['A1', 'A2', 'A3'], 'usuario A: the order of its changes');
  assert.deepEqual(nombres(subjects[1]!), ['B1', 'B2'], 'usuario B: the order of its changes');
  for (const event of inbox.events) {
    assert.equal(event.type, 'servicios.usuarios.v1.usuario.actualizado');
    assert.equal(event.orderingKey, event.subject);
  }
  const hasta = Date.now() + 10_000;
  while ((await pendientes(subjects)).length > 0 && Date.now() < hasta) await sleep(100);
  assert.deepEqual(await pendientes(subjects), [], 'the outbox is empty once published');
});
