// CONTRACT §1 over real HTTP: optional trailing slash, ids, 405 with Allow, 415, malformed and
// non-object JSON, 413; each answered in DRF's shape, never a 5xx, and the service still up after.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nuevoUsuario, type Suite, startUsuarios } from './support.ts';

let s: Suite;
let id: number;
const NO_ENCONTRADO = { detail: 'No encontrado.' };

before(async () => {
  s = await startUsuarios('usuarios_http');
  id = (await s.api.post('/api/usuarios/', nuevoUsuario())).body.id;
});
after(() => s?.close());

/** Every response of this file must be a 4xx or better; a final check proves the service still answers. */
const statuses: number[] = [];
async function send(method: string, path: string, options: Parameters<Suite['api']['request']>[2] = {}) {
  const res = await s.api.request(method, path, options);
  statuses.push(res.status);
  return res;
}

describe('trailing slash is optional on every route', () => {
  test('the same answers with and without the final /', async () => {
    const u = (await send('POST', '/api/usuarios', { json: nuevoUsuario() })).body;
    assert.ok(u.id, 'POST without slash creates');
    const pairs: [string, string, unknown?][] = [
      ['GET', '/api/usuarios'],
      ['GET', `/api/usuarios/${u.id}`],
      ['PATCH', `/api/usuarios/${u.id}`, { nombre: 'Sin Barra' }],
      ['PUT', `/api/usuarios/${u.id}`, { email: u.email, nombre: 'Sin', apellido: 'Barra' }],
      ['POST', `/api/usuarios/${u.id}/desactivar`],
      ['POST', `/api/usuarios/${u.id}/activar`],
      ['DELETE', `/api/usuarios/${u.id}`],
      ['GET', '/healthz/'],
      ['GET', '/readyz/'],
      ['GET', '/api/schema'],
    ];
    for (const [method, path, json] of pairs) {
      const bare = await send(method, path, json === undefined ? {} : { json });
      const slash = await send(method, `${path.replace(/\/$/, '')}/`, json === undefined ? {} : { json });
      assert.ok(bare.status < 300, `${method} ${path} → ${bare.status}`);
      assert.equal(bare.status, slash.status, `${method} ${path}`);
    }
  });
});

describe('ids that are not positive integers, or do not exist', () => {
  const ids = ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999999', '9007199254740993', '%20', '1%2F2'];
  for (const bad of [...ids, '2147483648', '987654321']) {
    test(`/api/usuarios/${bad}/ → 404 on every method`, async () => {
      for (const [method, path, json] of [
        ['GET', `/api/usuarios/${bad}/`],
        ['PUT', `/api/usuarios/${bad}/`, nuevoUsuario()],
        ['PATCH', `/api/usuarios/${bad}/`, { nombre: 'x' }],
        ['DELETE', `/api/usuarios/${bad}/`],
        ['POST', `/api/usuarios/${bad}/activar/`],
        ['POST', `/api/usuarios/${bad}/desactivar/`],
      ] as const) {
        const res = await send(method, path, json ? { json } : {});
        assert.deepEqual([res.status, res.body], [404, NO_ENCONTRADO], `${method} ${path}`);
      }
    });
  }

  test('an unknown path is 404 in the same shape', async () => {
    const res = await send('GET', '/api/nada/');
    assert.deepEqual([res.status, res.body], [404, NO_ENCONTRADO]);
  });
});

