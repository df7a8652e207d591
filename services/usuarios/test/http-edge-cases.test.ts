// CONTRACT §1 over real HTTP: optional trailing slash, ids, 405 with Allow, 415, malformed and
// non-object JSON, 413 (also to a client that keeps sending, or has sent only the headers); each
// answered in DRF's shape, never a 5xx, and the service still up after. §5.3: on every path that a
// protected route serves, an anonymous request is a 401 before the id, the method (405) or OPTIONS
// is looked at; a CORS preflight needs no token. The old rules are proved with the administrador's token.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nuevoUsuario, PASSWORD, type Suite, startUsuarios } from './support.ts';

let s: Suite;
let id: number;
const NO_ENCONTRADO = { detail: 'No encontrado.' };
const SIN_CREDENCIALES = { detail: 'Las credenciales de autenticación no se proveyeron.' };

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

/** The same, without a token. */
async function sendAnon(method: string, path: string, options: Parameters<Suite['api']['request']>[2] = {}) {
  const res = await s.anon.request(method, path, options);
  statuses.push(res.status);
  return res;
}

/** Asserts §5.3's 401 for a request without credentials. */
function assertSinCredenciales(res: Awaited<ReturnType<typeof send>>, what: string) {
  assert.deepEqual([res.status, res.body], [401, SIN_CREDENCIALES], what);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, what);
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

  test('without a token, both forms of a protected path are the same 401', async () => {
    for (const [method, path] of [
      ['GET', '/api/usuarios'],
      ['GET', `/api/usuarios/${id}`],
      ['PATCH', `/api/usuarios/${id}`],
      ['DELETE', `/api/usuarios/${id}`],
      ['POST', `/api/usuarios/${id}/activar`],
      ['GET', '/api/usuarios/me'],
    ] as const) {
      const json = method === 'PATCH' ? { nombre: 'x' } : undefined;
      for (const variant of [path, `${path}/`]) {
        assertSinCredenciales(await sendAnon(method, variant, json ? { json } : {}), `${method} ${variant}`);
      }
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
        // Authentication comes first whatever the id: without a token it is a 401, never the 404.
        assertSinCredenciales(
          await sendAnon(method, path, json ? { json } : {}),
          `anonymous ${method} ${path}`,
        );
      }
    });
  }

  test('an unknown path is 404 in the same shape, with or without a token', async () => {
    for (const path of ['/api/nada/', '/api/usuarios/1/nada/', '/api/usuarios/abc/nada/']) {
      const res = await send('GET', path);
      assert.deepEqual([res.status, res.body], [404, NO_ENCONTRADO], path);
      const anon = await sendAnon('GET', path);
      assert.deepEqual([anon.status, anon.body], [404, NO_ENCONTRADO], `anonymous ${path}`);
    }
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
      const anon = await sendAnon(method, path, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
      if (path.startsWith('/healthz')) {
        // Health is public: the 405 needs no token.
        assert.equal(anon.status, 405, `anonymous ${method} ${path}`);
      } else {
        // As DRF: authentication before the method check, on a path whose routes need a token.
        assertSinCredenciales(anon, `anonymous ${method} ${path}`);
        assert.equal(anon.headers.get('allow'), null, `anonymous ${method} ${path}: no Allow before 401`);
      }
    });
  }
});

