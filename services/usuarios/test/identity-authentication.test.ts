// CONTRACT §5.3 on servicio-usuarios: forged tokens (alg none, HS256 key confusion, tampered claims,
// a foreign key claiming a known kid, expired, refresh-as-access...) are one 401 token_not_valid;
// the Authorization header's shapes; registration and login refuse a bad token while the other open
// endpoints ignore it; authentication before routing by id; OPTIONS; no CORS headers by default.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signingKey } from '@servicios/testing';
import {
  alterar,
  assert401,
  assertAnswer,
  claimsAccess,
  decodificar,
  ENCABEZADO_MALO,
  firmar,
  firmarHs256,
  firmarRs256,
  kidDe,
  NO_ENCONTRADO,
  SIN_CREDENCIALES,
  sinFirma,
  TOKEN_NO_VALIDO,
} from './identity-support.ts';
import { nuevoUsuario, type Suite, startUsuarios, type Usuario } from './support.ts';

const clave = signingKey();
let s: Suite;
let kid: string;
let cliente: Usuario;

before(async () => {
  s = await startUsuarios('identity_authentication', {
    JWT_PRIVATE_KEY: clave.privateKeyPem,
    THROTTLE_LOGIN_ATTEMPTS: '100000',
    THROTTLE_REGISTRATIONS: '100000',
  });
  kid = await kidDe(clave.publicKeyPem);
  cliente = await s.usuario('cliente');
});
after(() => s?.close());

/** GET /api/usuarios/me/ with this Authorization header (none when undefined). */
const me = (authorization?: string) =>
  s.anon.request('GET', '/api/usuarios/me/', {
    headers: authorization === undefined ? {} : { authorization },
  });
const conToken = (token: string) => me(`Bearer ${token}`);