describe('405 with Allow', () => {
  for (const [method, path, allowed] of [
    ['PUT', '/api/usuarios/', ['GET', 'POST']],
    ['DELETE', '/api/usuarios', ['GET', 'POST']],
    ['PATCH', '/api/usuarios/', ['GET', 'POST']],
    ['POST', '/api/usuarios/1/', ['GET', 'PUT', 'PATCH', 'DELETE']],
    ['GET', '/api/usuarios/1/activar/', ['POST']],
    ['DELETE', '/api/usuarios/1/desactivar', ['POST']],
    ['POST', '/healthz', ['GET']],
  ] as const) {
    test(`${method} ${path}`, async () => {
      const res = await send(method, path, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
      assert.equal(res.status, 405);
      assert.deepEqual(res.body, { detail: `Método "${method}" no permitido.` });
      const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
      for (const m of allowed) assert.ok(allow.includes(m), `Allow: ${allow} lacks ${m}`);
      assert.ok(!allow.includes(method), `Allow: ${allow} includes ${method}`);
    });
  }
});

describe('media types and bodies', () => {
  test('a body that is not JSON is 415 {"detail"} on POST, PUT and PATCH', async () => {
    const inicial = (await s.db.query('SELECT count(*)::int AS n FROM usuarios_usuario')).rows[0]!.n;
    for (const [method, path] of [
      ['POST', '/api/usuarios/'],
      ['PUT', `/api/usuarios/${id}/`],
      ['PATCH', `/api/usuarios/${id}/`],
    ]) {
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        const body = JSON.stringify(nuevoUsuario());
        const res = await send(method!, path!, { body, headers: { 'content-type': type } });
        assert.equal(res.status, 415, `${method} ${type}`);
        assert.equal(typeof res.body.detail, 'string');
        assert.deepEqual(Object.keys(res.body), ['detail']);
      }
      // No Content-Type at all is not JSON either.
      const res = await send(method!, path!, { body: Buffer.from(JSON.stringify(nuevoUsuario())) });
      assert.equal(res.status, 415, `${method} without Content-Type`);
    }
    const { rows } = await s.db.query('SELECT count(*)::int AS n FROM usuarios_usuario');
    assert.equal(rows[0]!.n, inicial, 'nothing was created by the refused requests');
  });

  test('application/json with a charset is accepted', async () => {
    const res = await send('POST', '/api/usuarios/', {
      body: JSON.stringify(nuevoUsuario({ nombre: 'Ñandú' })),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.nombre, 'Ñandú');
  });

  test('malformed JSON is 400 {"detail": "..."}', async () => {
    for (const body of ['{', '{"email": }', "{'email': 'a@b.com'}", '{"a":1}}', 'nul', '\u00ff']) {
      for (const [method, path] of [
        ['POST', '/api/usuarios/'],
        ['PATCH', `/api/usuarios/${id}/`],
      ]) {
        const res = await send(method!, path!, { body, headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 400, `${method} ${body}`);
        assert.deepEqual(Object.keys(res.body), ['detail']);
        assert.match(res.body.detail, /JSON/);
      }
    }
  });

  test('a JSON value that is not an object is 400 non_field_errors', async () => {
    for (const [json, tipo] of [
      [[], 'list'],
      [[nuevoUsuario()], 'list'],
      ['texto', 'str'],
      [42, 'int'],
      [true, 'bool'],
    ] as const) {
      const res = await send('POST', '/api/usuarios/', { json });
      assert.equal(res.status, 400, JSON.stringify(json));
      assert.deepEqual(res.body, {
        non_field_errors: [`Datos inválidos. Se esperaba un diccionario pero se obtuvo ${tipo}.`],
      });
    }
    const patch = await send('PATCH', `/api/usuarios/${id}/`, { json: ['a'] });
    assert.equal(patch.status, 400);
    assert.deepEqual(Object.keys(patch.body), ['non_field_errors']);
  });

  test('an empty JSON body reports the required fields', async () => {
    const res = await send('POST', '/api/usuarios/', {
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ['apellido', 'email', 'nombre']);
  });

  test('a body over the limit (64 KiB by default) is 413 {"detail"}', async () => {
    const big = nuevoUsuario({ nombre: 'x'.repeat(70 * 1024) });
    const res = await send('POST', '/api/usuarios/', { json: big });
    assert.equal(res.status, 413);
    assert.deepEqual(Object.keys(res.body), ['detail']);
    const patch = await send('PATCH', `/api/usuarios/${id}/`, { json: { nombre: 'é'.repeat(40 * 1024) } });
    assert.equal(patch.status, 413, 'the limit counts bytes of the body');
  });

  test('__proto__ and constructor keys are ignored like any unknown field, and pollute nothing', async () => {
    const res = await send('POST', '/api/usuarios/', {
      body: `{"email":"proto@example.com","nombre":"a","apellido":"b","__proto__":{"activo":false,"polluted":1},"constructor":{"prototype":{"polluted":1}}}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.activo, true);
    assert.equal(({} as { polluted?: number }).polluted, undefined);
  });
});

describe('afterwards', () => {
  test('no request of this file got a 5xx, and the service still answers', async () => {
    assert.ok(statuses.length > 50);
    assert.deepEqual(
      statuses.filter((status) => status >= 500),
      [],
    );
    const list = await s.api.get('/api/usuarios/');
    assert.equal(list.status, 200);
    const created = await s.api.post('/api/usuarios/', nuevoUsuario());
    assert.equal(created.status, 201);
  });
});
