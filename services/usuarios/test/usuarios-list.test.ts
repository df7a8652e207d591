// CONTRACT §2 GET /api/usuarios/: filters, search (case- and accent-insensitive, every word must
// match), ordering and the default order. The database holds exactly the bootstrap administrador
// (§5.6, created first) and the rows inserted in `before`, so every expected list is known in full.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, nuevoUsuario, type Suite, startUsuarios } from './support.ts';

let s: Suite;

// Created in this order, after the administrador: the default order lists them reversed. Values are
// ASCII and of one case where they are sorted, so the expected order does not depend on the collation.
const FILAS = [
  { email: 'carla@example.com', nombre: 'carla', apellido: 'mora', tipo_usuario: 'cliente' },
  { email: 'alba@example.org', nombre: 'alba', apellido: 'zuloaga', tipo_usuario: 'empleado' },
  { email: 'dario@example.com', nombre: 'dario', apellido: 'baez', tipo_usuario: 'administrador' },
  { email: 'bruno@example.net', nombre: 'bruno', apellido: 'ortiz', tipo_usuario: 'cliente' },
  { email: 'elena@example.com', nombre: 'Elena María', apellido: 'GARCÍA', tipo_usuario: 'empleado' },
  { email: 'pct@example.com', nombre: 'cien%real', apellido: 'guion_bajo', tipo_usuario: 'cliente' },
  // Accents only in nombre and apellido (not in the e-mail), so that a match proves accent folding.
  { email: 'jl@example.org', nombre: 'José Luis', apellido: 'Pérez', tipo_usuario: 'cliente' },
];
const INACTIVOS = new Set(['bruno@example.net', 'dario@example.com']);

before(async () => {
  s = await startUsuarios('usuarios_list');
  for (const fila of FILAS) {
    const res = await s.api.post('/api/usuarios/', nuevoUsuario(fila));
    assert.equal(res.status, 201, res.text);
    if (INACTIVOS.has(fila.email)) await s.api.post(`/api/usuarios/${res.body.id}/desactivar/`);
  }
});
after(() => s?.close());

async function emails(query: string): Promise<string[]> {
  const res = await s.api.get(`/api/usuarios/${query}`);
  assert.equal(res.status, 200, `${query}: ${res.text}`);
  assert.equal(res.body.count, res.body.results.length);
  return res.body.results.map((u: { email: string }) => u.email);
}

const todos = [ADMIN.email, ...FILAS.map((f) => f.email)];

test('default order is newest first', async () => {
  assert.deepEqual(await emails(''), [...todos].reverse());
});

test('the default order breaks ties of fecha_creacion by id, newest first', async () => {
  await s.db.query(`UPDATE usuarios_usuario SET fecha_creacion = '2020-01-01T00:00:00Z'`);
  try {
    assert.deepEqual(await emails(''), [...todos].reverse());
  } finally {
    // Give back distinct, increasing creation dates in id order (what the inserts produced).
    await s.db.query(
      `UPDATE usuarios_usuario SET fecha_creacion = '2020-01-01T00:00:00Z'::timestamptz + id * interval '1 minute'`,
    );
  }
});

describe('filters', () => {
  test('activo=true|false', async () => {
    assert.deepEqual(
      await emails('?activo=true'),
      [...todos].reverse().filter((e) => !INACTIVOS.has(e)),
    );
    assert.deepEqual(await emails('?activo=false'), ['bruno@example.net', 'dario@example.com']);
    assert.deepEqual(await emails('?activo=False'), ['bruno@example.net', 'dario@example.com']);
  });

  test('tipo_usuario', async () => {
    assert.deepEqual(await emails('?tipo_usuario=empleado'), ['elena@example.com', 'alba@example.org']);
    assert.deepEqual(await emails('?tipo_usuario=administrador'), ['dario@example.com', ADMIN.email]);
    assert.deepEqual(await emails('?tipo_usuario=cliente&activo=true'), [
      'jl@example.org',
      'pct@example.com',
      'carla@example.com',
    ]);
  });

  test('an empty filter value is no filter', async () => {
    assert.deepEqual(await emails('?activo=&tipo_usuario=&search=&ordering='), [...todos].reverse());
  });

  test('an invalid value is a 400 on that parameter, all reported at once', async () => {
    for (const [query, keys] of [
      ['?activo=quizas', ['activo']],
      ['?tipo_usuario=jefe', ['tipo_usuario']],
      ['?ordering=password', ['ordering']],
      ['?activo=2&tipo_usuario=CLIENTE&ordering=-id', ['activo', 'ordering', 'tipo_usuario']],
      [`?search=${'x'.repeat(201)}`, ['search']],
    ] as const) {
      const res = await s.api.get(`/api/usuarios/${query}`);
      assert.equal(res.status, 400, query);
      assert.deepEqual(Object.keys(res.body).sort(), keys, query);
      for (const key of keys) assert.ok(Array.isArray(res.body[key]) && res.body[key].length > 0);
    }
  });
});

