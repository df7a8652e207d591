import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDatabaseUnavailable } from '../src/database.ts';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
// As Drizzle wraps it: the SQLSTATE is on the cause.
const wrapped = (code: string) => Object.assign(new Error('Failed query: ...'), { cause: pgError(code) });

test('errors that mean "try again shortly" are 503 material, others are not', () => {
  for (const code of [
    '08006',
    '28P01',
    '3D000',
    '40001',
    '40P01',
    '53300',
    '57P01',
    '57014',
    'ECONNREFUSED',
  ]) {
    assert.equal(isDatabaseUnavailable(pgError(code)), true, code);
    assert.equal(isDatabaseUnavailable(wrapped(code)), true, `wrapped ${code}`);
  }
  for (const code of ['23505', '23514', '42P01', '22P02']) {
    assert.equal(isDatabaseUnavailable(wrapped(code)), false, code);
  }
  assert.equal(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect')), true);
  assert.equal(isDatabaseUnavailable(new Error('boom')), false);
});
