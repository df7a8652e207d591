// CONTRACT §5.4 (servicio-reservas table and its precise rules) and §5.3's order of checks, from the
// verifier's side: tokens are real ones issued by servicio-usuarios for each role.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { ApiResponse, Client } from '@servicios/testing';
import { enDias, nuevaReserva, reservaEn, servicioReservas } from './setup.ts';

const NO_CREDENTIALS = { detail: 'Las credenciales de autenticación no se proveyeron.' };
const FORBIDDEN = { detail: 'Usted no tiene permiso para realizar esta acción.' };
const NOT_FOUND = { detail: 'No encontrado.' };
const INVALID_USUARIO_IDS = [null, 'abc', 0];
/** An id that no reservation will reach in this suite. */
const MISSING = 99_999_999;

type Persona = { id: number; reservas: Client };
let ana: Persona; // cliente
let beto: Persona; // another cliente
let emilia: Persona; // empleado
let admin: Persona;

const ctx = servicioReservas('reservas_identity_permisos', async (c) => {
  ana = await c.como('cliente');
  beto = await c.como('cliente');
  emilia = await c.como('empleado');
  admin = { id: c.usuarios.admin.id, reservas: c.api };
});

/** A reservation of `usuario_id` walked to `estado` by the administrador. */
async function reservaDe(usuario: Persona, estado = 'pendiente') {
  return reservaEn(ctx.api, estado, { usuario_id: usuario.id });
}

async function fila(id: number) {
  const { rows } = await ctx.db.query('SELECT usuario_id::int, estado FROM reservas_reserva WHERE id = $1', [
    id,
  ]);
  return rows[0] as { usuario_id: number; estado: string } | undefined;
}

async function totalReservas(): Promise<number> {
  const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM reservas_reserva');
  return rows[0]?.n;
}

function expectAnswer(res: ApiResponse, status: number, body: unknown, label: string) {
  assert.equal(res.status, status, `${label}: ${res.status} ${res.text}`);
  assert.deepEqual(res.body, body, label);
}

const cuerpoCompleto = (overrides: Record<string, unknown> = {}) => ({
  fecha_reserva: enDias(20),
  numero_personas: 3,
  notas: 'cambiada',
  ...overrides,
});