describe('OPTIONS', () => {
  const paths = [
    '/api/usuarios/',
    '/api/usuarios',
    `/api/usuarios/1/`,
    '/api/usuarios/1/activar/',
    '/api/usuarios/abc/',
  ];

  test('needs a token on a path whose routes need one: 401 without, 200 with', async () => {
    for (const path of paths) {
      assertSinCredenciales(await sendAnon('OPTIONS', path), `anonymous OPTIONS ${path}`);
    }
    for (const path of paths.slice(0, 4)) {
      const res = await send('OPTIONS', path);
      assert.equal(res.status, 200, `OPTIONS ${path}: ${res.text}`);
      assert.ok(res.headers.get('allow'), `OPTIONS ${path} has Allow`);
    }
  });

  test('a CORS preflight is 204 with no body and needs no token', async () => {
    for (const path of paths) {
      const res = await sendAnon('OPTIONS', path, {
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      assert.equal(res.status, 204, `preflight ${path}: ${res.text}`);
      assert.equal(res.text, '', `preflight ${path}`);
      assert.equal(res.headers.get('www-authenticate'), null, `preflight ${path}`);
      // No origin is configured (the default): the browser is not told it may go on.
      assert.equal(res.headers.get('access-control-allow-origin'), null, `preflight ${path}`);
    }
  });

  test('an OPTIONS with Origin but without Access-Control-Request-Method is no preflight: 401', async () => {
    const res = await sendAnon('OPTIONS', '/api/usuarios/', {
      headers: { origin: 'https://app.example.com' },
    });
    assertSinCredenciales(res, 'OPTIONS with Origin only');
  });

  test('OPTIONS on a public path needs no token', async () => {
    const res = await sendAnon('OPTIONS', '/healthz');
    assert.equal(res.status, 200, res.text);
  });
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
    assert.deepEqual(Object.keys(res.body).sort(), ['apellido', 'email', 'nombre', 'password']);
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
      body: `{"email":"proto@example.com","nombre":"a","apellido":"b","password":"${PASSWORD}","__proto__":{"activo":false,"polluted":1},"constructor":{"prototype":{"polluted":1}}}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.activo, true);
    assert.equal(({} as { polluted?: number }).polluted, undefined);
  });
});

/** The port of the suite's service, for raw sockets. */
const port = () => Number(new URL(s.url).port);

/** The head of a POST /api/usuarios/ that announces a body of `length` bytes. */
const cabecera = (length: number) =>
  `POST /api/usuarios/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

/** The status code at the start of a raw HTTP/1.1 answer, recorded like every other answer. */
function estado(bytes: Buffer): number {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(bytes.toString('latin1'))?.[1]);
  statuses.push(status);
  return status;
}

describe('a body too large for the limit, sent by a client that does not stop', () => {
  test('50 MB written without reading the socket: the bytes received start with HTTP/1.1 413', async () => {
    const total = 50_000_000;
    const recibido = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(port(), '127.0.0.1');
      socket.on('data', (chunk) => chunks.push(chunk));
      // The service ends the connection while we still write: EPIPE/ECONNRESET on our side is expected.
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
      });
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.once('connect', () => {
        // Not reading while writing, as a naive client that sends first and reads after.
        socket.pause();
        socket.write(cabecera(total));
        const trozo = Buffer.alloc(1024 * 1024, 'x');
        for (let enviado = 0; enviado < total; enviado += trozo.length) {
          socket.write(enviado + trozo.length <= total ? trozo : trozo.subarray(0, total - enviado));
        }
        setTimeout(() => socket.resume(), 500);
      });
    });
    assert.equal(
      recibido.subarray(0, 12).toString('latin1'),
      'HTTP/1.1 413',
      recibido.toString('latin1').slice(0, 200),
    );
    assert.equal(estado(recibido), 413);
  });

  test('headers alone with a huge Content-Length get the 413 before any byte of the body is sent', async () => {
    const socket = net.connect(port(), '127.0.0.1');
    try {
      const recibido = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        socket.on('error', reject);
        socket.on('data', (chunk) => {
          chunks.push(chunk);
          const texto = Buffer.concat(chunks).toString('latin1');
          // The whole answer (head and its JSON body) has arrived: the service decided on the header.
          const fin = texto.indexOf('\r\n\r\n');
          const largo = Number(/\r\ncontent-length: (\d+)/i.exec(texto)?.[1]);
          if (fin >= 0 && Buffer.byteLength(texto, 'latin1') >= fin + 4 + largo)
            resolve(Buffer.concat(chunks));
        });
        socket.on('close', () => resolve(Buffer.concat(chunks)));
        socket.write(cabecera(10_000_000_000));
      });
      const texto = recibido.toString('latin1');
      assert.equal(estado(recibido), 413, texto.slice(0, 200));
      const cuerpo = JSON.parse(texto.slice(texto.indexOf('\r\n\r\n') + 4));
      assert.deepEqual(Object.keys(cuerpo), ['detail']);
    } finally {
      socket.destroy();
    }
  });

  test("Node's fetch posting 20 MB three times in a row gets three 413s, never an exception", async () => {
    const cuerpo = Buffer.alloc(20 * 1024 * 1024, ' ');
    for (const intento of [1, 2, 3]) {
      const res = await send('POST', '/api/usuarios/', {
        body: cuerpo,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 413, `attempt ${intento}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body), ['detail']);
    }
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
