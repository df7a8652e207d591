// CONTRACT §3 fields (required, optional, ranges, dates in the future), §1 numbers, strings, dates and
// validation errors (all at once, one key per field), and §5.4: usuario_id is optional (the caller on
// POST, unchanged on PUT) but an invalid value is still a 400.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { enDias, nuevaReserva, reservaEn, servicioReservas, sinCredenciales } from './setup.ts';

const ctx = servicioReservas('reservas_campos');

describe('POST /api/reservas/', () => {
  test('creates a pendiente reservation with defaults; read-only and unknown fields are ignored', async () => {
    const res = await ctx.api.post('/api/reservas/', {
      ...nuevaReserva(),
      id: 999,
      estado: 'completada',
      fecha_creacion: '2000-01-01T00:00:00Z',
      desconocido: 'x',
    });
    assert.equal(res.status, 201);
    assert.notEqual(res.body.id, 999);
    assert.equal(res.body.estado, 'pendiente');
    assert.equal(res.body.notas, '');
    assert.equal(res.body.desconocido, undefined);
    assert.notEqual(res.body.fecha_creacion, '2000-01-01T00:00:00Z');
    assert.deepEqual(Object.keys(res.body).sort(), [
      'estado',
      'fecha_actualizacion',
      'fecha_creacion',
      'fecha_reserva',
      'id',
      'notas',
      'numero_personas',
      'usuario_id',
    ]);
    assert.deepEqual((await ctx.api.get(`/api/reservas/${res.body.id}/`)).body, res.body);
  });

  test('every missing required field is reported at once (usuario_id is optional)', async () => {
    const res = await ctx.api.post('/api/reservas/', {});
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      fecha_reserva: ['Este campo es requerido.'],
      numero_personas: ['Este campo es requerido.'],
    });
  });

  test('integers accept digit strings, refuse 1.5, "abc", true, null and out-of-range values', async () => {
    const digits = await ctx.api.post(
      '/api/reservas/',
      nuevaReserva({ usuario_id: String(ctx.cliente.id), numero_personas: '3' }),
    );
    assert.equal(digits.status, 201, digits.text);
    assert.equal(digits.body.usuario_id, ctx.cliente.id);
    assert.equal(digits.body.numero_personas, 3);
    for (const bad of [1.5, 'abc', true, null, 0, 51, -1, '4.5', [], {}]) {
      const res = await ctx.api.post('/api/reservas/', nuevaReserva({ numero_personas: bad }));
      assert.equal(res.status, 400, `numero_personas=${JSON.stringify(bad)}`);
      assert.deepEqual(Object.keys(res.body), ['numero_personas']);
    }
    for (const bad of [0, -3, 'x', true, null, 2.5]) {
      const res = await ctx.api.post('/api/reservas/', nuevaReserva({ usuario_id: bad }));
      assert.equal(res.status, 400, `usuario_id=${JSON.stringify(bad)}`);
      assert.deepEqual(Object.keys(res.body), ['usuario_id']);
    }
  });

  test('numero_personas bounds 1 and 50 are accepted', async () => {
    for (const n of [1, 50]) {
      assert.equal((await ctx.api.post('/api/reservas/', nuevaReserva({ numero_personas: n }))).status, 201);
    }
  });

  test('notas: trimmed, at most 500 characters (not bytes), any Unicode returned exactly', async () => {
    const notas = `${'ñ'.repeat(250)}${'🎉'.repeat(250)}`;
    const ok = await ctx.api.post('/api/reservas/', nuevaReserva({ notas: `  ${notas}  ` }));
    assert.equal(ok.status, 201);
    assert.equal(ok.body.notas, notas);
    const tooLong = await ctx.api.post('/api/reservas/', nuevaReserva({ notas: 'a'.repeat(501) }));
    assert.equal(tooLong.status, 400);
    assert.ok(tooLong.body.notas);
    const sqlish = "'); DROP TABLE reservas_reserva; --";
    const stored = await ctx.api.post('/api/reservas/', nuevaReserva({ notas: sqlish }));
    assert.equal(stored.body.notas, sqlish);
    const row = await ctx.db.query('SELECT notas FROM reservas_reserva WHERE id = $1', [stored.body.id]);
    assert.equal(row.rows[0]?.notas, sqlish);
  });
});

