// The list `count` comes from counter tables kept by triggers (migration 0002), not from COUNT(*):
// these tests hold it to COUNT(*) in SQL after every kind of write, including writes that bypass
// the API (bulk SQL, multi-row updates, TRUNCATE) and concurrent ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enDias, nuevaReserva, reservaEn, servicioReservas } from './setup.ts';

const ctx = servicioReservas('reservas_conteo');

const ESTADOS = ['pendiente', 'confirmada', 'cancelada', 'completada'];
const DIA = 86_400_000;

/** Filters whose count goes through the counters, including partial and whole days at both ends. */
function filtros(): string[] {
  const base = Date.UTC(2031, 0, 10);
  const t = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
  const ranges = [
    '',
    `fecha_desde=2031-01-10`,
    `fecha_hasta=2031-01-12`,
    `fecha_desde=2031-01-10&fecha_hasta=2031-01-12`,
    `fecha_desde=${t(base + 13 * 3_600_000)}`,
    `fecha_hasta=${t(base + 2 * DIA + 5 * 3_600_000)}`,
    `fecha_desde=${t(base + 13 * 3_600_000)}&fecha_hasta=${t(base + 3 * DIA + 1)}`,
    `fecha_desde=${t(base + 13 * 3_600_000)}&fecha_hasta=${t(base + 20 * 3_600_000)}`,
    `fecha_desde=${t(base)}&fecha_hasta=${t(base + DIA)}`,
    `fecha_desde=${t(base - 1)}&fecha_hasta=${t(base + DIA - 1)}`,
    `fecha_desde=2031-01-11&fecha_hasta=2031-01-11`,
  ];
  return ranges.flatMap((r) => [r, ...ESTADOS.map((e) => (r ? `${r}&estado=${e}` : `estado=${e}`))]);
}

