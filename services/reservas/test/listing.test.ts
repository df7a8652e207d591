// CONTRACT §3 list filters (estado, usuario_id, inclusive fecha_desde/fecha_hasta), ordering, default
// order and 400s on invalid values, and §1 pagination (page size, links that keep the filters, 404 on
// invalid pages), as the administrador, who sees every reservation (§5.4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servicioReservas } from './setup.ts';

const ids: Record<string, number> = {};
/** Three real clientes of servicio-usuarios holding the reservations. */
const uno = { id: 0 };
const dos = { id: 0 };
const tres = { id: 0 };
const ctx = servicioReservas('reservas_listado', async (ctx) => {
  uno.id = await ctx.nuevoCliente();
  dos.id = await ctx.nuevoCliente();
  tres.id = await ctx.nuevoCliente();
  // Six reservations on known instants; three users; states set through the API.
  const plan = [
    { key: 'a', usuario_id: uno.id, fecha_reserva: '2031-03-01T00:00:00Z', numero_personas: 2 },
    { key: 'b', usuario_id: uno.id, fecha_reserva: '2031-03-01T12:00:00Z', numero_personas: 8 },
    { key: 'c', usuario_id: dos.id, fecha_reserva: '2031-03-01T23:59:59Z', numero_personas: 5 },
    { key: 'd', usuario_id: dos.id, fecha_reserva: '2031-03-02T00:00:00Z', numero_personas: 1 },
    { key: 'e', usuario_id: uno.id, fecha_reserva: '2031-03-05T10:00:00Z', numero_personas: 50 },
    { key: 'f', usuario_id: tres.id, fecha_reserva: '2031-02-28T23:59:59Z', numero_personas: 3 },
  ];
  for (const { key, ...reserva } of plan) {
    const res = await ctx.api.post('/api/reservas/', reserva);
    if (res.status !== 201) throw new Error(`seed ${key}: ${res.status} ${res.text}`);
    ids[key] = res.body.id;
  }
  await ctx.api.post(`/api/reservas/${ids.b}/confirmar/`);
  await ctx.api.post(`/api/reservas/${ids.c}/cancelar/`);
});

async function keys(query: string): Promise<string[]> {
  const res = await ctx.api.get(`/api/reservas/?page_size=100&${query}`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.count, res.body.results.length);
  const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
  return res.body.results.map((r: { id: number }) => byId[r.id]);
}

test('default order is newest first', async () => {
  assert.deepEqual(await keys(''), ['f', 'e', 'd', 'c', 'b', 'a']);
});

test('estado and usuario_id filters', async () => {
  assert.deepEqual(await keys('estado=confirmada'), ['b']);
  assert.deepEqual(await keys('estado=cancelada'), ['c']);
  assert.deepEqual(await keys('estado=completada'), []);
  assert.deepEqual(await keys(`usuario_id=${uno.id}`), ['e', 'b', 'a']);
  assert.deepEqual(await keys(`usuario_id=${dos.id}&estado=pendiente`), ['d']);
  assert.deepEqual(await keys(`usuario_id=${tres.id}`), ['f']);
});

test('fecha_desde and fecha_hasta are inclusive, with instants and with offsets', async () => {
  assert.deepEqual(await keys('fecha_desde=2031-03-01T00:00:00Z&fecha_hasta=2031-03-01T23:59:59Z'), [
    'c',
    'b',
    'a',
  ]);
  assert.deepEqual(await keys('fecha_desde=2031-03-01T12:00:00Z&fecha_hasta=2031-03-01T12:00:00Z'), ['b']);
  // 14:00+02:00 is 12:00Z: the same bound written with an offset.
  assert.deepEqual(
    await keys(
      `fecha_desde=${encodeURIComponent('2031-03-01T14:00:00+02:00')}&fecha_hasta=2031-03-02T00:00:00Z`,
    ),
    ['d', 'c', 'b'],
  );
  assert.deepEqual(await keys('fecha_desde=2031-03-02T00:00:00.001Z'), ['e']);
});

test('a bare date as a bound covers the whole UTC day', async () => {
  assert.deepEqual(await keys('fecha_desde=2031-03-01&fecha_hasta=2031-03-01'), ['c', 'b', 'a']);
  assert.deepEqual(await keys('fecha_hasta=2031-02-28'), ['f']);
});

test('ordering by each allowed field, ascending and descending', async () => {
  assert.deepEqual(await keys('ordering=fecha_reserva'), ['f', 'a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(await keys('ordering=-fecha_reserva'), ['e', 'd', 'c', 'b', 'a', 'f']);
  assert.deepEqual(await keys('ordering=numero_personas'), ['d', 'a', 'f', 'c', 'b', 'e']);
  assert.deepEqual(await keys('ordering=-numero_personas'), ['e', 'b', 'c', 'f', 'a', 'd']);
  assert.deepEqual(await keys('ordering=fecha_creacion'), ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('an invalid filter value is a 400 on that parameter, all of them at once', async () => {
  const res = await ctx.api.get(
    '/api/reservas/?estado=perdida&usuario_id=0&fecha_desde=ayer&fecha_hasta=2031-13-01&ordering=id',
  );
  assert.equal(res.status, 400);
  assert.deepEqual(Object.keys(res.body).sort(), [
    'estado',
    'fecha_desde',
    'fecha_hasta',
    'ordering',
    'usuario_id',
  ]);
  for (const messages of Object.values(res.body)) assert.ok(Array.isArray(messages) && messages.length > 0);
});

test('pagination: page size, links that keep the filters, invalid pages', async () => {
  const first = await ctx.api.get(`/api/reservas/?usuario_id=${uno.id}&page_size=2`);
  assert.equal(first.body.count, 3);
  assert.equal(first.body.results.length, 2);
  assert.equal(first.body.previous, null);
  const next = new URL(first.body.next);
  assert.equal(next.searchParams.get('usuario_id'), String(uno.id));
  assert.equal(next.searchParams.get('page'), '2');
  const second = await ctx.api.get(`${next.pathname}${next.search}`);
  assert.equal(second.body.results.length, 1);
  assert.equal(second.body.next, null);
  assert.equal(new URL(second.body.previous).searchParams.has('page'), false);
  for (const page of ['3', '0', 'abc']) {
    const res = await ctx.api.get(`/api/reservas/?usuario_id=${uno.id}&page_size=2&page=${page}`);
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { detail: 'Página inválida.' });
  }
});