describe('forged and unusable tokens at a protected route', () => {
  test('alg none is refused', async () => {
    assert401(await conToken(sinFirma(claimsAccess(s.admin.id, 'administrador'), kid)), TOKEN_NO_VALIDO);
  });

  test('HS256 signed with the public key (PEM text, or the JWK x||y bytes) is refused', async () => {
    const jwks = await s.anon.get('/.well-known/jwks.json');
    const jwk = jwks.body.keys.find((k: { kid: string }) => k.kid === kid);
    const pem = createPublicKey({ key: jwk, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    const xy = Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    const claims = claimsAccess(s.admin.id, 'administrador');
    for (const [nombre, secreto] of Object.entries({ pem, der, xy, sinSaltoFinal: pem.trim() })) {
      assert401(await conToken(firmarHs256(secreto, claims, kid)), TOKEN_NO_VALIDO, nombre);
    }
  });

  test('RS256 (another algorithm) claiming the known kid is refused', async () => {
    assert401(
      await conToken(await firmarRs256(claimsAccess(s.admin.id, 'administrador'), kid)),
      TOKEN_NO_VALIDO,
    );
  });

  test('a tampered payload with the original signature is refused', async () => {
    const token = cliente.api.token!;
    assertAnswer(await conToken(token), 200);
    const casos = {
      user_id: alterar(token, { user_id: s.admin.id }),
      tipo_usuario: alterar(token, { tipo_usuario: 'administrador' }),
      exp: alterar(token, { exp: decodificar(token).payload.exp + 3600 }),
    };
    for (const [caso, forjado] of Object.entries(casos))
      assert401(await conToken(forjado), TOKEN_NO_VALIDO, caso);
  });

  test('a token of a foreign key that claims the known kid, or an unknown kid, or none, is refused', async () => {
    const ajena = signingKey();
    const claims = claimsAccess(s.admin.id, 'administrador');
    assert401(await conToken(await firmar(ajena.privateKeyPem, claims, kid)), TOKEN_NO_VALIDO, 'known kid');
    assert401(
      await conToken(await firmar(ajena.privateKeyPem, claims, await kidDe(ajena.publicKeyPem))),
      TOKEN_NO_VALIDO,
      'its own kid',
    );
    // Signed with the service's own key but naming a kid it does not publish, or none.
    assert401(
      await conToken(await firmar(clave.privateKeyPem, claims, 'otro-kid')),
      TOKEN_NO_VALIDO,
      'unknown kid',
    );
    assert401(
      await conToken(await firmar(clave.privateKeyPem, claims, undefined)),
      TOKEN_NO_VALIDO,
      'no kid',
    );
  });

  test('a foreign key embedded in the header (jwk, jku) is never trusted', async () => {
    const ajena = signingKey();
    const jwk = createPublicKey(ajena.publicKeyPem).export({ format: 'jwk' });
    const claims = claimsAccess(s.admin.id, 'administrador');
    const casos: [string, Record<string, unknown>, string | undefined][] = [
      ['jwk, no kid', { jwk }, undefined],
      ['jwk and the known kid', { jwk }, kid],
      ['jku and the known kid', { jku: 'https://malicioso.example.net/jwks.json' }, kid],
    ];
    for (const [caso, cabecera, kidUsado] of casos) {
      const token = await firmar(ajena.privateKeyPem, claims, kidUsado, cabecera);
      assert401(await conToken(token), TOKEN_NO_VALIDO, caso);
    }
  });

  test('a token without exp (one that would never expire) is refused, even signed by the service', async () => {
    const { exp: _exp, ...sinExp } = claimsAccess(cliente.id, 'cliente');
    assert401(await conToken(await firmar(clave.privateKeyPem, sinExp, kid)), TOKEN_NO_VALIDO);
  });

  test('an expired access token is refused', async () => {
    const ahora = Math.floor(Date.now() / 1000);
    const claims = { ...claimsAccess(cliente.id, 'cliente'), iat: ahora - 400, exp: ahora - 1 };
    assert401(await conToken(await firmar(clave.privateKeyPem, claims, kid)), TOKEN_NO_VALIDO);
  });

  test('a refresh token used as an access token is refused', async () => {
    assert401(await conToken(cliente.refresh), TOKEN_NO_VALIDO);
  });

  test('garbage is refused', async () => {
    for (const basura of ['basura', 'a.b.c', '...', 'eyJhbGciOiJFUzI1NiJ9.e30.', 'ñandú']) {
      assert401(await conToken(basura), TOKEN_NO_VALIDO, basura);
    }
  });

  test('a valid token with extra claims works; extra claims grant nothing', async () => {
    const claims = {
      ...claimsAccess(cliente.id, 'cliente'),
      is_staff: true,
      roles: ['administrador'],
      nbf: 0,
    };
    const token = await firmar(clave.privateKeyPem, claims, kid);
    const res = await conToken(token);
    assertAnswer(res, 200);
    assert.equal(res.body.id, cliente.id);
    assertAnswer(await s.anon.as(token).get('/api/usuarios/'), 403);
  });

  test('a token signed by the service’s key is accepted as the user it names', async () => {
    const res = await conToken(await firmar(clave.privateKeyPem, claimsAccess(cliente.id, 'cliente'), kid));
    assertAnswer(res, 200);
    assert.equal(res.body.id, cliente.id);
  });
});

describe('the Authorization header', () => {
  test('no header: 401 without a code, with a Bearer challenge', async () => {
    const res = await me();
    assert401(res, SIN_CREDENCIALES);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"');
  });

  test('another scheme is no credentials at all', async () => {
    assert401(await me(`Basic ${Buffer.from('admin@example.com:x').toString('base64')}`), SIN_CREDENCIALES);
    assert401(await me(`Token ${cliente.api.token}`), SIN_CREDENCIALES);
  });

  test('the scheme is matched without case', async () => {
    for (const esquema of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await me(`${esquema} ${cliente.api.token}`);
      assertAnswer(res, 200, undefined, esquema);
      assert.equal(res.body.id, cliente.id);
    }
  });

  test('Bearer with no value or with more than one is 401 bad_authorization_header', async () => {
    for (const valor of ['Bearer', 'Bearer ', `Bearer ${cliente.api.token} extra`, 'Bearer a b']) {
      const res = await me(valor);
      assert401(res, ENCABEZADO_MALO, JSON.stringify(valor));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"');
    }
  });

  test('every token 401 carries WWW-Authenticate: Bearer realm="api"', async () => {
    const res = await conToken('basura');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"');
  });
});

describe('endpoints that need no token', () => {
  test('registration with an invalid token is a 401, not a registration', async () => {
    const datos = nuevoUsuario();
    const res = await s.anon.request('POST', '/api/usuarios/', {
      json: datos,
      headers: { authorization: 'Bearer basura' },
    });
    assert401(res, TOKEN_NO_VALIDO);
    const filas = await s.db.query('SELECT 1 FROM usuarios_usuario WHERE email = $1', [datos.email]);
    assert.equal(filas.rowCount, 0);
    const malformado = await s.anon.request('POST', '/api/usuarios/', {
      json: nuevoUsuario(),
      headers: { authorization: 'Bearer a b' },
    });
    assert401(malformado, ENCABEZADO_MALO);
  });

  test('login with an invalid token is a 401 token_not_valid, even with right credentials', async () => {
    const res = await s.anon.request('POST', '/api/token/', {
      json: { email: cliente.email, password: cliente.password },
      headers: { authorization: 'Bearer basura' },
    });
    assert401(res, TOKEN_NO_VALIDO);
  });

  test('registration and login with a valid token, or another scheme, work as anonymous', async () => {
    const reg = await cliente.api.post('/api/usuarios/', nuevoUsuario());
    assertAnswer(reg, 201);
    const login = await s.anon.request('POST', '/api/token/', {
      json: { email: cliente.email, password: cliente.password },
      headers: { authorization: 'Basic abc' },
    });
    assertAnswer(login, 200);
  });

  test('refresh, verify and blacklist ignore an invalid Authorization header', async () => {
    const u = await s.usuario('cliente');
    const headers = { authorization: 'Bearer basura' };
    const verify = await s.anon.request('POST', '/api/token/verify/', {
      json: { token: u.refresh },
      headers,
    });
    assertAnswer(verify, 200, {});
    const refresh = await s.anon.request('POST', '/api/token/refresh/', {
      json: { refresh: u.refresh },
      headers,
    });
    assertAnswer(refresh, 200);
    const logout = await s.anon.request('POST', '/api/token/blacklist/', {
      json: { refresh: refresh.body.refresh },
      headers: { authorization: 'Bearer a b' },
    });
    assertAnswer(logout, 200, {});
  });

  test('JWKS, health and docs ignore an invalid Authorization header', async () => {
    for (const path of [
      '/.well-known/jwks.json',
      '/healthz',
      '/readyz',
      '/health',
      '/ready',
      '/api/schema/',
      '/api/docs/',
    ]) {
      for (const authorization of ['Bearer basura', 'Bearer a b', 'Bearer']) {
        const res = await s.anon.get(path, { authorization });
        assert.equal(
          res.status,
          200,
          `${path} with ${authorization}: ${res.status} ${res.text.slice(0, 200)}`,
        );
      }
    }
  });
});

describe('authentication before routing', () => {
  test('an anonymous request to any path a protected route serves is a 401, whatever the id', async () => {
    const casos: [string, string][] = [
      ['GET', '/api/usuarios/abc/'],
      ['GET', '/api/usuarios/0/'],
      ['GET', '/api/usuarios/99999999/'],
      ['PATCH', '/api/usuarios/abc/'],
      ['DELETE', '/api/usuarios/-1/'],
      ['POST', '/api/usuarios/abc/activar/'],
      ['POST', '/api/usuarios/abc/password/'],
      ['GET', '/api/usuarios/'],
      ['GET', '/api/usuarios/me/'],
    ];
    for (const [method, path] of casos) {
      assert401(await s.anon.request(method, path), SIN_CREDENCIALES, `${method} ${path}`);
    }
  });

  test('with a token, a non-numeric id is a 404', async () => {
    assertAnswer(await s.api.get('/api/usuarios/abc/'), 404, NO_ENCONTRADO);
  });

  test('a path that no route serves is a 404, with or without a token', async () => {
    assertAnswer(await s.anon.get('/api/nada/'), 404, NO_ENCONTRADO);
    assertAnswer(await s.api.get('/api/nada/'), 404, NO_ENCONTRADO);
    assertAnswer(await s.anon.get('/api/usuarios/1/otra-cosa/'), 404, NO_ENCONTRADO);
  });
});

describe('OPTIONS and CORS (no CORS_ALLOWED_ORIGINS)', () => {
  test('OPTIONS needs a token like any other method', async () => {
    assert401(await s.anon.request('OPTIONS', '/api/usuarios/'), SIN_CREDENCIALES);
    assert401(await s.anon.request('OPTIONS', `/api/usuarios/${cliente.id}/`), SIN_CREDENCIALES);
    const conToken = await s.api.request('OPTIONS', '/api/usuarios/');
    assert.equal(conToken.status, 200, conToken.text);
  });

  test('a preflight is answered without a token and without a body, but allows no origin', async () => {
    const res = await s.anon.request('OPTIONS', '/api/usuarios/', {
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('www-authenticate'), null);
  });

  test('a normal request from a browser page gets no CORS headers', async () => {
    const res = await s.api.get('/api/usuarios/me/', { origin: 'https://app.example.com' });
    assertAnswer(res, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });
});
