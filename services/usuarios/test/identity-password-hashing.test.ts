// CONTRACT §5.1 (storage): hashing is bounded per process, and what exceeds the bound is a 503 with
// Retry-After, never a 500 nor an unbounded queue. With one hash at a time and no queue, a burst of
// concurrent logins must see some 503s; the rest are ordinary 200/401 answers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertAnswer } from './identity-support.ts';
import { type Suite, startUsuarios, type Usuario } from './support.ts';

let s: Suite;
let usuarios: Usuario[];

before(async () => {
  s = await startUsuarios('identity_password_hashing', {
    PASSWORD_HASH_CONCURRENCY: '1',
    PASSWORD_HASH_QUEUE: '0',
    // Enough connections that the requests reach the hashing stage together.
    DATABASE_POOL_MAX: '20',
    // A 503 must not be mistaken for a throttled answer.
    THROTTLE_LOGIN_ATTEMPTS: '100000',
    THROTTLE_LOGIN_FAILURES: '100000',
  });
  usuarios = [];
  for (let i = 0; i < 3; i++) usuarios.push(await s.usuario('cliente'));
});
after(() => s?.close());

test('a burst of logins beyond the hashing bound gets 503 with Retry-After, the rest 200/401', async () => {
  let ocupados = 0;
  // Bursts until one overflows the bound (the first one virtually always does).
  for (let rafaga = 0; rafaga < 5 && ocupados === 0; rafaga++) {
    const intentos = Array.from({ length: 12 }, (_, i) => {
      const u = usuarios[i % usuarios.length]!;
      // Right password, wrong password and an unknown e-mail all cost one hash.
      const cuerpo = [
        { email: u.email, password: u.password },
        { email: u.email, password: `${u.password}-no` },
        { email: `nadie-${i}@example.com`, password: u.password },
      ][i % 3];
      return s.anon.post('/api/token/', cuerpo);
    });
    const respuestas = await Promise.all(intentos);
    for (const [i, res] of respuestas.entries()) {
      assert.ok([200, 401, 503].includes(res.status), `${res.status} ${res.text}`);
      if (res.status === 503) {
        ocupados++;
        assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        assert.equal(typeof res.body.detail, 'string');
        assert.deepEqual(Object.keys(res.body), ['detail']);
      } else if (i % 3 === 0) {
        assert.equal(res.status, 200, res.text);
      } else {
        assert.equal(res.status, 401, res.text);
      }
    }
    assert.ok(
      respuestas.some((r) => r.status !== 503),
      'the first hash always has its turn',
    );
  }
  assert.ok(ocupados > 0, 'no burst exceeded one hash at a time with no queue');
  // The bound is per moment, not a lasting state: a lone login goes through afterwards.
  const u = usuarios[0]!;
  assertAnswer(await s.anon.post('/api/token/', { email: u.email, password: u.password }), 200);
});