describe('anonymous callers', () => {
  test('every route is a 401 with WWW-Authenticate, whatever the id or the body', async () => {
    const propia = await reservaDe(ana);
    const requests: [string, string, unknown?][] = [['GET', '/api/reservas/']];
    requests.push(
      ['POST', '/api/reservas/', nuevaReserva()],
      ['POST', '/api/reservas/', { numero_personas: 0 }],
    );
    for (const id of [propia.id, MISSING, 'abc', 0]) {
      requests.push(
        ['GET', `/api/reservas/${id}/`],
        ['PUT', `/api/reservas/${id}/`, cuerpoCompleto()],
        ['PATCH', `/api/reservas/${id}/`, { numero_personas: 'x' }],
        ['DELETE', `/api/reservas/${id}/`],
        ['POST', `/api/reservas/${id}/confirmar/`],
        ['POST', `/api/reservas/${id}/cancelar/`],
        ['POST', `/api/reservas/${id}/completar/`],
      );
    }
    for (const [method, path, json] of requests) {
      const res = await ctx.anon.request(method, path, json === undefined ? {} : { json });
      expectAnswer(res, 401, NO_CREDENTIALS, `${method} ${path}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"', `${method} ${path}`);
    }
    assert.deepEqual(await fila(propia.id), { usuario_id: ana.id, estado: 'pendiente' });
  });
});

describe('POST /api/reservas/', () => {
  test('usuario_id omitted is the caller, for every role', async () => {
    for (const quien of [ana, emilia, admin]) {
      const { usuario_id: _, ...sinUsuario } = nuevaReserva();
      const res = await quien.reservas.post('/api/reservas/', sinUsuario);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.usuario_id, quien.id);
      assert.equal(res.body.estado, 'pendiente');
    }
  });

  test('a cliente may name itself, as an integer or a string of digits', async () => {
    for (const usuario_id of [ana.id, String(ana.id)]) {
      const res = await ana.reservas.post('/api/reservas/', nuevaReserva({ usuario_id }));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.usuario_id, ana.id);
    }
  });

  test('a cliente naming another usuario_id is a 403 before the other fields are judged; nothing is stored', async () => {
    const antes = await totalReservas();
    const bodies = [
      nuevaReserva({ usuario_id: beto.id }),
      nuevaReserva({ usuario_id: String(beto.id) }),
      nuevaReserva({ usuario_id: admin.id }),
      nuevaReserva({ usuario_id: MISSING }),
      nuevaReserva({ usuario_id: beto.id, numero_personas: 0 }),
      { usuario_id: beto.id, numero_personas: 'muchos', fecha_reserva: 'ayer' },
      { usuario_id: beto.id },
    ];
    for (const body of bodies) {
      expectAnswer(await ana.reservas.post('/api/reservas/', body), 403, FORBIDDEN, JSON.stringify(body));
    }
    assert.equal(await totalReservas(), antes);
  });

  test('empleado and administrador create for any usuario_id', async () => {
    for (const quien of [emilia, admin]) {
      for (const titular of [ana, beto, emilia, admin]) {
        const res = await quien.reservas.post('/api/reservas/', nuevaReserva({ usuario_id: titular.id }));
        assert.equal(res.status, 201, res.text);
        assert.equal(res.body.usuario_id, titular.id);
      }
    }
  });

  test('an invalid usuario_id (null, "abc", 0) is a 400 on that field for everyone', async () => {
    const antes = await totalReservas();
    for (const quien of [ana, emilia, admin]) {
      for (const usuario_id of INVALID_USUARIO_IDS) {
        const res = await quien.reservas.post('/api/reservas/', nuevaReserva({ usuario_id }));
        assert.equal(res.status, 400, `${quien.id} usuario_id=${JSON.stringify(usuario_id)}: ${res.text}`);
        assert.deepEqual(Object.keys(res.body), ['usuario_id']);
        assert.ok(Array.isArray(res.body.usuario_id) && res.body.usuario_id.length > 0);
      }
    }
    assert.equal(await totalReservas(), antes);
  });

  test('a cliente with an invalid body of its own is a plain 400, all fields at once', async () => {
    const res = await ana.reservas.post('/api/reservas/', { numero_personas: 0 });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ['fecha_reserva', 'numero_personas']);
  });
});

describe('GET /api/reservas/', () => {
  let clara: Persona;
  let suyas: number[];

  before(async () => {
    clara = await ctx.como('cliente');
    suyas = [];
    for (let i = 0; i < 2; i++) {
      const res = await clara.reservas.post('/api/reservas/', {
        fecha_reserva: enDias(5 + i),
        numero_personas: 2,
      });
      assert.equal(res.status, 201, res.text);
      suyas.push(res.body.id);
    }
    suyas.push((await reservaDe(clara, 'confirmada')).id);
    await reservaDe(beto);
    await reservaDe(emilia);
  });

  test('a cliente lists only its own reservations, and the count is of those only', async () => {
    const res = await clara.reservas.get('/api/reservas/');
    assert.equal(res.status, 200);
    assert.equal(res.body.count, 3);
    assert.deepEqual(res.body.results.map((r: { id: number }) => r.id).sort(), [...suyas].sort());
    assert.ok(res.body.results.every((r: { usuario_id: number }) => r.usuario_id === clara.id));
    assert.ok((await totalReservas()) > 3);
  });

  test("a cliente's pages and other filters stay within its own reservations", async () => {
    const first = await clara.reservas.get('/api/reservas/?page_size=2');
    assert.equal(first.body.count, 3);
    assert.equal(first.body.results.length, 2);
    assert.ok(first.body.next);
    const second = await clara.reservas.get(
      new URL(first.body.next).pathname + new URL(first.body.next).search,
    );
    assert.equal(second.status, 200);
    assert.equal(second.body.count, 3);
    assert.deepEqual(
      [...first.body.results, ...second.body.results].map((r: { id: number }) => r.id).sort(),
      [...suyas].sort(),
    );
    const confirmadas = await clara.reservas.get('/api/reservas/?estado=confirmada');
    assert.equal(confirmadas.body.count, 1);
    assert.equal(confirmadas.body.results[0].usuario_id, clara.id);
    const propias = await clara.reservas.get(`/api/reservas/?usuario_id=${clara.id}`);
    assert.equal(propias.body.count, 3);
  });

  test('a usuario_id filter for someone else gives a cliente an empty page, not an error', async () => {
    for (const otro of [beto.id, emilia.id, admin.id, MISSING]) {
      const res = await clara.reservas.get(`/api/reservas/?usuario_id=${otro}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { count: 0, next: null, previous: null, results: [] });
    }
    // An invalid value is still a 400 on that parameter, for a cliente as for anyone.
    for (const bad of ['abc', '0']) {
      const res = await clara.reservas.get(`/api/reservas/?usuario_id=${bad}`);
      assert.equal(res.status, 400, `usuario_id=${bad}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body), ['usuario_id']);
    }
  });

  test('empleado and administrador list everyone, and filter by any usuario_id', async () => {
    const total = await totalReservas();
    for (const quien of [emilia, admin]) {
      const todas = await quien.reservas.get('/api/reservas/');
      assert.equal(todas.status, 200);
      assert.equal(todas.body.count, total);
      const deClara = await quien.reservas.get(`/api/reservas/?usuario_id=${clara.id}`);
      assert.equal(deClara.body.count, 3);
      assert.ok(deClara.body.results.every((r: { usuario_id: number }) => r.usuario_id === clara.id));
    }
  });
});

describe('GET /api/reservas/{id}/', () => {
  test("a cliente sees its own; others' and missing ones are 404 alike", async () => {
    const propia = await reservaDe(ana);
    const res = await ana.reservas.get(`/api/reservas/${propia.id}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, propia);
    for (const ajena of [await reservaDe(beto), await reservaDe(emilia), await reservaDe(admin)]) {
      expectAnswer(await ana.reservas.get(`/api/reservas/${ajena.id}/`), 404, NOT_FOUND, `ajena ${ajena.id}`);
    }
    expectAnswer(await ana.reservas.get(`/api/reservas/${MISSING}/`), 404, NOT_FOUND, 'missing');
  });

  test("empleado and administrador see anyone's", async () => {
    const deAna = await reservaDe(ana);
    for (const quien of [emilia, admin]) {
      const res = await quien.reservas.get(`/api/reservas/${deAna.id}/`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, deAna);
    }
  });
});

describe('PUT and PATCH /api/reservas/{id}/', () => {
  test('a cliente edits its own; usuario_id omitted on PUT stays, its own id is no change', async () => {
    const propia = await reservaDe(ana);
    const put = await ana.reservas.put(`/api/reservas/${propia.id}/`, cuerpoCompleto());
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.usuario_id, ana.id);
    assert.equal(put.body.notas, 'cambiada');
    const same = await ana.reservas.put(
      `/api/reservas/${propia.id}/`,
      cuerpoCompleto({ usuario_id: ana.id }),
    );
    assert.equal(same.status, 200, same.text);
    const patch = await ana.reservas.patch(`/api/reservas/${propia.id}/`, { numero_personas: 7 });
    assert.equal(patch.status, 200, patch.text);
    assert.equal(patch.body.numero_personas, 7);
    const patchSelf = await ana.reservas.patch(`/api/reservas/${propia.id}/`, { usuario_id: String(ana.id) });
    assert.equal(patchSelf.status, 200, patchSelf.text);
    assert.equal(patchSelf.body.usuario_id, ana.id);
  });

  test('staff PUT without usuario_id keeps the holder (not the caller)', async () => {
    for (const quien of [emilia, admin]) {
      const deAna = await reservaDe(ana);
      const res = await quien.reservas.put(`/api/reservas/${deAna.id}/`, cuerpoCompleto());
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.usuario_id, ana.id);
      assert.equal((await fila(deAna.id))?.usuario_id, ana.id);
    }
  });

  test('a cliente changing usuario_id of its own is a 403, before the other fields are judged', async () => {
    const propia = await reservaDe(ana);
    const attempts: [string, unknown][] = [
      ['PATCH', { usuario_id: beto.id }],
      ['PATCH', { usuario_id: MISSING }],
      ['PATCH', { usuario_id: String(beto.id), numero_personas: 0 }],
      ['PUT', cuerpoCompleto({ usuario_id: beto.id })],
      ['PUT', { usuario_id: beto.id, numero_personas: 'x', fecha_reserva: 'nunca' }],
      ['PUT', { usuario_id: admin.id }],
    ];
    for (const [method, json] of attempts) {
      const res = await ana.reservas.request(method, `/api/reservas/${propia.id}/`, { json });
      expectAnswer(res, 403, FORBIDDEN, `${method} ${JSON.stringify(json)}`);
    }
    assert.equal((await fila(propia.id))?.usuario_id, ana.id);
    assert.deepEqual((await ana.reservas.get(`/api/reservas/${propia.id}/`)).body, propia);
  });

  test("a cliente's PUT/PATCH of others' is a 404, whatever the body", async () => {
    const ajena = await reservaDe(beto);
    for (const [method, json] of [
      ['PATCH', { notas: 'mía' }],
      ['PATCH', { usuario_id: ana.id }],
      ['PATCH', { numero_personas: 0 }],
      ['PUT', cuerpoCompleto()],
      ['PUT', cuerpoCompleto({ usuario_id: ana.id })],
      ['PUT', {}],
    ] as [string, unknown][]) {
      const res = await ana.reservas.request(method, `/api/reservas/${ajena.id}/`, { json });
      expectAnswer(res, 404, NOT_FOUND, `${method} ${JSON.stringify(json)}`);
    }
    expectAnswer(
      await ana.reservas.patch(`/api/reservas/${MISSING}/`, { notas: 'x' }),
      404,
      NOT_FOUND,
      'missing',
    );
    assert.deepEqual((await ctx.api.get(`/api/reservas/${ajena.id}/`)).body, ajena);
  });

  test('an invalid usuario_id (null, "abc", 0) on PUT/PATCH is a 400 on that field for everyone', async () => {
    for (const quien of [ana, emilia, admin]) {
      const reserva = await reservaDe(ana);
      for (const usuario_id of INVALID_USUARIO_IDS) {
        for (const [method, json] of [
          ['PATCH', { usuario_id }],
          ['PUT', cuerpoCompleto({ usuario_id })],
        ] as [string, unknown][]) {
          const res = await quien.reservas.request(method, `/api/reservas/${reserva.id}/`, { json });
          const label = `${quien.id} ${method} usuario_id=${JSON.stringify(usuario_id)}`;
          assert.equal(res.status, 400, `${label}: ${res.text}`);
          assert.deepEqual(Object.keys(res.body), ['usuario_id'], label);
        }
      }
      assert.deepEqual(await fila(reserva.id), { usuario_id: ana.id, estado: 'pendiente' });
    }
  });

  test("empleado and administrador edit anyone's and may move it to another usuario_id", async () => {
    for (const quien of [emilia, admin]) {
      const deAna = await reservaDe(ana, 'confirmada');
      const patch = await quien.reservas.patch(`/api/reservas/${deAna.id}/`, { notas: 'por el personal' });
      assert.equal(patch.status, 200, patch.text);
      const moved = await quien.reservas.patch(`/api/reservas/${deAna.id}/`, { usuario_id: beto.id });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.usuario_id, beto.id);
      const put = await quien.reservas.put(
        `/api/reservas/${deAna.id}/`,
        cuerpoCompleto({ usuario_id: ana.id }),
      );
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.usuario_id, ana.id);
    }
  });
});

