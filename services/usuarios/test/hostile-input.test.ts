// Inputs found by a hostile review: each once gave a 500, a wrong status or silently altered data.
// CONTRACT §1 (hosts, forwarded headers, bodies, ids, 503) and §5.3 (a 401 comes first, whatever the
// path's id; the requests that prove the old rules carry the administrador's token).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { nuevoUsuario, PASSWORD, type Suite, startUsuarios } from './support.ts';

let s: Suite;
let restricted: Suite;
let id: number;

before(async () => {
  s = await startUsuarios('usuarios_hostile');
  restricted = await startUsuarios('usuarios_hostile_hosts', { ALLOWED_HOSTS: '.example.com,api.test' });
  // Enough rows for a `next` link on a page of one.
  for (let i = 0; i < 2; i++) id = (await s.api.post('/api/usuarios/', nuevoUsuario())).body.id;
  // The restricted service refuses the test client's 127.0.0.1 Host: its rows go in through SQL.
  await restricted.db.query(
    `INSERT INTO usuarios_usuario (email, nombre, apellido) VALUES ('r1@example.com', 'A', 'B'), ('r2@example.com', 'C', 'D')`,
  );
});
after(async () => {
  await s?.close();
  await restricted?.close();
});

/** The administrador's Authorization header in `suite`, for raw requests. */
const bearer = (suite: Suite) => ({ authorization: `Bearer ${suite.api.token}` });

/** A raw HTTP/1.x request, for headers fetch would refuse to send (or add). */
function raw(
  base: string,
  path: string,
  headers: Record<string, string>,
  options: { method?: string; body?: Buffer } = {},
) {
  const url = new URL(base);
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers, setHost: false },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('hosts and forwarded headers in pagination links', () => {
  test('a list-shaped X-Forwarded-Host uses its first entry; a garbage one is a 400, never a 500', async () => {
    const host = new URL(s.url).host;
    const listed = await raw(s.url, '/api/usuarios/?page_size=1', {
      ...bearer(s),
      host,
      'x-forwarded-host': 'a.example.com, b.example.com',
    });
    assert.equal(listed.status, 200);
    assert.equal(new URL(listed.body.next).host, 'a.example.com');
    for (const headers of <Record<string, string>[]>[
      { host, 'x-forwarded-host': 'a b' },
      { host: 'a b' },
      { host: 'evil.com#.example.com' },
    ]) {
      const res = await raw(s.url, '/api/usuarios/?page_size=1', { ...bearer(s), ...headers });
      assert.equal(res.status, 400, JSON.stringify(headers));
      assert.equal(typeof res.body.detail, 'string');
    }
  });

  test('X-Forwarded-Proto other than https gives http links', async () => {
    const host = new URL(s.url).host;
    for (const [proto, scheme] of [
      ['javascript', 'http:'],
      ['1', 'http:'],
      ['https', 'https:'],
      ['https, http', 'https:'],
    ]) {
      const res = await raw(s.url, '/api/usuarios/?page_size=1', {
        ...bearer(s),
        host,
        'x-forwarded-proto': proto as string,
      });
      assert.equal(res.status, 200, proto);
      assert.equal(new URL(res.body.next).protocol, scheme, proto);
    }
  });

  test('ALLOWED_HOSTS applies to X-Forwarded-Host and to malformed hosts', async () => {
    const ok = await raw(restricted.url, '/api/usuarios/?page_size=1', {
      ...bearer(restricted),
      host: 'api.test',
    });
    assert.equal(ok.status, 200);
    assert.equal(new URL(ok.body.next).host, 'api.test');
    for (const headers of <Record<string, string>[]>[
      { host: 'api.test', 'x-forwarded-host': 'evil.attacker.com' },
      { host: 'evil.com#.example.com' },
      { host: 'evil.com/.example.com' },
      { host: 'evil.com?.example.com' },
    ]) {
      assert.equal(
        (await raw(restricted.url, '/api/usuarios/', { ...bearer(restricted), ...headers })).status,
        400,
        JSON.stringify(headers),
      );
    }
    const mixedCase = await raw(restricted.url, '/api/usuarios/', {
      ...bearer(restricted),
      host: 'API.Example.com',
    });
    assert.equal(mixedCase.status, 200);
  });
});

describe('paths the router cannot read', () => {
  const paths = ['/api/usuarios/%ZZ/', `/api/usuarios/${'1'.repeat(150)}/`, '/api/usuarios/%ZZ/activar/'];

  test('bad percent-encoding and over-long ids are 404 in DRF shape', async () => {
    for (const path of paths) {
      const res = await (path.endsWith('activar/') ? s.api.post(path) : s.api.get(path));
      assert.equal(res.status, 404, path);
      assert.deepEqual(res.body, { detail: 'No encontrado.' });
    }
  });

  test('without a token they are the 401 of any path a protected route serves', async () => {
    for (const path of paths) {
      const res = await (path.endsWith('activar/') ? s.anon.post(path) : s.anon.get(path));
      assert.deepEqual(
        [res.status, res.body],
        [401, { detail: 'Las credenciales de autenticación no se proveyeron.' }],
        path,
      );
    }
  });
});

