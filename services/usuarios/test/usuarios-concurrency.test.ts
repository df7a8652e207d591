// CONTRACT §2: e-mail uniqueness holds under concurrency, because the database's unique index on
// lower(email) decides, and its verdict is the same 400 as for a sequential duplicate. §5.1: the row
// that wins holds the password its own request sent (the losers' hashing leaves nothing behind).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { login } from '@servicios/testing';
import { nuevoUsuario, type Suite, startUsuarios } from './support.ts';

let s: Suite;
const DUPLICADO = { email: ['Email ya existe'] };

before(async () => {
  s = await startUsuarios('usuarios_concurrency');
});
after(() => s?.close());

async function contar(email: string): Promise<number> {
  const { rows } = await s.db.query(
    'SELECT count(*)::int AS n FROM usuarios_usuario WHERE lower(email) = $1',
    [email],
  );
  return rows[0]!.n;
}

test('ten concurrent creations of one e-mail: one 201, nine 400 "Email ya existe", one row', async () => {
  // Three rounds, each in mixed case, so that a lucky interleaving cannot pass by chance alone.
  for (const round of [1, 2, 3]) {
    const email = `carrera${round}@example.com`;
    const variants = Array.from({ length: 10 }, (_, i) => (i % 2 ? email.toUpperCase() : email));
    // Each racer has its own password: only the winner's may log in afterwards.
    const passwords = variants.map((_, i) => `Carrera-${round}-clave-${i}`);
    const responses = await Promise.all(
      variants.map((v, i) =>
        s.api.post('/api/usuarios/', nuevoUsuario({ email: v, nombre: `N${i}`, password: passwords[i] })),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 400, 400, 400, 400, 400, 400, 400, 400, 400], `round ${round}`);
    for (const r of responses.filter((r) => r.status === 400)) assert.deepEqual(r.body, DUPLICADO);
    const winner = responses.find((r) => r.status === 201)!;
    assert.equal(winner.body.email, email);
    assert.equal(await contar(email), 1);
    const ganador = responses.indexOf(winner);
    assert.equal(winner.body.nombre, `N${ganador}`);
    await login(s.anon, email, passwords[ganador]!);
  }
});

test('two users racing to take the same new e-mail by PATCH: one 200, one 400', async () => {
  const a = (await s.api.post('/api/usuarios/', nuevoUsuario())).body;
  const b = (await s.api.post('/api/usuarios/', nuevoUsuario())).body;
  const [ra, rb] = await Promise.all([
    s.api.patch(`/api/usuarios/${a.id}/`, { email: 'objetivo@example.com' }),
    s.api.patch(`/api/usuarios/${b.id}/`, { email: 'OBJETIVO@example.com' }),
  ]);
  assert.deepEqual([ra.status, rb.status].sort(), [200, 400]);
  assert.deepEqual((ra.status === 400 ? ra : rb).body, DUPLICADO);
  assert.equal(await contar('objetivo@example.com'), 1);
});

test('the service keeps answering after the races', async () => {
  const res = await s.api.get('/api/usuarios/?search=carrera');
  assert.equal(res.status, 200);
  assert.equal(res.body.count, 3);
});