describe('fecha_reserva', () => {
  test('with an offset it is stored as the same instant and returned in UTC with Z', async () => {
    const res = await ctx.api.post(
      '/api/reservas/',
      nuevaReserva({ fecha_reserva: '2031-12-24T20:30:00+02:00' }),
    );
    assert.equal(res.status, 201);
    assert.equal(new Date(res.body.fecha_reserva).toISOString(), '2031-12-24T18:30:00.000Z');
    assert.match(res.body.fecha_reserva, /Z$/);
  });

  test('without an offset it is taken as UTC', async () => {
    const res = await ctx.api.post('/api/reservas/', nuevaReserva({ fecha_reserva: '2031-12-24T20:30:00' }));
    assert.equal(new Date(res.body.fecha_reserva).toISOString(), '2031-12-24T20:30:00.000Z');
  });

  test('in the past, or now, is a 400 on fecha_reserva, reported with the other fields', async () => {
    const res = await ctx.api.post(
      '/api/reservas/',
      nuevaReserva({ fecha_reserva: enDias(-1), numero_personas: 0 }),
    );
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ['fecha_reserva', 'numero_personas']);
  });

  test('anything but an ISO 8601 date-time is a 400 on fecha_reserva', async () => {
    for (const bad of [
      'mañana',
      '2031-02-30T10:00:00Z',
      '2031-12-24',
      '24/12/2031 20:30',
      '2031-12-24T25:00:00Z',
      1234567890,
      null,
    ]) {
      const res = await ctx.api.post('/api/reservas/', nuevaReserva({ fecha_reserva: bad }));
      assert.equal(res.status, 400, `fecha_reserva=${JSON.stringify(bad)}`);
      assert.deepEqual(Object.keys(res.body), ['fecha_reserva']);
    }
  });

  test('an update that changes it to the past is refused; one that keeps a stored past date is not', async () => {
    const reserva = await reservaEn(ctx.api, 'pendiente');
    const past = enDias(-2);
    const changed = await ctx.api.patch(`/api/reservas/${reserva.id}/`, { fecha_reserva: past });
    assert.equal(changed.status, 400);
    assert.ok(changed.body.fecha_reserva);
    // A reservation whose date has passed can still be edited if the date is resent unchanged.
    await ctx.db.query('UPDATE reservas_reserva SET fecha_reserva = $2 WHERE id = $1', [reserva.id, past]);
    const kept = await ctx.api.put(`/api/reservas/${reserva.id}/`, {
      usuario_id: reserva.usuario_id,
      fecha_reserva: past,
      numero_personas: 2,
    });
    assert.equal(kept.status, 200);
    assert.equal(kept.body.numero_personas, 2);
    assert.equal(new Date(kept.body.fecha_reserva).getTime(), new Date(past).getTime());
  });
});

describe('PUT and PATCH', () => {
  test('PUT needs every required field but usuario_id, which stays; PATCH changes only what is given', async () => {
    const reserva = await reservaEn(ctx.api, 'pendiente', { notas: 'ventana' });
    const put = await ctx.api.put(`/api/reservas/${reserva.id}/`, { numero_personas: 3 });
    assert.equal(put.status, 400);
    assert.deepEqual(Object.keys(put.body).sort(), ['fecha_reserva']);
    const whole = await ctx.api.put(`/api/reservas/${reserva.id}/`, {
      fecha_reserva: reserva.fecha_reserva,
      numero_personas: 5,
      notas: 'ventana',
    });
    assert.equal(whole.status, 200, whole.text);
    assert.equal(whole.body.usuario_id, reserva.usuario_id);
    assert.equal(whole.body.numero_personas, 5);
    const patch = await ctx.api.patch(`/api/reservas/${reserva.id}/`, { numero_personas: 3 });
    assert.equal(patch.status, 200);
    assert.equal(patch.body.numero_personas, 3);
    assert.equal(patch.body.notas, 'ventana');
    assert.equal(patch.body.usuario_id, reserva.usuario_id);
    assert.ok(new Date(patch.body.fecha_actualizacion) > new Date(reserva.fecha_actualizacion));
  });

  test('validation errors on update leave the row untouched', async () => {
    const reserva = await reservaEn(ctx.api, 'confirmada');
    const res = await ctx.api.patch(`/api/reservas/${reserva.id}/`, { numero_personas: 99, notas: 'x' });
    assert.equal(res.status, 400);
    assert.deepEqual((await ctx.api.get(`/api/reservas/${reserva.id}/`)).body, reserva);
  });

  test('PUT/PATCH on a missing or malformed id is 404 with a token, 401 without', async () => {
    assert.equal((await ctx.api.patch('/api/reservas/999999/', { notas: 'x' })).status, 404);
    assert.equal((await ctx.api.patch('/api/reservas/0/', { notas: 'x' })).status, 404);
    assert.equal((await ctx.api.patch('/api/reservas/999999/', { fecha_reserva: enDias(-1) })).status, 404);
    // Authentication comes first, whatever the id (CONTRACT §5.3).
    for (const id of ['999999', '0', 'abc']) {
      sinCredenciales(await ctx.anon.patch(`/api/reservas/${id}/`, { notas: 'x' }), `PATCH ${id}`);
      sinCredenciales(await ctx.anon.put(`/api/reservas/${id}/`, nuevaReserva()), `PUT ${id}`);
    }
  });
});

