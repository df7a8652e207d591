// CONTRACT §1 pagination, on /api/usuarios/: count/next/previous, page sizes, absolute links that
// keep the other parameters and follow X-Forwarded-*, and "Página inválida." for pages that are not.
// Every database holds the bootstrap administrador (§5.6): the lists count it, as the oldest row.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, type Suite, startUsuarios } from './support.ts';

let s: Suite;
const INVALIDA = { detail: 'Página inválida.' };

before(async () => {
  s = await startUsuarios('usuarios_pagination');
});
after(() => s?.close());

test('an empty collection is page 1 with count 0; page 2 of it is invalid', async () => {
  // No cliente exists yet: the administrador is the only user.
  const res = await s.api.get('/api/usuarios/?tipo_usuario=cliente');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { count: 0, next: null, previous: null, results: [] });
  assert.deepEqual((await s.api.get('/api/usuarios/?tipo_usuario=cliente&page=1')).body.count, 0);
  const two = await s.api.get('/api/usuarios/?tipo_usuario=cliente&page=2');
  assert.deepEqual([two.status, two.body], [404, INVALIDA]);
});

test('a collection of one user is one page without links', async () => {
  const res = await s.api.get('/api/usuarios/');
  assert.equal(res.status, 200);
  assert.deepEqual(
    [
      res.body.count,
      res.body.next,
      res.body.previous,
      res.body.results.map((u: { email: string }) => u.email),
    ],
    [1, null, null, [ADMIN.email]],
  );
  const two = await s.api.get('/api/usuarios/?page=2');
  assert.deepEqual([two.status, two.body], [404, INVALIDA]);
});

