// CONTRACT §3 atomic transitions: racing actions on one reservation give answers and a stored state that
// some serial order of the same requests explains, and an edit racing a cancellation lands only while
// the reservation is still editable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reservaEn, servicioReservas } from './setup.ts';

const ctx = servicioReservas('reservas_concurrencia');

const TRANSICIONES: Record<string, Record<string, string>> = {
  confirmar: { pendiente: 'confirmada' },
  cancelar: { pendiente: 'cancelada', confirmada: 'cancelada' },
  completar: { confirmada: 'completada' },
};

type Outcome = { status: number; estado?: string };

/** What each request answers, and the final state, if the requests ran one after another in `order`. */
function serial(initial: string, order: string[]): { answers: Outcome[]; final: string } {
  let estado = initial;
  const answers = order.map((accion) => {
    const next = TRANSICIONES[accion]?.[estado];
    if (!next) return { status: 409 };
    estado = next;
    return { status: 200, estado };
  });
  return { answers, final: estado };
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [item, ...p]),
  );
}

/** True when some serial order of the requests gives exactly the observed answers and final state. */
function explainedBySerialOrder(
  initial: string,
  acciones: string[],
  observed: Outcome[],
  final: string,
): boolean {
  const indices = acciones.map((_, i) => i);
  return permutations(indices).some((order) => {
    const run = serial(
      initial,
      order.map((i) => acciones[i] as string),
    );
    if (run.final !== final) return false;
    return order.every((requestIndex, position) => {
      const expected = run.answers[position];
      const seen = observed[requestIndex];
      return (
        expected?.status === seen?.status && (expected?.status !== 200 || expected?.estado === seen?.estado)
      );
    });
  });
}

const RACES: { initial: string; acciones: string[] }[] = [
  { initial: 'pendiente', acciones: ['confirmar', 'cancelar'] },
  { initial: 'pendiente', acciones: ['confirmar', 'confirmar', 'confirmar'] },
  { initial: 'confirmada', acciones: ['completar', 'cancelar'] },
  { initial: 'pendiente', acciones: ['confirmar', 'cancelar', 'completar', 'confirmar', 'cancelar'] },
];
const ROUNDS = 15;

for (const race of RACES) {
  test(`racing ${race.acciones.join(' + ')} on a ${race.initial} reservation, ${ROUNDS} times`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const reserva = await reservaEn(ctx.api, race.initial);
      const responses = await Promise.all(
        race.acciones.map((accion) => ctx.api.post(`/api/reservas/${reserva.id}/${accion}/`)),
      );
      const observed = responses.map((r) => ({ status: r.status, estado: r.body?.estado }));
      for (const r of responses)
        assert.ok(r.status === 200 || r.status === 409, `unexpected ${r.status}: ${r.text}`);
      const stored = await ctx.db.query('SELECT estado FROM reservas_reserva WHERE id = $1', [reserva.id]);
      const final = stored.rows[0]?.estado as string;
      assert.ok(
        explainedBySerialOrder(race.initial, race.acciones, observed, final),
        `no serial order explains ${JSON.stringify(observed)} ending in ${final}`,
      );
    }
  });
}

test('concurrent edits and a cancellation: an edit lands only while the row is editable', async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const reserva = await reservaEn(ctx.api, 'pendiente');
    const [edit, cancel] = await Promise.all([
      ctx.api.patch(`/api/reservas/${reserva.id}/`, { numero_personas: 12 }),
      ctx.api.post(`/api/reservas/${reserva.id}/cancelar/`),
    ]);
    assert.equal(cancel.status, 200);
    const stored = await ctx.db.query('SELECT estado, numero_personas FROM reservas_reserva WHERE id = $1', [
      reserva.id,
    ]);
    assert.equal(stored.rows[0]?.estado, 'cancelada');
    if (edit.status === 200) assert.equal(stored.rows[0]?.numero_personas, 12);
    else {
      assert.equal(edit.status, 409);
      assert.equal(stored.rows[0]?.numero_personas, 4);
    }
  }
});