describe('found by review', () => {
  test('a changed past date is reported together with the other invalid fields on update', async () => {
    const reserva = await reservaEn(ctx.api, 'pendiente');
    const res = await ctx.api.patch(`/api/reservas/${reserva.id}/`, {
      fecha_reserva: enDias(-3),
      numero_personas: 99,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ['fecha_reserva', 'numero_personas']);
  });

  test('an invalid body on a missing reservation is 404 with a token, 401 without', async () => {
    assert.equal((await ctx.api.put('/api/reservas/999999/', {})).status, 404);
    assert.equal((await ctx.api.patch('/api/reservas/999999/', { numero_personas: 0 })).status, 404);
    sinCredenciales(await ctx.anon.put('/api/reservas/999999/', {}), 'PUT');
    sinCredenciales(await ctx.anon.patch('/api/reservas/999999/', { numero_personas: 0 }), 'PATCH');
  });

  test('dates that an offset pushes past year 9999 are a 400, in bodies and filters', async () => {
    const late = '9999-12-31T23:59:59.999999999-14:00';
    const created = await ctx.api.post('/api/reservas/', nuevaReserva({ fecha_reserva: late }));
    assert.equal(created.status, 400);
    assert.deepEqual(Object.keys(created.body), ['fecha_reserva']);
    for (const filter of ['fecha_desde', 'fecha_hasta']) {
      const res = await ctx.api.get(`/api/reservas/?${filter}=${encodeURIComponent(late)}`);
      assert.equal(res.status, 400, filter);
      assert.deepEqual(Object.keys(res.body), [filter]);
    }
  });

  test('a partial last day of year 9999 as fecha_desde is counted, not a 500', async () => {
    for (const query of [
      'fecha_desde=9999-12-31T12:00:00Z',
      'fecha_desde=9999-12-31T00:00:00.001Z&estado=pendiente',
    ]) {
      const res = await ctx.api.get(`/api/reservas/?${query}`);
      assert.equal(res.status, 200, query);
      assert.equal(res.body.count, 0, query);
    }
  });

  test('a lower bound with microseconds does not include the millisecond before it', async () => {
    // A holder of its own, so that the other tests' reservations stay out of the count.
    const titular = await ctx.nuevoCliente();
    const created = await ctx.api.post(
      '/api/reservas/',
      nuevaReserva({ usuario_id: titular, fecha_reserva: '2035-05-05T10:00:00Z' }),
    );
    assert.equal(created.status, 201, created.text);
    const after = await ctx.api.get(
      `/api/reservas/?usuario_id=${titular}&fecha_desde=2035-05-05T10:00:00.000001Z`,
    );
    assert.equal(after.body.count, 0);
    assert.equal(after.body.results.length, 0);
    const at = await ctx.api.get(
      `/api/reservas/?usuario_id=${titular}&fecha_desde=2035-05-05T10:00:00.000000Z`,
    );
    assert.equal(at.body.count, 1);
  });

  test('years 1 to 99 are years, not 1900s: accepted as filter bounds', async () => {
    const res = await ctx.api.get('/api/reservas/?fecha_desde=0050-01-01T00:00:00Z&page_size=1');
    assert.equal(res.status, 200);
  });

  test('"5.0" is 5, as DRF', async () => {
    const res = await ctx.api.post('/api/reservas/', nuevaReserva({ numero_personas: '5.0' }));
    assert.equal(res.status, 201);
    assert.equal(res.body.numero_personas, 5);
  });
});
