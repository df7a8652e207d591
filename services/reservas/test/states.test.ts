// CONTRACT §3 state machine (the only allowed transitions, 409 otherwise, edits only while pendiente
// or confirmada, estado read-only, DELETE in any state) as the administrador, the CHECK constraints
// behind it, and §5.3: without a token the action paths are a 401 before any 404 or 405.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reservaEn, servicioReservas, sinCredenciales } from './setup.ts';

const ctx = servicioReservas('reservas_estados');

const ESTADOS = ['pendiente', 'confirmada', 'cancelada', 'completada'];
// CONTRACT §3: the only allowed transitions; every other cell of the table is a 409.
const PERMITIDAS: Record<string, Record<string, string>> = {
  confirmar: { pendiente: 'confirmada' },
  cancelar: { pendiente: 'cancelada', confirmada: 'cancelada' },
  completar: { confirmada: 'completada' },
};

describe('transition table', () => {
  for (const [accion, desde] of Object.entries(PERMITIDAS)) {
    for (const estado of ESTADOS) {
      const destino = desde[estado];
      test(`${accion} from ${estado} → ${destino ? `200 ${destino}` : '409, unchanged'}`, async () => {
        const reserva = await reservaEn(ctx.api, estado);
        const res = await ctx.api.post(`/api/reservas/${reserva.id}/${accion}/`);
        const stored = await ctx.db.query('SELECT estado FROM reservas_reserva WHERE id = $1', [reserva.id]);
        if (destino) {
          assert.equal(res.status, 200);
          assert.equal(res.body.estado, destino);
          assert.equal(stored.rows[0]?.estado, destino);
          assert.ok(new Date(res.body.fecha_actualizacion) >= new Date(reserva.fecha_actualizacion));
        } else {
          assert.equal(res.status, 409);
          assert.equal(typeof res.body.detail, 'string');
          assert.match(res.body.detail, new RegExp(estado));
          assert.equal(stored.rows[0]?.estado, estado);
        }
      });
    }
  }

  test('actions on a missing reservation are 404, with or without the trailing slash; 401 without a token', async () => {
    for (const accion of Object.keys(PERMITIDAS)) {
      for (const path of [
        `/api/reservas/999999/${accion}/`,
        `/api/reservas/999999/${accion}`,
        `/api/reservas/abc/${accion}/`,
      ]) {
        assert.equal((await ctx.api.post(path)).status, 404, path);
        sinCredenciales(await ctx.anon.post(path), path);
      }
    }
  });

  test('actions answer only POST (405 with Allow), after authentication', async () => {
    const reserva = await reservaEn(ctx.api, 'pendiente');
    const res = await ctx.api.get(`/api/reservas/${reserva.id}/confirmar/`);
    assert.equal(res.status, 405);
    assert.match(res.headers.get('allow') ?? '', /POST/);
    sinCredenciales(await ctx.anon.get(`/api/reservas/${reserva.id}/confirmar/`), 'GET confirmar');
    sinCredenciales(await ctx.anon.get('/api/reservas/abc/confirmar/'), 'GET confirmar of abc');
    // Nor does an anonymous POST move the reservation.
    sinCredenciales(await ctx.anon.post(`/api/reservas/${reserva.id}/confirmar/`), 'POST confirmar');
    const stored = await ctx.db.query('SELECT estado FROM reservas_reserva WHERE id = $1', [reserva.id]);
    assert.equal(stored.rows[0]?.estado, 'pendiente');
  });
});

describe('edits by state', () => {
  for (const estado of ESTADOS) {
    const editable = estado === 'pendiente' || estado === 'confirmada';
    for (const method of ['PUT', 'PATCH'] as const) {
      test(`${method} while ${estado} → ${editable ? 200 : 409}`, async () => {
        const reserva = await reservaEn(ctx.api, estado);
        const cambio = {
          usuario_id: reserva.usuario_id,
          fecha_reserva: reserva.fecha_reserva,
          numero_personas: 9,
          notas: 'cambio',
        };
        const res = await ctx.api.request(method, `/api/reservas/${reserva.id}/`, { json: cambio });
        const stored = await ctx.db.query(
          'SELECT numero_personas, estado FROM reservas_reserva WHERE id = $1',
          [reserva.id],
        );
        if (editable) {
          assert.equal(res.status, 200);
          assert.equal(res.body.numero_personas, 9);
          assert.equal(res.body.estado, estado);
          assert.equal(stored.rows[0]?.numero_personas, 9);
        } else {
          assert.equal(res.status, 409);
          assert.equal(typeof res.body.detail, 'string');
          assert.equal(stored.rows[0]?.numero_personas, 4);
        }
        assert.equal(stored.rows[0]?.estado, estado);
      });
    }
  }

  test('estado in a body is ignored: only the actions change it', async () => {
    const reserva = await reservaEn(ctx.api, 'pendiente');
    const res = await ctx.api.patch(`/api/reservas/${reserva.id}/`, { estado: 'completada', notas: 'x' });
    assert.equal(res.status, 200);
    assert.equal(res.body.estado, 'pendiente');
    assert.equal(res.body.notas, 'x');
  });

  test('DELETE removes the row in any state (204, then 404)', async () => {
    for (const estado of ESTADOS) {
      const reserva = await reservaEn(ctx.api, estado);
      assert.equal((await ctx.api.delete(`/api/reservas/${reserva.id}/`)).status, 204);
      assert.equal((await ctx.api.get(`/api/reservas/${reserva.id}/`)).status, 404);
      const stored = await ctx.db.query('SELECT 1 FROM reservas_reserva WHERE id = $1', [reserva.id]);
      assert.equal(stored.rowCount, 0);
    }
    assert.equal((await ctx.api.delete('/api/reservas/999999/')).status, 404);
    sinCredenciales(await ctx.anon.delete('/api/reservas/999999/'), 'DELETE 999999');
  });
});

describe('the database refuses what the API refuses', () => {
  test('an estado outside the four violates a CHECK constraint', async () => {
    const reserva = await reservaEn(ctx.api, 'pendiente');
    await assert.rejects(
      ctx.db.query(`UPDATE reservas_reserva SET estado = 'perdida' WHERE id = $1`, [reserva.id]),
      (err: { code?: string }) => err.code === '23514',
    );
  });

  test('numero_personas outside 1–50 and usuario_id below 1 violate CHECK constraints', async () => {
    for (const [column, value] of [
      ['numero_personas', 0],
      ['numero_personas', 51],
      ['usuario_id', 0],
    ] as const) {
      await assert.rejects(
        ctx.db.query(
          `INSERT INTO reservas_reserva (usuario_id, fecha_reserva, numero_personas) VALUES ($1, now() + interval '1 day', $2)`,
          column === 'usuario_id' ? [value, 2] : [1, value],
        ),
        (err: { code?: string }) => err.code === '23514',
      );
    }
  });
});