describe('POST /api/reservas/{id}/cancelar/', () => {
  test("a cliente cancels its own (pendiente or confirmada); others' are 404 and stay as they are", async () => {
    for (const estado of ['pendiente', 'confirmada']) {
      const propia = await reservaDe(ana, estado);
      const res = await ana.reservas.post(`/api/reservas/${propia.id}/cancelar/`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.estado, 'cancelada');
    }
    const ajena = await reservaDe(beto);
    expectAnswer(await ana.reservas.post(`/api/reservas/${ajena.id}/cancelar/`), 404, NOT_FOUND, 'ajena');
    assert.equal((await fila(ajena.id))?.estado, 'pendiente');
    expectAnswer(await ana.reservas.post(`/api/reservas/${MISSING}/cancelar/`), 404, NOT_FOUND, 'missing');
  });

  test('a cliente cancelling its own that cannot be cancelled is a 409; empleado and administrador cancel anyone', async () => {
    const cancelada = await reservaDe(ana, 'cancelada');
    const res = await ana.reservas.post(`/api/reservas/${cancelada.id}/cancelar/`);
    assert.equal(res.status, 409, res.text);
    assert.equal(typeof res.body.detail, 'string');
    for (const quien of [emilia, admin]) {
      const deAna = await reservaDe(ana);
      const ok = await quien.reservas.post(`/api/reservas/${deAna.id}/cancelar/`);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.estado, 'cancelada');
    }
  });
});

