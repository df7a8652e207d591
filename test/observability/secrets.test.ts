// Issue 11 with CONTRACT §5.1 (a password is never in an answer, log line or error — nor in telemetry):
// after a registration, a failed and a good login, a search, a PATCH, a password change, a refresh, a
// logout and a reservation made across both services, no span (name, attributes, events, links,
// status) and no metric data point carries a password, a token (or any JWT: `eyJ`), an e-mail, or an
// SQL parameter value (the search word, the new nombre).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  collect,
  describeSpans,
  enDias,
  eventually,
  isDb,
  startTracedStack,
  type TracedStack,
} from './support.ts';

let stack: TracedStack;

before(async () => {
  stack = await startTracedStack('obs_secrets');
});

after(() => stack?.close());

/** What an exporter would send of a span: everything but its timings. */
const exported = (s: ReadableSpan) =>
  JSON.stringify({
    name: s.name,
    attributes: s.attributes,
    events: s.events,
    links: s.links,
    status: s.status,
  });

test('no span and no metric carries a password, a token, an e-mail or an SQL parameter value', async () => {
  const { usuarios, admin } = stack;
  const reservas = stack.reservas!;
  const tag = randomBytes(6).toString('hex');
  const secret = {
    email: `secreto-${tag}@example.com`,
    nombre: `Nombre${tag}`,
    apellido: `Apellido${tag}`,
    password: `Clave-${tag}-ventana`,
    wrongPassword: `Mala-${tag}-ventana`,
    newPassword: `Nueva-${tag}-ventana`,
    word: `palabra${tag}`,
    newNombre: `Renombrado${tag}`,
  };
  const anon = usuarios.anon;
  const expect = async (res: Promise<{ status: number; text: string }>, status: number, what: string) => {
    const r = await res;
    assert.equal(r.status, status, `${what}: ${r.text}`);
    return r as unknown as { status: number; body: any };
  };

  const registro = await expect(
    anon.post('/api/usuarios/', {
      email: secret.email,
      nombre: secret.nombre,
      apellido: secret.apellido,
      password: secret.password,
    }),
    201,
    'registration',
  );
  const id = registro.body.id as number;
  await expect(
    anon.post('/api/token/', { email: secret.email, password: secret.wrongPassword }),
    401,
    'bad login',
  );
  const first = (
    await expect(anon.post('/api/token/', { email: secret.email, password: secret.password }), 200, 'login')
  ).body;
  const yo = anon.as(first.access);
  await expect(admin.get(`/api/usuarios/?search=${secret.word}`), 200, 'search');
  await expect(
    admin.get(`/api/usuarios/?search=${encodeURIComponent(secret.email)}`),
    200,
    'search by e-mail',
  );
  await expect(yo.patch(`/api/usuarios/${id}/`, { nombre: secret.newNombre }), 200, 'PATCH');
  await expect(
    yo.post(`/api/usuarios/${id}/password/`, {
      password: secret.newPassword,
      password_actual: secret.password,
    }),
    204,
    'password change',
  );
  const second = (
    await expect(
      anon.post('/api/token/', { email: secret.email, password: secret.newPassword }),
      200,
      'login again',
    )
  ).body;
  const third = (await expect(anon.post('/api/token/refresh/', { refresh: second.refresh }), 200, 'refresh'))
    .body;
  await expect(anon.post('/api/token/verify/', { token: third.access }), 200, 'verify');
  await expect(anon.post('/api/token/blacklist/', { refresh: third.refresh }), 200, 'logout');
  // Across both services: the administrador's token travels to servicio-usuarios on the traced call.
  await expect(
    reservas.anon
      .as(stack.adminToken)
      .post('/api/reservas/', { usuario_id: id, fecha_reserva: enDias(4), numero_personas: 2 }),
    201,
    'reservation',
  );
  await expect(reservas.anon.as(third.access).get('/api/reservas/'), 200, 'reservas as the user');

  const routes = [
    'POST /api/usuarios/',
    'POST /api/token/',
    'GET /api/usuarios/',
    'PATCH /api/usuarios/:id/',
    'POST /api/usuarios/:id/password/',
    'POST /api/token/refresh/',
    'POST /api/token/verify/',
    'POST /api/token/blacklist/',
  ];
  const servers = (spans: ReadableSpan[]) =>
    new Set(spans.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.name));
  await eventually(
    () => {
      const seen = servers(usuarios.spans.getFinishedSpans());
      return routes.every((r) => seen.has(r)) ? true : undefined;
    },
    `server spans of ${routes.join(', ')}`,
  );
  await eventually(
    () =>
      ['POST /api/reservas/', 'GET /api/reservas/'].every((r) =>
        servers(reservas.spans.getFinishedSpans()).has(r),
      )
        ? true
        : undefined,
    'the reservas server spans',
  );
  const spans = [...usuarios.spans.getFinishedSpans(), ...reservas.spans.getFinishedSpans()];
  // Not a vacuous scan: the requests, the outgoing call and statements are all there.
  assert.ok(
    spans.some((s) => s.kind === SpanKind.CLIENT && !isDb(s)),
    describeSpans(spans),
  );
  assert.ok(spans.some(isDb), describeSpans(spans));

  const tokens: string[] = [
    first.access,
    first.refresh,
    second.access,
    second.refresh,
    third.access,
    third.refresh,
    stack.adminToken,
  ];
  const forbidden: [string, string][] = [
    ...Object.entries(secret),
    ...tokens.map((t, i): [string, string] => [`token ${i}`, t]),
    // Any part of a JWT: its header, payload and signature.
    ...tokens.flatMap((t, i) =>
      t.split('.').map((part, j): [string, string] => [`token ${i} part ${j}`, part]),
    ),
    ['a JWT', 'eyJ'],
  ];
  for (const span of spans) {
    const text = exported(span);
    for (const [what, value] of forbidden)
      assert.ok(!text.includes(value), `span "${span.name}" carries ${what}: ${text}`);
    assert.doesNotMatch(text, /@/, `span "${span.name}" carries an e-mail: ${text}`);
  }
  for (const of of [usuarios, reservas]) {
    const text = JSON.stringify((await collect(of.metrics)).raw);
    for (const [what, value] of forbidden) assert.ok(!text.includes(value), `a metric carries ${what}`);
    assert.doesNotMatch(text, /@/, 'a metric carries an e-mail');
  }
});