test('with 105 users and the administrador', async (t) => {
  // One statement; user pN is created N seconds after 2024-01-01, so p105 is the newest and the
  // administrador, moved to 2024-01-01 itself, the oldest: 106 rows, the last page holds 6.
  await s.db.query(`UPDATE usuarios_usuario SET fecha_creacion = '2024-01-01T00:00:00Z' WHERE id = $1`, [
    s.admin.id,
  ]);
  await s.db.query(`
    INSERT INTO usuarios_usuario (email, nombre, apellido, fecha_creacion, fecha_actualizacion)
    SELECT 'p' || n || '@example.com', 'Nombre' || n, CASE WHEN n % 2 = 0 THEN 'par' ELSE 'impar' END,
           '2024-01-01T00:00:00Z'::timestamptz + n * interval '1 second', now()
    FROM generate_series(1, 105) AS n`);
  const base = s.url;

  await t.test('default page size is 10, newest first, next is absolute', async () => {
    const res = await s.api.get('/api/usuarios/');
    assert.equal(res.body.count, 106);
    assert.equal(res.body.results.length, 10);
    assert.equal(res.body.results[0].email, 'p105@example.com');
    assert.equal(res.body.results[9].email, 'p96@example.com');
    assert.equal(res.body.next, `${base}/api/usuarios/?page=2`);
    assert.equal(res.body.previous, null);
  });

  await t.test('page 2: previous has no page parameter; page 3: previous is ?page=2', async () => {
    const two = await s.api.get('/api/usuarios/?page=2');
    assert.equal(two.body.results[0].email, 'p95@example.com');
    assert.equal(two.body.previous, `${base}/api/usuarios/`);
    assert.equal(two.body.next, `${base}/api/usuarios/?page=3`);
    const three = await s.api.get('/api/usuarios/?page=3');
    assert.equal(three.body.previous, `${base}/api/usuarios/?page=2`);
  });

  await t.test('the last page has next null; one past it is 404 Página inválida.', async () => {
    const last = await s.api.get('/api/usuarios/?page=11');
    assert.equal(last.status, 200);
    assert.equal(last.body.results.length, 6);
    assert.equal(last.body.next, null);
    assert.equal(last.body.results.at(-2).email, 'p1@example.com');
    assert.equal(last.body.results.at(-1).email, ADMIN.email);
    for (const page of ['12', '1000', '0', '-1', 'abc', '1.5', '2e1', '99999999999999999999']) {
      const res = await s.api.get(`/api/usuarios/?page=${page}`);
      assert.deepEqual([res.status, res.body], [404, INVALIDA], `page=${page}`);
    }
  });

  await t.test('page_size is honoured up to 100 and clamped above', async () => {
    const small = await s.api.get('/api/usuarios/?page_size=7&page=15');
    assert.equal(small.body.results.length, 7);
    assert.equal(small.body.results[0].email, 'p7@example.com');
    assert.equal(small.body.next, `${base}/api/usuarios/?page_size=7&page=16`);
    const tail = await s.api.get('/api/usuarios/?page_size=7&page=16');
    assert.deepEqual(
      tail.body.results.map((u: { email: string }) => u.email),
      [ADMIN.email],
    );
    assert.equal(tail.body.next, null);
    assert.equal((await s.api.get('/api/usuarios/?page_size=100')).body.results.length, 100);
    const big = await s.api.get('/api/usuarios/?page_size=1000');
    assert.equal(big.status, 200);
    assert.equal(big.body.results.length, 100);
    assert.equal(big.body.next, `${base}/api/usuarios/?page_size=1000&page=2`);
    const second = await s.api.get('/api/usuarios/?page_size=1000&page=2');
    assert.equal(second.body.results.length, 6);
  });

  await t.test('an unusable page_size falls back to the default (as DRF)', async () => {
    for (const size of ['0', '-5', 'abc', '']) {
      const res = await s.api.get(`/api/usuarios/?page_size=${size}`);
      assert.equal(res.status, 200, size);
      assert.equal(res.body.results.length, 10, size);
    }
  });

  await t.test('next and previous keep the other query parameters', async () => {
    const res = await s.api.get('/api/usuarios/?search=impar&page_size=5&page=2&ordering=email');
    assert.equal(res.status, 200);
    assert.equal(res.body.count, 53);
    const next = new URL(res.body.next);
    assert.equal(`${next.origin}${next.pathname}`, `${base}/api/usuarios/`);
    assert.deepEqual(Object.fromEntries(next.searchParams), {
      search: 'impar',
      page_size: '5',
      page: '3',
      ordering: 'email',
    });
    const previous = new URL(res.body.previous);
    assert.deepEqual(Object.fromEntries(previous.searchParams), {
      search: 'impar',
      page_size: '5',
      ordering: 'email',
    });
    // Following the links walks the same filtered list.
    const followed = await s.api.get(res.body.next);
    assert.equal(followed.body.count, 53);
    assert.ok(followed.body.results.every((u: { apellido: string }) => u.apellido === 'impar'));
  });

  await t.test('the links follow X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const res = await s.api.get('/api/usuarios/?page=2', {
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'usuarios.example.run.app',
    });
    assert.equal(res.body.next, 'https://usuarios.example.run.app/api/usuarios/?page=3');
    assert.equal(res.body.previous, 'https://usuarios.example.run.app/api/usuarios/');
  });

  await t.test('the path without a trailing slash is paginated the same', async () => {
    const res = await s.api.get('/api/usuarios?page=2');
    assert.equal(res.status, 200);
    assert.equal(res.body.results[0].email, 'p95@example.com');
    assert.equal(new URL(res.body.next).searchParams.get('page'), '3');
  });

  await t.test('pages do not overlap and cover every row once', async () => {
    const seen: string[] = [];
    let url: string | null = '/api/usuarios/?page_size=25';
    while (url) {
      const res: { body: { next: string | null; results: { email: string }[] } } = await s.api.get(url);
      seen.push(...res.body.results.map((u) => u.email));
      url = res.body.next;
    }
    assert.equal(seen.length, 106);
    assert.equal(new Set(seen).size, 106);
    assert.ok(seen.includes(ADMIN.email));
  });

  await t.test('a filtered list with no match is page 1 with count 0', async () => {
    const res = await s.api.get('/api/usuarios/?search=nadie');
    assert.deepEqual(res.body, { count: 0, next: null, previous: null, results: [] });
  });
});