describe('POST /api/reservas/{id}/confirmar/ and completar/', () => {
  test("a cliente gets 403 on its own (whatever its state) and 404 on others' and missing ones", async () => {
    const casos: [string, string][] = [
      ['confirmar', 'pendiente'],
      ['confirmar', 'completada'],
      ['completar', 'confirmada'],
      ['completar', 'pendiente'],
    ];
    for (const [accion, estado] of casos) {
      const propia = await reservaDe(ana, estado);
      expectAnswer(
        await ana.reservas.post(`/api/reservas/${propia.id}/${accion}/`),
        403,
        FORBIDDEN,
        `${accion} own ${estado}`,
      );
      assert.equal((await fila(propia.id))?.estado, estado);
      const ajena = await reservaDe(beto, estado);
      expectAnswer(
        await ana.reservas.post(`/api/reservas/${ajena.id}/${accion}/`),
        404,
        NOT_FOUND,
        `${accion} ajena ${estado}`,
      );
      assert.equal((await fila(ajena.id))?.estado, estado);
      expectAnswer(await ana.reservas.post(`/api/reservas/${MISSING}/${accion}/`), 404, NOT_FOUND, 'missing');
      expectAnswer(await ana.reservas.post(`/api/reservas/abc/${accion}/`), 404, NOT_FOUND, 'abc');
    }
  });

  test("empleado and administrador confirm and complete anyone's", async () => {
    for (const quien of [emilia, admin]) {
      const deAna = await reservaDe(ana);
      const confirmada = await quien.reservas.post(`/api/reservas/${deAna.id}/confirmar/`);
      assert.equal(confirmada.status, 200, confirmada.text);
      assert.equal(confirmada.body.estado, 'confirmada');
      const completada = await quien.reservas.post(`/api/reservas/${deAna.id}/completar/`);
      assert.equal(completada.status, 200, completada.text);
      assert.equal(completada.body.estado, 'completada');
    }
  });
});

