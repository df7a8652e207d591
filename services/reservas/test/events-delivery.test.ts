// CONTRACT §6, the events' table: every change of servicio-usuarios and servicio-reservas reaches its
// topic on the official Pub/Sub emulator as a binary-mode CloudEvent (exact attributes, ordering key =
// ce-subject), carrying the resource exactly as GET shows it right after the change (never a password
// or its hash; `motivo` on a cancellation), in the order of the changes. And "nothing lost": a change
// that rolls back (duplicate e-mail, last administrador, a closed reservation) publishes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ApiResponse, login, type PubSubEmulator, startPubSubEmulator } from '@servicios/testing';
import { nuevoUsuario, PASSWORD } from '../../usuarios/test/support.ts';
import {
  assertCloudEvent,
  assertSource,
  emulatorEnv,
  expectStatus,
  Inbox,
  reservaPara,
  type Stack,
  startStack,
  TOPIC_RESERVAS,
  TOPIC_USUARIOS,
} from './events-support.ts';

let emulator: PubSubEmulator;
let stack: Stack;
let usuariosInbox: Inbox;
let reservasInbox: Inbox;

before(async () => {
  emulator = await startPubSubEmulator();
  for (const topic of [TOPIC_USUARIOS, TOPIC_RESERVAS]) await emulator.createTopic(topic);
  await emulator.createSubscription('todo-usuarios', { topic: TOPIC_USUARIOS, ordering: true });
  await emulator.createSubscription('todo-reservas', { topic: TOPIC_RESERVAS, ordering: true });
  usuariosInbox = new Inbox(emulator, 'todo-usuarios');
  reservasInbox = new Inbox(emulator, 'todo-reservas');
  stack = await startStack('events_delivery', emulatorEnv(emulator));
});

after(async () => {
  await stack?.close();
  await emulator?.stop();
});

interface Expected {
  type: string;
  data: Record<string, unknown>;
  after: number;
  before: number;
}

/** The changes made to each subject, with the resource as GET showed it right after each. */
class Changes {
  readonly bySubject = new Map<string, Expected[]>();

  constructor(
    private readonly prefix: string,
    private readonly read: (id: number) => Promise<ApiResponse>,
  ) {}

  /**
   * Makes a change, expects `status`, and records the event it must produce. `id` undefined: a creation,
   * whose answer names it; `gone`: a deletion, whose event carries the last state (read before).
   */
  async record(
    id: number | undefined,
    type: string,
    status: number,
    change: () => Promise<ApiResponse>,
    options: { extra?: Record<string, unknown>; gone?: boolean } = {},
  ): Promise<number> {
    const last = options.gone && id ? expectStatus(await this.read(id), 200).body : undefined;
    const t0 = Date.now();
    const res = expectStatus(await change(), status, `${type} of ${id}`);
    const t1 = Date.now();
    const target = id ?? (res.body.id as number);
    const data = last ?? expectStatus(await this.read(target), 200).body;
    // A creation answers the resource as GET shows it.
    if (id === undefined) assert.deepEqual(res.body, data, `${type}: answer and GET`);
    const subject = `${this.prefix}/${target}`;
    const list = this.bySubject.get(subject) ?? [];
    list.push({ type, data: { ...data, ...options.extra }, after: t0, before: t1 });
    this.bySubject.set(subject, list);
    return target;
  }

  /** Every subject's events, once the last of each arrived: exactly the changes, in order. */
  async check(inbox: Inbox, secrets: string[] = []): Promise<string> {
    await inbox.waitFor(
      () => [...this.bySubject].every(([subject, list]) => inbox.of(subject).length >= list.length),
      `the events of ${[...this.bySubject.keys()].join(', ')}`,
    );
    const source = inbox.events[0]!.source;
    assertSource(source);
    for (const [subject, list] of this.bySubject) {
      const events = inbox.of(subject);
      assert.deepEqual(
        events.map((e) => e.type),
        list.map((e) => e.type),
        `${subject}: the events, in the order of the changes`,
      );
      events.forEach((event, i) => {
        const expected = list[i]!;
        assertCloudEvent(event, { ...expected, subject, source });
        assert.deepEqual(event.data, expected.data, `${subject} ${event.type}: data`);
        for (const secret of [...secrets, '$argon2', '"password"']) {
          assert.ok(!event.raw.includes(secret), `${subject} ${event.type} carries ${secret}`);
        }
      });
    }
    const ids = inbox.events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'ce-id is unique');
    return source;
  }
}

let usuariosSource: string;