/** The count the API answers for a filter, and COUNT(*) of the same filter in SQL. */
async function comparar(query: string): Promise<void> {
  const res = await ctx.api.get(`/api/reservas/?page_size=1&${query}`);
  assert.equal(res.status, 200, `${query}: ${res.text}`);
  const params = new URLSearchParams(query);
  const conds: string[] = [];
  const values: unknown[] = [];
  const estado = params.get('estado');
  if (estado) conds.push(`estado = $${values.push(estado)}`);
  const desde = params.get('fecha_desde');
  if (desde) {
    const v = /^\d{4}-\d{2}-\d{2}$/.test(desde) ? `${desde}T00:00:00Z` : desde;
    conds.push(`fecha_reserva >= $${values.push(v)}`);
  }
  const hasta = params.get('fecha_hasta');
  if (hasta) {
    const v = /^\d{4}-\d{2}-\d{2}$/.test(hasta) ? `${hasta}T23:59:59.999Z` : hasta;
    conds.push(`fecha_reserva <= $${values.push(v)}`);
  }
  const { rows } = await ctx.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM reservas_reserva ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''}`,
    values,
  );
  assert.equal(res.body.count, rows[0]!.n, `count for "${query}"`);
}

async function todoCuadra(): Promise<void> {
  for (const query of filtros()) await comparar(query);
  // The counter tables themselves, row by row.
  const { rows } = await ctx.db.query(
    `SELECT r.estado, r.dia, r.n, coalesce(c.n, 0)::bigint AS contado
       FROM (SELECT estado, (fecha_reserva AT TIME ZONE 'UTC')::date AS dia, count(*)::bigint AS n
               FROM reservas_reserva GROUP BY 1, 2) r
       FULL JOIN reservas_conteo_dia c USING (estado, dia)
      WHERE coalesce(r.n, 0) <> coalesce(c.n, 0)`,
  );
  assert.deepEqual(rows, []);
  const total = await ctx.db.query(
    `SELECT estado FROM (SELECT estado, count(*) AS n FROM reservas_reserva GROUP BY 1) r
       FULL JOIN (SELECT estado, sum(n) AS n FROM reservas_conteo_total GROUP BY 1) c USING (estado)
      WHERE coalesce(r.n, 0) <> coalesce(c.n, 0)`,
  );
  assert.deepEqual(total.rows, []);
}

/** An instant on 2031-01-10 + `dias`, at `horas` UTC. */
const instante = (dias: number, horas: number) =>
  new Date(Date.UTC(2031, 0, 10) + dias * DIA + horas * 3_600_000).toISOString();

test('an empty table counts zero everywhere', async () => {
  await todoCuadra();
});

test('creations through the API, on day boundaries and inside days', async () => {
  for (const [dias, horas] of [
    [0, 0],
    [0, 13],
    [0, 23.9999],
    [1, 0],
    [1, 12],
    [2, 4],
    [2, 5],
    [3, 0],
    [-1, 23.99],
  ] as const) {
    const res = await ctx.api.post('/api/reservas/', nuevaReserva({ fecha_reserva: instante(dias, horas) }));
    assert.equal(res.status, 201, res.text);
  }
  await todoCuadra();
});

test('state changes, date changes, edits and deletions', async () => {
  const a = await reservaEn(ctx.api, 'confirmada', { fecha_reserva: instante(1, 6) });
  const b = await reservaEn(ctx.api, 'completada', { fecha_reserva: instante(2, 6) });
  const c = await reservaEn(ctx.api, 'cancelada', { fecha_reserva: instante(0, 6) });
  await todoCuadra();
  // Moves a reservation to another day, then edits a field that moves no counter.
  let res = await ctx.api.patch(`/api/reservas/${a.id}/`, { fecha_reserva: instante(2, 23) });
  assert.equal(res.status, 200, res.text);
  res = await ctx.api.patch(`/api/reservas/${a.id}/`, { notas: 'sin cambio de contador' });
  assert.equal(res.status, 200, res.text);
  res = await ctx.api.put(`/api/reservas/${a.id}/`, nuevaReserva({ fecha_reserva: instante(0, 1) }));
  assert.equal(res.status, 200, res.text);
  await todoCuadra();
  for (const { id } of [a, b, c]) assert.equal((await ctx.api.delete(`/api/reservas/${id}/`)).status, 204);
  await todoCuadra();
});

test('writes that bypass the API: bulk insert, multi-row update, delete, truncate', async () => {
  await ctx.db.query(
    `INSERT INTO reservas_reserva (usuario_id, fecha_reserva, numero_personas, estado)
     SELECT 1 + g % 5, timestamptz '2031-01-09T00:00:00Z' + g * interval '47 minutes', 2,
            (ARRAY['pendiente','confirmada','cancelada','completada'])[1 + g % 4]
       FROM generate_series(1, 400) AS g`,
  );
  await todoCuadra();
  await ctx.db.query(
    `UPDATE reservas_reserva SET estado = 'cancelada', fecha_reserva = fecha_reserva + interval '5 hours'
      WHERE estado = 'pendiente' AND usuario_id IN (1, 2)`,
  );
  await ctx.db.query(`UPDATE reservas_reserva SET numero_personas = 3 WHERE usuario_id = 3`);
  await ctx.db.query(
    `UPDATE reservas_reserva SET id = id + 100000 WHERE usuario_id = 4 AND estado = 'completada'`,
  );
  await todoCuadra();
  await ctx.db.query(`DELETE FROM reservas_reserva WHERE usuario_id = 5`);
  await todoCuadra();
  // A transaction that rolls back leaves the counters as they were.
  await ctx.db.query(`BEGIN; DELETE FROM reservas_reserva; ROLLBACK;`).catch(() => undefined);
  await todoCuadra();
  await ctx.db.query('TRUNCATE reservas_reserva');
  await todoCuadra();
});

test('concurrent creations and racing transitions keep the counts exact', async () => {
  const creadas = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      ctx.api.post('/api/reservas/', nuevaReserva({ fecha_reserva: instante(i % 3, (i * 5) % 24) })),
    ),
  );
  assert.ok(creadas.every((r) => r.status === 201));
  const ids = creadas.map((r) => r.body.id as number);
  // Each reservation gets confirmar and cancelar at once; some of them also completar and DELETE.
  await Promise.all(
    ids.flatMap((id, i) => [
      ctx.api.post(`/api/reservas/${id}/confirmar/`),
      ctx.api.post(`/api/reservas/${id}/cancelar/`),
      ...(i % 3 === 0 ? [ctx.api.post(`/api/reservas/${id}/completar/`)] : []),
      ...(i % 5 === 0 ? [ctx.api.delete(`/api/reservas/${id}/`)] : []),
      ...(i % 4 === 0 ? [ctx.api.patch(`/api/reservas/${id}/`, { fecha_reserva: enDias(400) })] : []),
    ]),
  );
  await todoCuadra();
});