describe('bodies', () => {
  test('invalid UTF-8 is a 400, not stored as U+FFFD', async () => {
    const body = Buffer.concat([
      Buffer.from(`{"email":"lat@example.com","password":"${PASSWORD}","nombre":"Jos`),
      Buffer.from([0xe9]),
      Buffer.from('","apellido":"B"}'),
    ]);
    const res = await s.api.request('POST', '/api/usuarios/', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.equal(typeof res.body.detail, 'string');
    const stored = await s.db.query(`SELECT 1 FROM usuarios_usuario WHERE email = 'lat@example.com'`);
    assert.equal(stored.rowCount, 0);
  });

  test('a lone surrogate is a 400 on its field', async () => {
    const res = await s.api.request('POST', '/api/usuarios/', {
      body: `{"email":"sur@example.com","nombre":"\\ud800","apellido":"B","password":"${PASSWORD}"}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body), ['nombre']);
  });

  test('e-mail addresses Django accepts: IDN, localhost, IP literal, quoted local part', async () => {
    for (const email of ['user@exämple.com', 'a@localhost', 'a@[127.0.0.1]', '"quoted.local"@example.com']) {
      const res = await s.api.post('/api/usuarios/', nuevoUsuario({ email }));
      assert.equal(res.status, 201, `${email}: ${res.text}`);
      assert.equal(res.body.email, email.toLowerCase());
    }
    for (const email of ['a@[999.0.0.1]', 'a b@example.com', '"a"b@example.com']) {
      assert.equal((await s.api.post('/api/usuarios/', nuevoUsuario({ email }))).status, 400, email);
    }
  });

  test('a DELETE body is ignored, as DRF never reads it; POST with a body of no media type is 415', async () => {
    for (const [type, body] of [
      ['text/plain', 'x'],
      ['application/json', '{bad'],
    ] as const) {
      const victim = (await s.api.post('/api/usuarios/', nuevoUsuario())).body.id;
      const res = await s.api.request('DELETE', `/api/usuarios/${victim}/`, {
        body,
        headers: { 'content-type': type },
      });
      assert.equal(res.status, 204, type);
    }
    const url = new URL(s.url);
    const untyped = await raw(
      s.url,
      '/api/usuarios/',
      { ...bearer(s), host: url.host, 'content-length': '2' },
      { method: 'POST', body: Buffer.from('{}') },
    );
    assert.equal(untyped.status, 415);
  });

  test('PUT or PATCH with an invalid body on a missing id is 404, as DRF looks the row up first', async () => {
    assert.equal((await s.api.put('/api/usuarios/999999/', {})).status, 404);
    assert.equal((await s.api.patch('/api/usuarios/999999/', { email: 'no' })).status, 404);
    const existing = await s.api.patch(`/api/usuarios/${id}/`, { email: 'no' });
    assert.equal(existing.status, 400);
    assert.deepEqual(Object.keys(existing.body), ['email']);
  });
});

describe('pagination and methods', () => {
  test('page_size beyond nine digits is clamped to 100 like any large value', async () => {
    const res = await s.api.get('/api/usuarios/?page_size=1000000000000');
    assert.equal(res.status, 200);
    assert.equal(
      new URL(res.body.next ?? 'http://x/?page_size=1000000000000').searchParams.get('page_size'),
      '1000000000000',
    );
    const stored = await s.db.query('SELECT count(*)::int AS n FROM usuarios_usuario');
    assert.equal(res.body.results.length, Math.min(100, stored.rows[0]?.n));
  });

  test('OPTIONS answers 200 with Allow and metadata, as DRF', async () => {
    const res = await s.api.request('OPTIONS', '/api/usuarios/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('allow') ?? '', /GET.*POST/);
    assert.deepEqual(res.body.parses, ['application/json']);
  });
});

test('a database that refuses the credentials is a 503 with Retry-After, not a 500', async () => {
  const url = new URL(s.db.url);
  url.username = 'no_such_role_servicios';
  const { buildApp } = await import('../src/app.ts');
  const { loadConfig } = await import('@servicios/platform');
  // The suite's signing key: the administrador's token is valid here too, as on any instance of one
  // deployment (access tokens are verified without the database, so the request reaches it).
  const privateKeyPem = s.service.config.identity.privateKeyPem;
  assert.ok(privateKeyPem);
  const app = await buildApp({
    config: loadConfig(
      { DATABASE_URL: url.toString(), JWT_PRIVATE_KEY: privateKeyPem },
      { service: 'servicio-usuarios' },
    ),
    logger: false,
  });
  try {
    for (const [method, path, payload] of [
      ['GET', '/api/usuarios/'],
      ['GET', '/api/usuarios/1/'],
      ['GET', '/readyz'],
      ['POST', '/api/token/', { email: 'alguien@example.com', password: PASSWORD }],
      ['POST', '/api/usuarios/', nuevoUsuario()],
    ] as const) {
      const res = await app.inject({ method, url: path, payload, headers: bearer(s) });
      assert.equal(res.statusCode, 503, `${method} ${path}: ${res.body}`);
      assert.ok(res.headers['retry-after'], path);
      assert.deepEqual(Object.keys(res.json()), path === '/readyz' ? ['status', 'detail'] : ['detail'], path);
    }
  } finally {
    await app.close();
  }
});