describe('DELETE /api/reservas/{id}/', () => {
  test("a cliente gets 403 on its own and 404 on others' and missing ones; nothing is deleted", async () => {
    const propia = await reservaDe(ana);
    expectAnswer(await ana.reservas.delete(`/api/reservas/${propia.id}/`), 403, FORBIDDEN, 'own');
    const ajena = await reservaDe(beto);
    expectAnswer(await ana.reservas.delete(`/api/reservas/${ajena.id}/`), 404, NOT_FOUND, 'ajena');
    expectAnswer(await ana.reservas.delete(`/api/reservas/${MISSING}/`), 404, NOT_FOUND, 'missing');
    assert.ok(await fila(propia.id));
    assert.ok(await fila(ajena.id));
  });

  test('an empleado gets 403 for any id: its own, others, missing or not a number', async () => {
    const propia = await reservaDe(emilia);
    const deAna = await reservaDe(ana);
    for (const id of [propia.id, deAna.id, MISSING, 'abc', 0, -1]) {
      expectAnswer(await emilia.reservas.delete(`/api/reservas/${id}/`), 403, FORBIDDEN, `id ${id}`);
    }
    assert.ok(await fila(propia.id));
    assert.ok(await fila(deAna.id));
  });

  test("an administrador deletes anyone's: 204 with no body, then it is gone", async () => {
    for (const titular of [ana, admin]) {
      const reserva = await reservaDe(titular, 'confirmada');
      const res = await admin.reservas.delete(`/api/reservas/${reserva.id}/`);
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, '');
      assert.equal(await fila(reserva.id), undefined);
      expectAnswer(await admin.reservas.get(`/api/reservas/${reserva.id}/`), 404, NOT_FOUND, 'after delete');
      expectAnswer(await admin.reservas.delete(`/api/reservas/${reserva.id}/`), 404, NOT_FOUND, 'again');
    }
  });
});

