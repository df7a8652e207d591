// The DRF-shaped parsers behind every route schema: dates (§1 "dates"), strings, integers, and the
// body/query readers that report all offending fields at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  body,
  fields,
  MESSAGES,
  parseDateTime,
  query,
  ValidationError,
  validatorCompiler,
} from '../src/validation.ts';

const iso = (input: string) => parseDateTime(input)?.toISOString();

describe('parseDateTime', () => {
  test('any ISO 8601 offset is converted to UTC', () => {
    assert.equal(iso('2026-12-24T20:30:00Z'), '2026-12-24T20:30:00.000Z');
    assert.equal(iso('2026-12-24T20:30:00z'), '2026-12-24T20:30:00.000Z');
    assert.equal(iso('2026-12-24T20:30:00+02:00'), '2026-12-24T18:30:00.000Z');
    assert.equal(iso('2026-12-24T20:30:00-0530'), '2026-12-25T02:00:00.000Z');
    assert.equal(iso('2026-12-24T20:30:00+01'), '2026-12-24T19:30:00.000Z');
    assert.equal(iso('2026-12-31T23:30:00-01:00'), '2027-01-01T00:30:00.000Z');
  });

  test('without an offset the time is UTC; seconds and fractions are optional', () => {
    assert.equal(iso('2026-12-24T20:30'), '2026-12-24T20:30:00.000Z');
    assert.equal(iso('2026-12-24 20:30:15'), '2026-12-24T20:30:15.000Z');
    assert.equal(iso('2026-12-24T20:30:15.123456'), '2026-12-24T20:30:15.123Z');
    assert.equal(iso(' 2026-12-24T20:30:15.5Z '), '2026-12-24T20:30:15.500Z');
  });

  test('anything else is refused', () => {
    for (const bad of [
      '',
      'mañana',
      '2026-12-24',
      '20:30',
      '2026-02-30T10:00:00Z',
      '2025-02-29T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-12-24T24:00:00Z',
      '2026-12-24T20:60:00Z',
      '2026-12-24T20:30:61Z',
      '2026-12-24T20:30:00+24:00',
      '2026-12-24T20:30:00+02:60',
      '24/12/2026 20:30',
      '0000-01-01T00:00:00Z',
    ]) {
      assert.equal(parseDateTime(bad), undefined, bad);
    }
    assert.ok(parseDateTime('2024-02-29T10:00:00Z'), 'a leap day exists in 2024');
  });
});

describe('fields', () => {
  test('string: trims, counts characters, refuses blanks, null, non-strings and NUL', () => {
    const f = fields.string({ max: 3 });
    assert.deepEqual(f.parse('  abc  '), { ok: true, value: 'abc' });
    assert.deepEqual(f.parse('🙂🙂🙂'), { ok: true, value: '🙂🙂🙂' });
    assert.deepEqual(f.parse('abcd'), { ok: false, error: MESSAGES.maxLength(3) });
    assert.deepEqual(f.parse('  '), { ok: false, error: MESSAGES.blank });
    assert.deepEqual(f.parse(null), { ok: false, error: MESSAGES.null });
    assert.deepEqual(f.parse(12), { ok: true, value: '12' }, 'a number is taken as text (as DRF)');
    for (const bad of [true, [], {}]) assert.deepEqual(f.parse(bad), { ok: false, error: MESSAGES.string });
    assert.equal(f.parse('a\u0000').ok, false);
    assert.deepEqual(fields.string({ max: 3, required: false }).parse(' '), { ok: true, value: '' });
  });

  test('integer: JSON integers or digit strings within range', () => {
    const f = fields.integer({ min: 1, max: 50 });
    assert.deepEqual(f.parse(5), { ok: true, value: 5 });
    assert.deepEqual(f.parse(' 7 '), { ok: true, value: 7 });
    assert.deepEqual(f.parse(0), { ok: false, error: MESSAGES.min(1) });
    assert.deepEqual(f.parse('51'), { ok: false, error: MESSAGES.max(50) });
    for (const bad of [1.5, '1.5', 'abc', true, [], '', '1e2', 2 ** 60]) {
      assert.deepEqual(f.parse(bad), { ok: false, error: MESSAGES.integer }, String(bad));
    }
    assert.deepEqual(f.parse(null), { ok: false, error: MESSAGES.null });
  });

  test('email: lower-cases and validates', () => {
    const f = fields.email({ max: 254 });
    assert.deepEqual(f.parse(' A.B+c@Example.COM '), { ok: true, value: 'a.b+c@example.com' });
    assert.deepEqual(f.parse('a@b'), { ok: false, error: MESSAGES.email });
  });

  test('boolean and ordering filters', () => {
    const b = fields.boolean();
    for (const yes of [true, 'true', 'True', '1']) assert.deepEqual(b.parse(yes), { ok: true, value: true });
    for (const no of [false, 'false', 'FALSE', '0'])
      assert.deepEqual(b.parse(no), { ok: true, value: false });
    assert.equal(b.parse('si').ok, false);
    const o = fields.ordering(['a', 'b'] as const);
    assert.deepEqual(o.parse('-a, b'), {
      ok: true,
      value: [
        { field: 'a', descending: true },
        { field: 'b', descending: false },
      ],
    });
    assert.equal(o.parse('c').ok, false);
  });
});

describe('body and query', () => {
  const spec = { nombre: fields.string({ max: 5 }), notas: fields.string({ max: 5, required: false }) };
  const run = (schema: Record<string, unknown>, data: unknown) => validatorCompiler({ schema })(data);
  const errors = (result: ReturnType<typeof run>) =>
    'error' in result && result.error instanceof ValidationError ? result.error.fields : undefined;

  test('create fills defaults, replace leaves absent optional fields, partial requires nothing', () => {
    assert.deepEqual(run(body(spec, 'create'), { nombre: 'a' }), { value: { nombre: 'a', notas: '' } });
    assert.deepEqual(run(body(spec, 'replace'), { nombre: 'a' }), { value: { nombre: 'a' } });
    assert.deepEqual(run(body(spec, 'partial'), {}), { value: {} });
    assert.deepEqual(errors(run(body(spec, 'replace'), {})), { nombre: [MESSAGES.required] });
  });

  test('unknown keys are dropped; every bad field is reported', () => {
    assert.deepEqual(run(body(spec, 'create'), { nombre: 'a', otro: 1 }), {
      value: { nombre: 'a', notas: '' },
    });
    assert.deepEqual(errors(run(body(spec, 'create'), { nombre: 'abcdef', notas: 'abcdef' })), {
      nombre: [MESSAGES.maxLength(5)],
      notas: [MESSAGES.maxLength(5)],
    });
    assert.deepEqual(errors(run(body(spec, 'create'), [1])), {
      non_field_errors: [MESSAGES.notObject('list')],
    });
  });

  test('query: empty filters are no filter, the last repeated value wins, others pass through', () => {
    const q = query({ activo: fields.boolean() });
    assert.deepEqual(run(q, { activo: '', page: '2' }), { value: { page: '2' } });
    assert.deepEqual(run(q, { activo: ['true', 'false'] }), { value: { activo: false } });
    assert.deepEqual(errors(run(q, { activo: 'x' })), { activo: [MESSAGES.boolean] });
  });
});
