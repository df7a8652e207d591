// CONTRACT §6, "nothing lost" when a process dies, and the outage target: servicio-usuarios killed between
// a commit and its publish leaves the event in its outbox, and the next process publishes it (then the
// outbox is empty); servicio-reservas down for 60 s gets the pushed usuario.desactivado once it is back
// and cancels within 10 s of its return. Both run the built servicio (dist/server.js) as child processes,
// at the same time (each waits about a minute), against one official Pub/Sub emulator.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, migrateDatabase } from '@servicios/platform';
import {
  client,
  createTestDatabase,
  login,
  type PubSubEmulator,
  signingKey,
  startPubSubEmulator,
} from '@servicios/testing';
import {
  build,
  freePort,
  ROOT,
  type RunningProcess,
  runNode,
  waitForHttp,
  waitUntil,
} from '../../../test/delivery/support.ts';
import { migrar } from '../../usuarios/src/bootstrap.ts';
import { ADMIN, nuevoUsuario, type Suite, startUsuarios } from '../../usuarios/test/support.ts';
import { servicio } from '../src/app.ts';
import {
  assertCloudEvent,
  emulatorEnv,
  expectStatus,
  Inbox,
  PUSH_PATH,
  reservaPara,
  TOPIC_RESERVAS,
  TOPIC_USUARIOS,
} from './events-support.ts';

let emulator: PubSubEmulator;
const procesos: RunningProcess[] = [];

before(async () => {
  emulator = await startPubSubEmulator();
  emulatorEnv(emulator);
  for (const dir of ['usuarios', 'reservas']) {
    try {
      await build({ dir, pkg: `servicio-${dir}`, path: path.join(ROOT, 'services', dir) });
    } catch (err) {
      // A tree that does not type-check while someone edits it: the last build is still worth running.
      if (!existsSync(path.join(ROOT, 'services', dir, 'dist', 'server.js'))) throw err;
      console.log(
        `# tsc -b services/${dir} failed; running its existing dist/:\n${String((err as { stdout?: Buffer }).stdout ?? err)}`,
      );
    }
  }
});

after(async () => {
  for (const proceso of procesos) await proceso.kill();
  await emulator?.stop();
});

/** The built service `dir` as a child process on `port`, answering before this resolves. */
async function arrancar(dir: string, port: number, env: Record<string, string>): Promise<RunningProcess> {
  const proceso = runNode(['dist/server.js'], {
    cwd: path.join(ROOT, 'services', dir),
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', METADATA_SERVER_DETECTION: 'none' },
  });
  procesos.push(proceso);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, proceso);
  return proceso;
}

async function matar(proceso: RunningProcess) {
  proceso.child.kill('SIGKILL');
  await proceso.exited;
}