test('every change of a usuario is published to usuarios-eventos with the user as GET shows it', async () => {
  const { usuarios } = stack;
  const changes = new Changes('usuarios', (id) => usuarios.api.get(`/api/usuarios/${id}/`));
  const t = 'servicios.usuarios.v1.usuario.';

  // Self-registration, then the user's own edit, the administrador's actions and a password change.
  const body = nuevoUsuario({ telefono: '+34 600 000 000' });
  const id = await changes.record(undefined, `${t}creado`, 201, () =>
    usuarios.anon.post('/api/usuarios/', body),
  );
  const propio = usuarios.anon.as((await login(usuarios.anon, String(body.email), PASSWORD)).access);
  await changes.record(id, `${t}actualizado`, 200, () =>
    propio.patch(`/api/usuarios/${id}/`, { nombre: 'Áurea' }),
  );
  await changes.record(id, `${t}actualizado`, 200, () =>
    usuarios.api.put(`/api/usuarios/${id}/`, { ...body, nombre: 'Berta', apellido: 'Núñez', telefono: '' }),
  );
  await changes.record(id, `${t}desactivado`, 200, () =>
    usuarios.api.post(`/api/usuarios/${id}/desactivar/`),
  );
  await changes.record(id, `${t}activado`, 200, () => usuarios.api.post(`/api/usuarios/${id}/activar/`));
  const nueva = 'Otra-clave-de-prueba-2026';
  await changes.record(id, `${t}password_cambiado`, 204, () =>
    usuarios.api.post(`/api/usuarios/${id}/password/`, { password: nueva }),
  );
  await changes.record(id, `${t}desactivado`, 204, () => usuarios.api.delete(`/api/usuarios/${id}/`));

  // A user the administrador creates, of another role.
  const empleado = nuevoUsuario({ tipo_usuario: 'empleado' });
  await changes.record(undefined, `${t}creado`, 201, () => usuarios.api.post('/api/usuarios/', empleado));

  usuariosSource = await changes.check(usuariosInbox, [PASSWORD, nueva, String(empleado.password)]);
});

test('every change of a reserva is published to reservas-eventos, cancelada with its motivo', async () => {
  const cliente = await stack.como('cliente');
  const empleado = await stack.como('empleado');
  const admin = stack.api;
  const changes = new Changes('reservas', (id) => admin.get(`/api/reservas/${id}/`));
  const t = 'servicios.reservas.v1.reserva.';
  const crear = (api: typeof admin, usuarioId?: number) =>
    changes.record(undefined, `${t}creada`, 201, () => api.post('/api/reservas/', reservaPara(usuarioId)));

  const r1 = await crear(cliente.reservas);
  const r2 = await crear(empleado.reservas, cliente.id);
  const r3 = await crear(admin, cliente.id);
  const r4 = await crear(empleado.reservas);
  await changes.record(r1, `${t}actualizada`, 200, () =>
    cliente.reservas.patch(`/api/reservas/${r1}/`, { notas: 'ventana' }),
  );
  await changes.record(r1, `${t}actualizada`, 200, () =>
    admin.put(`/api/reservas/${r1}/`, reservaPara(cliente.id, { numero_personas: 6, notas: '' })),
  );
  await changes.record(r1, `${t}confirmada`, 200, () =>
    empleado.reservas.post(`/api/reservas/${r1}/confirmar/`),
  );
  // The holder cancels: "usuario"; staff cancel someone else's: "personal"; staff their own: "usuario".
  await changes.record(
    r1,
    `${t}cancelada`,
    200,
    () => cliente.reservas.post(`/api/reservas/${r1}/cancelar/`),
    {
      extra: { motivo: 'usuario' },
    },
  );
  await changes.record(
    r2,
    `${t}cancelada`,
    200,
    () => empleado.reservas.post(`/api/reservas/${r2}/cancelar/`),
    {
      extra: { motivo: 'personal' },
    },
  );
  await changes.record(
    r4,
    `${t}cancelada`,
    200,
    () => empleado.reservas.post(`/api/reservas/${r4}/cancelar/`),
    {
      extra: { motivo: 'usuario' },
    },
  );
  await changes.record(r3, `${t}confirmada`, 200, () => admin.post(`/api/reservas/${r3}/confirmar/`));
  await changes.record(r3, `${t}completada`, 200, () => admin.post(`/api/reservas/${r3}/completar/`));
  await changes.record(r3, `${t}eliminada`, 204, () => admin.delete(`/api/reservas/${r3}/`), { gone: true });

  const source = await changes.check(reservasInbox);
  if (usuariosSource) assert.notEqual(source, usuariosSource, 'each service has its own ce-source');
});

