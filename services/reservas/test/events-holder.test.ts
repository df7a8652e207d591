// CONTRACT §6, "creating for someone else": when staff create a reservation for, or change one to, a
// usuario_id other than their own, servicio-reservas asks servicio-usuarios: a missing or inactive user
// is a 400 {"usuario_id": ["El usuario no existe o no está activo."]} (with the body's other field
// errors); an update that leaves usuario_id as it is checks nothing; when servicio-usuarios cannot say
// (unreachable, or no answer in 2 s) → 503 with Retry-After, and nothing is written.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type ApiResponse, client, type RunningService, startService } from '@servicios/testing';
import { freePort } from '../../../test/delivery/support.ts';
import type { Usuario } from '../../usuarios/test/support.ts';
import { buildApp, servicio } from '../src/app.ts';
import {
  enDias,
  expectStatus,
  reservaPara,
  type Stack,
  startStack,
  TITULAR_INVALIDO,
} from './events-support.ts';

let stack: Stack;
let sinRespuesta: net.Server;
const colgadas = new Set<net.Socket>();
/** servicio-reservas instances on the same database whose USUARIOS_URL cannot answer. */
let inalcanzable: RunningService;
let muda: RunningService;
let empleado: Usuario & { reservas: ReturnType<typeof client> };
let activo: number;
let otroActivo: number;
let inactivo: number;
const INEXISTENTE = 987_654_321;

before(async () => {
  stack = await startStack('events_holder');
  // Accepts connections and never answers: only the 2 s time-out can tell.
  sinRespuesta = net.createServer((socket) => {
    colgadas.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => colgadas.delete(socket));
  });
  await new Promise<void>((resolve) => sinRespuesta.listen(0, '127.0.0.1', resolve));
  const conUsuarios = async (url: string) =>
    startService(servicio, buildApp, {
      DATABASE_URL: stack.usuarios.db.url,
      JWT_JWKS_URL: `${stack.usuarios.url}/.well-known/jwks.json`,
      USUARIOS_URL: url,
    });
  inalcanzable = await conUsuarios(`http://127.0.0.1:${await freePort()}`);
  muda = await conUsuarios(`http://127.0.0.1:${(sinRespuesta.address() as net.AddressInfo).port}`);
  empleado = await stack.como('empleado');
  const crear = async () =>
    expectStatus(await stack.usuarios.api.post('/api/usuarios/', nuevo()), 201).body.id as number;
  const nuevo = () => ({
    email: `h-${Math.random().toString(36).slice(2)}@example.com`,
    nombre: 'Ana',
    apellido: 'Pérez',
    password: 'Reserva-2026-ventana',
  });
  activo = await crear();
  otroActivo = await crear();
  inactivo = await crear();
  expectStatus(await stack.usuarios.api.post(`/api/usuarios/${inactivo}/desactivar/`), 200);
});

after(async () => {
  for (const socket of colgadas) socket.destroy();
  await new Promise((resolve) => sinRespuesta?.close(resolve));
  await inalcanzable?.close();
  await muda?.close();
  await stack?.close();
});

const filas = async () =>
  Number((await stack.usuarios.db.query('SELECT count(*)::int AS n FROM reservas_reserva')).rows[0]?.n);

function titularInvalido(res: ApiResponse, label: string) {
  assert.equal(res.status, 400, `${label}: ${res.status} ${res.text}`);
  assert.deepEqual(res.body, TITULAR_INVALIDO, label);
}

function noDisponible(res: ApiResponse, label: string) {
  assert.equal(res.status, 503, `${label}: ${res.status} ${res.text}`);
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/, `${label}: Retry-After`);
  assert.equal(typeof res.body?.detail, 'string', label);
}

test('staff creating for a missing or inactive user get the 400, for an active one a 201', async () => {
  const antes = await filas();
  for (const [quien, api] of [
    ['empleado', empleado.reservas],
    ['administrador', stack.api],
  ] as const) {
    titularInvalido(await api.post('/api/reservas/', reservaPara(INEXISTENTE)), `${quien}, missing user`);
    titularInvalido(await api.post('/api/reservas/', reservaPara(inactivo)), `${quien}, inactive user`);
    // With other field errors: all reported at once.
    const varios = await api.post(
      '/api/reservas/',
      reservaPara(INEXISTENTE, { numero_personas: 0, fecha_reserva: enDias(-1) }),
    );
    assert.equal(varios.status, 400, varios.text);
    assert.deepEqual(Object.keys(varios.body).sort(), ['fecha_reserva', 'numero_personas', 'usuario_id']);
    assert.deepEqual(varios.body.usuario_id, TITULAR_INVALIDO.usuario_id);
  }
  assert.equal(await filas(), antes, 'nothing written');
  const creada = expectStatus(await empleado.reservas.post('/api/reservas/', reservaPara(activo)), 201);
  assert.equal(creada.body.usuario_id, activo);
  const deOtroRol = expectStatus(await stack.api.post('/api/reservas/', reservaPara(empleado.id)), 201);
  assert.equal(deOtroRol.body.usuario_id, empleado.id);
});