describe('order of checks: 401, role 403, 404, object 403, 400, 409', () => {
  test('a role refused by the route is a 403 before the id is looked at (empleado DELETE)', async () => {
    expectAnswer(await emilia.reservas.delete(`/api/reservas/${MISSING}/`), 403, FORBIDDEN, 'missing');
    expectAnswer(await emilia.reservas.delete('/api/reservas/abc/'), 403, FORBIDDEN, 'abc');
  });

  test("others' reservations are a 404 for a cliente before the object's 403 and before validation", async () => {
    const ajena = await reservaDe(beto, 'completada');
    const checks: [string, string, unknown?][] = [
      ['POST', 'confirmar/'],
      ['POST', 'completar/'],
      ['POST', 'cancelar/'],
      ['DELETE', ''],
      ['PATCH', '', { usuario_id: ana.id, numero_personas: 0 }],
      ['PUT', '', { usuario_id: beto.id, fecha_reserva: 'x' }],
    ];
    for (const [method, suffix, json] of checks) {
      const res = await ana.reservas.request(
        method,
        `/api/reservas/${ajena.id}/${suffix}`,
        json === undefined ? {} : { json },
      );
      expectAnswer(res, 404, NOT_FOUND, `${method} ${suffix}`);
    }
  });

  test("the object's 403 comes before validation and before the state's 409", async () => {
    const cancelada = await reservaDe(ana, 'cancelada');
    const res = await ana.reservas.patch(`/api/reservas/${cancelada.id}/`, {
      usuario_id: beto.id,
      numero_personas: 0,
    });
    expectAnswer(res, 403, FORBIDDEN, 'cliente moving its cancelada');
    const completada = await reservaDe(ana, 'completada');
    expectAnswer(
      await ana.reservas.post(`/api/reservas/${completada.id}/confirmar/`),
      403,
      FORBIDDEN,
      'cliente confirming its completada',
    );
    expectAnswer(
      await ana.reservas.delete(`/api/reservas/${completada.id}/`),
      403,
      FORBIDDEN,
      'cliente DELETE',
    );
  });

  test('validation (400) comes before the state (409), then the state decides', async () => {
    for (const quien of [ana, emilia, admin]) {
      const cancelada = await reservaDe(ana, 'cancelada');
      const invalid = await quien.reservas.patch(`/api/reservas/${cancelada.id}/`, { numero_personas: 0 });
      assert.equal(invalid.status, 400, `${quien.id}: ${invalid.text}`);
      assert.deepEqual(Object.keys(invalid.body), ['numero_personas']);
      const badId = await quien.reservas.patch(`/api/reservas/${cancelada.id}/`, { usuario_id: 0 });
      assert.equal(badId.status, 400, `${quien.id}: ${badId.text}`);
      const valid = await quien.reservas.patch(`/api/reservas/${cancelada.id}/`, { numero_personas: 2 });
      assert.equal(valid.status, 409, `${quien.id}: ${valid.text}`);
      assert.equal(typeof valid.body.detail, 'string');
    }
  });
});