test('a change that rolls back publishes nothing; the next change of the subject is published', async () => {
  const { usuarios } = stack;
  const t = 'servicios.usuarios.v1.usuario.';
  // A duplicate e-mail, at registration (any case) and on update.
  const a = await usuarios.usuario('cliente');
  const b = await usuarios.usuario('cliente');
  for (const res of [
    await usuarios.anon.post('/api/usuarios/', nuevoUsuario({ email: a.email.toUpperCase() })),
    await usuarios.api.post('/api/usuarios/', nuevoUsuario({ email: a.email })),
    await usuarios.api.patch(`/api/usuarios/${b.id}/`, { email: a.email }),
  ]) {
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.body, { email: ['Email ya existe'] });
  }
  // The last active administrador: 409 for each way of removing them.
  const adminId = usuarios.admin.id;
  for (const res of [
    await usuarios.api.post(`/api/usuarios/${adminId}/desactivar/`),
    await usuarios.api.delete(`/api/usuarios/${adminId}/`),
    await usuarios.api.patch(`/api/usuarios/${adminId}/`, { tipo_usuario: 'cliente' }),
  ]) {
    assert.equal(res.status, 409, res.text);
  }
  // A closed reservation refuses every change.
  const cliente = await stack.como('cliente');
  const reserva = expectStatus(await stack.api.post('/api/reservas/', reservaPara(cliente.id)), 201).body;
  expectStatus(await cliente.reservas.post(`/api/reservas/${reserva.id}/cancelar/`), 200);
  for (const res of [
    await stack.api.put(`/api/reservas/${reserva.id}/`, reservaPara(cliente.id, { numero_personas: 3 })),
    await stack.api.patch(`/api/reservas/${reserva.id}/`, { notas: 'tarde' }),
    await stack.api.post(`/api/reservas/${reserva.id}/confirmar/`),
    await stack.api.post(`/api/reservas/${reserva.id}/cancelar/`),
  ]) {
    assert.equal(res.status, 409, res.text);
  }

  // Successful changes of the same subjects: once their events are here, any earlier one would be too.
  expectStatus(await usuarios.api.patch(`/api/usuarios/${b.id}/`, { nombre: 'Bruno' }), 200);
  expectStatus(await usuarios.api.patch(`/api/usuarios/${adminId}/`, { telefono: '910000000' }), 200);
  expectStatus(await stack.api.delete(`/api/reservas/${reserva.id}/`), 204);
  const cambioDe = (subject: string, check: (e: { type: string; data: any }) => boolean) => () =>
    usuariosInbox.of(subject).some(check);
  await usuariosInbox.waitFor(
    () =>
      cambioDe(`usuarios/${b.id}`, (e) => e.data.nombre === 'Bruno')() &&
      cambioDe(`usuarios/${adminId}`, (e) => e.data.telefono === '910000000')(),
    'the successful changes of b and the administrador',
  );
  await reservasInbox.waitFor(
    () => reservasInbox.of(`reservas/${reserva.id}`).some((e) => e.type.endsWith('.eliminada')),
    'the deletion of the cancelled reserva',
  );

  assert.deepEqual(
    usuariosInbox.of(`usuarios/${b.id}`).map((e) => [e.type, e.data.email]),
    [
      [`${t}creado`, b.email],
      [`${t}actualizado`, b.email],
    ],
  );
  const conEmailDeA = usuariosInbox.events.filter((e) => e.data?.email === a.email);
  assert.deepEqual(
    conEmailDeA.map((e) => [e.subject, e.type]),
    [[`usuarios/${a.id}`, `${t}creado`]],
    'the refused registrations and update published nothing',
  );
  const delAdmin = usuariosInbox.of(`usuarios/${adminId}`);
  assert.ok(
    delAdmin.every((e) => e.data.activo === true && e.data.tipo_usuario === 'administrador'),
    JSON.stringify(delAdmin.map((e) => [e.type, e.data.activo, e.data.tipo_usuario])),
  );
  assert.ok(!delAdmin.some((e) => e.type === `${t}desactivado`));
  assert.deepEqual(
    reservasInbox.of(`reservas/${reserva.id}`).map((e) => [e.type.split('.').at(-1), e.data.estado]),
    [
      ['creada', 'pendiente'],
      ['cancelada', 'cancelada'],
      ['eliminada', 'cancelada'],
    ],
  );
});