test('PUT/PATCH changing usuario_id is checked; keeping it checks nothing', async () => {
  const reserva = expectStatus(await stack.api.post('/api/reservas/', reservaPara(activo)), 201).body;
  const ruta = `/api/reservas/${reserva.id}/`;
  titularInvalido(
    await empleado.reservas.patch(ruta, { usuario_id: INEXISTENTE }),
    'PATCH to a missing user',
  );
  titularInvalido(await stack.api.patch(ruta, { usuario_id: inactivo }), 'PATCH to an inactive user');
  titularInvalido(await empleado.reservas.put(ruta, reservaPara(inactivo)), 'PUT to an inactive user');
  const varios = await stack.api.put(ruta, reservaPara(INEXISTENTE, { numero_personas: 51 }));
  assert.equal(varios.status, 400, varios.text);
  assert.deepEqual(varios.body, { ...TITULAR_INVALIDO, numero_personas: varios.body.numero_personas });
  assert.ok(Array.isArray(varios.body.numero_personas));
  assert.deepEqual(expectStatus(await stack.api.get(ruta), 200).body, reserva, 'unchanged');

  const movida = expectStatus(await empleado.reservas.patch(ruta, { usuario_id: otroActivo }), 200);
  assert.equal(movida.body.usuario_id, otroActivo);
  const devuelta = expectStatus(await stack.api.put(ruta, reservaPara(activo, { notas: 'vuelta' })), 200);
  assert.equal(devuelta.body.usuario_id, activo);

  // servicio-usuarios unreachable: an update that keeps the holder (named or not) still succeeds.
  const sinUsuarios = client(inalcanzable.url);
  const comoEmpleado = sinUsuarios.as(empleado.api.token);
  const comoAdmin = sinUsuarios.as(stack.usuarios.api.token);
  expectStatus(
    await comoEmpleado.patch(ruta, { usuario_id: activo, notas: 'mismo titular' }),
    200,
    'PATCH same holder',
  );
  expectStatus(await comoAdmin.patch(ruta, { numero_personas: 3 }), 200, 'PATCH without usuario_id');
  const put = expectStatus(
    await comoAdmin.put(ruta, reservaPara(activo, { numero_personas: 5 })),
    200,
    'PUT same holder',
  );
  assert.equal(put.body.usuario_id, activo);
  // …while a change of holder cannot be checked: 503, and the row stays as it was.
  const antes = expectStatus(await stack.api.get(ruta), 200).body;
  noDisponible(
    await comoEmpleado.patch(ruta, { usuario_id: otroActivo }),
    'PATCH to another holder, unreachable',
  );
  noDisponible(await comoAdmin.put(ruta, reservaPara(otroActivo)), 'PUT to another holder, unreachable');
  assert.deepEqual(expectStatus(await stack.api.get(ruta), 200).body, antes);
});

test("servicio-usuarios unreachable: 503 with Retry-After and no row; one's own reservations need no check", async () => {
  const sinUsuarios = client(inalcanzable.url);
  const antes = await filas();
  for (const [quien, token] of [
    ['empleado', empleado.api.token],
    ['administrador', stack.usuarios.api.token],
  ] as const) {
    noDisponible(
      await sinUsuarios.as(token).post('/api/reservas/', reservaPara(activo)),
      `${quien}, active user`,
    );
    noDisponible(
      await sinUsuarios.as(token).post('/api/reservas/', reservaPara(INEXISTENTE)),
      `${quien}, missing user`,
    );
  }
  assert.equal(await filas(), antes, 'no unchecked write');
  const propia = sinUsuarios.as(empleado.api.token);
  expectStatus(await propia.post('/api/reservas/', reservaPara(undefined)), 201, 'usuario_id omitted');
  expectStatus(await propia.post('/api/reservas/', reservaPara(empleado.id)), 201, 'usuario_id = own');
});

test('servicio-usuarios not answering: 503 after the 2 s time-out, never a write', async () => {
  const mudo = client(muda.url).as(empleado.api.token);
  const reserva = expectStatus(await stack.api.post('/api/reservas/', reservaPara(activo)), 201).body;
  const antes = await filas();
  for (const [label, request] of [
    ['POST for another user', () => mudo.post('/api/reservas/', reservaPara(activo))],
    ['PATCH to another holder', () => mudo.patch(`/api/reservas/${reserva.id}/`, { usuario_id: otroActivo })],
  ] as const) {
    const t0 = Date.now();
    const res = await request();
    noDisponible(res, label);
    assert.ok(Date.now() - t0 < 5000, `${label}: answered after ${Date.now() - t0} ms`);
  }
  assert.equal(await filas(), antes, 'no unchecked write');
  assert.deepEqual(expectStatus(await stack.api.get(`/api/reservas/${reserva.id}/`), 200).body, reserva);
});