describe('search', () => {
  test('case-insensitive substring of nombre, apellido or email', async () => {
    assert.deepEqual(await emails('?search=ALBA'), ['alba@example.org']); // nombre and email
    assert.deepEqual(await emails('?search=ZULO'), ['alba@example.org']); // apellido
    assert.deepEqual(await emails('?search=example.NET'), ['bruno@example.net']); // email
    assert.deepEqual(await emails('?search=garcía'), ['elena@example.com']); // non-ASCII case
    assert.deepEqual(await emails('?search=maría'), ['elena@example.com']);
  });

  test('accent-insensitive: a letter without its accent finds it, in any case', async () => {
    for (const term of ['jose', 'JOSE', 'José', 'JOSÉ', 'perez', 'PEREZ', 'pérez', 'PéReZ', 'luis']) {
      assert.deepEqual(await emails(`?search=${encodeURIComponent(term)}`), ['jl@example.org'], term);
    }
    for (const term of ['garcia', 'GARCIA', 'maria', 'MARIA', 'elena maria garcia']) {
      assert.deepEqual(await emails(`?search=${encodeURIComponent(term)}`), ['elena@example.com'], term);
    }
  });

  test('an accent in the search text also finds the plain letter', async () => {
    assert.deepEqual(await emails(`?search=${encodeURIComponent('dário')}`), ['dario@example.com']);
    assert.deepEqual(await emails(`?search=${encodeURIComponent('ÓRTIZ')}`), ['bruno@example.net']);
    assert.deepEqual(await emails(`?search=${encodeURIComponent('élena')}`), ['elena@example.com']);
  });

  test('an accent written as a combining mark (NFD) matches the precomposed letter', async () => {
    const nfd = 'Jose\u0301 Pe\u0301rez';
    assert.notEqual(nfd, nfd.normalize('NFC'));
    assert.deepEqual(await emails(`?search=${encodeURIComponent(nfd)}`), ['jl@example.org']);
  });

  test('several terms must all match, in any field', async () => {
    assert.deepEqual(await emails('?search=carla%20mora'), ['carla@example.com']);
    assert.deepEqual(await emails('?search=mora,carla'), ['carla@example.com']);
    assert.deepEqual(await emails('?search=carla%20ortiz'), []);
    // Each word folded on its own: case and accents mixed freely, still all words must match.
    assert.deepEqual(await emails(`?search=${encodeURIComponent('JOSE pérez')}`), ['jl@example.org']);
    assert.deepEqual(await emails(`?search=${encodeURIComponent('PEREZ,luís')}`), ['jl@example.org']);
    assert.deepEqual(await emails(`?search=${encodeURIComponent('garcia MARÍA elena')}`), [
      'elena@example.com',
    ]);
    assert.deepEqual(await emails(`?search=${encodeURIComponent('jose garcia')}`), []);
    assert.deepEqual(await emails(`?search=${encodeURIComponent('pérez example.com')}`), []);
    assert.deepEqual(await emails('?search=example.com%20a'), [
      'pct@example.com',
      'elena@example.com',
      'dario@example.com',
      'carla@example.com',
      ADMIN.email,
    ]);
  });

  test('% and _ are literal characters, not wildcards', async () => {
    assert.deepEqual(await emails('?search=%25'), ['pct@example.com']);
    assert.deepEqual(await emails('?search=_'), ['pct@example.com']);
    assert.deepEqual(await emails('?search=n%25r'), ['pct@example.com']);
    assert.deepEqual(await emails('?search=a_b'), []);
    assert.deepEqual(await emails('?search=%5C'), []); // a backslash is literal too
  });

  test('SQL-looking search text is just text', async () => {
    assert.deepEqual(await emails(`?search=${encodeURIComponent("' OR '1'='1")}`), []);
    assert.deepEqual(
      await emails(`?search=${encodeURIComponent("a'); DROP TABLE usuarios_usuario;--")}`),
      [],
    );
    assert.equal((await emails('')).length, todos.length);
  });

  test('combines with the other filters and the count', async () => {
    const res = await s.api.get('/api/usuarios/?search=example.com&activo=true&tipo_usuario=cliente');
    assert.equal(res.body.count, 2);
    assert.deepEqual(
      res.body.results.map((u: { email: string }) => u.email),
      ['pct@example.com', 'carla@example.com'],
    );
  });
});

describe('ordering', () => {
  const ordenables = FILAS.filter((f) => f.nombre === f.nombre.toLowerCase() && !f.nombre.includes('%'));

  for (const field of ['email', 'nombre', 'apellido'] as const) {
    test(`ordering=${field} and -${field}`, async () => {
      const expected = [...ordenables].sort((a, b) => (a[field] < b[field] ? -1 : 1)).map((f) => f.email);
      const got = (await emails(`?ordering=${field}`)).filter((e) => expected.includes(e));
      assert.deepEqual(got, expected);
      const gotDesc = (await emails(`?ordering=-${field}`)).filter((e) => expected.includes(e));
      assert.deepEqual(gotDesc, [...expected].reverse());
    });
  }

  test('ordering=fecha_creacion and -fecha_creacion', async () => {
    assert.deepEqual(await emails('?ordering=fecha_creacion'), todos);
    assert.deepEqual(await emails('?ordering=-fecha_creacion'), [...todos].reverse());
  });

  test('several comma-separated terms: the second breaks ties of the first', async () => {
    await s.db.query(`UPDATE usuarios_usuario SET fecha_creacion = '2020-01-01T00:00:00Z'`);
    try {
      assert.deepEqual(await emails('?ordering=fecha_creacion,email'), [...todos].sort());
      assert.deepEqual(await emails('?ordering=fecha_creacion,-email'), [...todos].sort().reverse());
    } finally {
      await s.db.query(
        `UPDATE usuarios_usuario SET fecha_creacion = '2020-01-01T00:00:00Z'::timestamptz + id * interval '1 minute'`,
      );
    }
  });

  test('a field outside the list, or a bare "-", is a 400 on ordering', async () => {
    for (const value of ['id', '-id', 'tipo_usuario', 'activo', 'telefono', '-', '--email', 'email;drop']) {
      const res = await s.api.get(`/api/usuarios/?ordering=${encodeURIComponent(value)}`);
      assert.equal(res.status, 400, value);
      assert.deepEqual(Object.keys(res.body), ['ordering'], value);
    }
  });
});