describe('processes down', { concurrency: true }, () => {
  test('servicio-usuarios killed between commit and publish: the next process publishes the event', async (t) => {
    const db = await createTestDatabase('events_crash');
    const topic = 'usuarios-caida';
    await emulator.createTopic(topic);
    await emulator.createSubscription('caida', { topic, ordering: true });
    const env = {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEY: signingKey().privateKeyPem,
      GOOGLE_CLOUD_PROJECT: emulator.project,
      PUBSUB_TOPIC: topic,
    };
    const hijos: RunningProcess[] = [];
    try {
      await migrar(
        loadConfig(
          { ...env, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
          { service: 'servicio-usuarios' },
        ),
      );
      const port = await freePort();
      // Its Pub/Sub is a closed port: the publish cannot succeed before the process is killed.
      const primero = await arrancar('usuarios', port, {
        ...env,
        PUBSUB_EMULATOR_HOST: `127.0.0.1:${await freePort()}`,
      });
      hijos.push(primero);
      const api = client(`http://127.0.0.1:${port}`);
      const creado = expectStatus(await api.post('/api/usuarios/', nuevoUsuario()), 201).body;
      const sujeto = `usuarios/${creado.id}`;
      const fila = async () =>
        (await db.query('SELECT tipo, reclamada_hasta FROM usuarios_outbox WHERE sujeto = $1', [sujeto]))
          .rows;
      // Committed with the change, and taken by the relay (its publish under way) when the process dies.
      await waitUntil(
        async () => (await fila())[0]?.reclamada_hasta != null,
        10_000,
        'the relay to claim the event',
      );
      await matar(primero);
      assert.deepEqual(
        (await fila()).map((r) => r.tipo),
        ['servicios.usuarios.v1.usuario.creado'],
        'the event outlives the process',
      );

      hijos.push(await arrancar('usuarios', port, { ...env, PUBSUB_EMULATOR_HOST: emulator.host }));
      const reinicio = Date.now();
      const inbox = new Inbox(emulator, 'caida');
      await inbox.waitFor(
        (events) => events.some((e) => e.subject === sujeto),
        `the creation of ${sujeto}`,
        100_000,
      );
      t.diagnostic(`published ${Date.now() - reinicio} ms after the new process answered`);
      const [evento] = inbox.of(sujeto);
      assertCloudEvent(evento!, {
        type: 'servicios.usuarios.v1.usuario.creado',
        subject: sujeto,
        source: evento!.source,
      });
      const admin = api.as((await login(api, ADMIN.email, ADMIN.password)).access);
      assert.deepEqual(evento!.data, expectStatus(await admin.get(`/api/usuarios/${creado.id}/`), 200).body);
      await waitUntil(
        async () => (await db.query('SELECT count(*)::int AS n FROM usuarios_outbox')).rows[0]?.n === 0,
        10_000,
        'an empty outbox',
      );
    } finally {
      for (const hijo of hijos) await hijo.kill();
      await db.drop().catch(() => undefined);
    }
  });

  test("servicio-reservas down for 60 s: the deactivation's cancellations are done within 10 s of its return", async (t) => {
    let usuarios: Suite | undefined;
    let reservas: RunningProcess | undefined;
    try {
      for (const topic of [TOPIC_USUARIOS, TOPIC_RESERVAS, 'usuarios-dlq']) await emulator.createTopic(topic);
      usuarios = await startUsuarios('events_outage', emulatorEnv(emulator));
      const env = {
        DATABASE_URL: usuarios.db.url,
        JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
        USUARIOS_URL: usuarios.url,
        PUBSUB_EMULATOR_HOST: emulator.host,
        GOOGLE_CLOUD_PROJECT: emulator.project,
      };
      await migrateDatabase(loadConfig(env, { service: servicio.name }).database, servicio.migrations);
      const port = await freePort();
      reservas = await arrancar('reservas', port, env);
      // The emulator's exception is announced at start.
      assert.ok(
        reservas.lines.some((l) => /"severity":"WARN/.test(l) && l.includes('PUBSUB_EMULATOR_HOST')),
        `no warning at start:\n${reservas.lines.join('\n')}`,
      );
      // Pub/Sub keeps pushing for a minute: the dead-letter policy must not give up first.
      await emulator.createSubscription('reservas-push', {
        topic: TOPIC_USUARIOS,
        pushEndpoint: `http://127.0.0.1:${port}${PUSH_PATH}`,
        ordering: true,
        deadLetterTopic: 'usuarios-dlq',
        maxDeliveryAttempts: 100,
      });
      const api = client(`http://127.0.0.1:${port}`, usuarios.api.token);
      const titular = expectStatus(await usuarios.api.post('/api/usuarios/', nuevoUsuario()), 201).body
        .id as number;
      const pendiente = expectStatus(await api.post('/api/reservas/', reservaPara(titular)), 201).body
        .id as number;
      const confirmada = expectStatus(await api.post('/api/reservas/', reservaPara(titular)), 201).body
        .id as number;
      expectStatus(await api.post(`/api/reservas/${confirmada}/confirmar/`), 200);
      const estados = async () =>
        (
          await usuarios!.db.query<{ estado: string }>(
            'SELECT estado FROM reservas_reserva WHERE id = ANY($1) ORDER BY id',
            [[pendiente, confirmada]],
          )
        ).rows.map((r) => r.estado);

      await matar(reservas);
      expectStatus(await usuarios.api.post(`/api/usuarios/${titular}/desactivar/`), 200);
      await sleep(60_000);
      assert.deepEqual(
        await estados(),
        ['pendiente', 'confirmada'],
        'nobody consumed the event while it was down',
      );

      reservas = await arrancar('reservas', port, env);
      const vuelta = Date.now();
      while ((await estados()).some((e) => e !== 'cancelada')) {
        assert.ok(
          Date.now() - vuelta < 10_000,
          `not cancelled within 10 s of the restart: ${await estados()}`,
        );
        await sleep(100);
      }
      t.diagnostic(`cancelled ${Date.now() - vuelta} ms after servicio-reservas answered again`);
    } finally {
      await reservas?.kill();
      await usuarios?.close();
    }
  });
});
