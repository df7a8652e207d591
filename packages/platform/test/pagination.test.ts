// CONTRACT §1 pagination, on a bare Fastify app: page reading, absolute links that keep the other
// parameters and honour X-Forwarded-*, and "Página inválida.".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { HttpError } from '../src/errors.ts';
import { paginate, readPageRequest } from '../src/pagination.ts';

describe('readPageRequest', () => {
  test('defaults, clamping and fallbacks', () => {
    assert.deepEqual(readPageRequest({}), { page: 1, size: 10 });
    assert.deepEqual(readPageRequest({ page: '3', page_size: '25' }), { page: 3, size: 25 });
    assert.deepEqual(readPageRequest({ page_size: '101' }), { page: 1, size: 100 });
    // Any larger value is clamped, however many digits (DRF's _positive_int with cutoff).
    assert.deepEqual(readPageRequest({ page_size: '999999999999' }), { page: 1, size: 100 });
    for (const size of ['0', '-1', 'x', ''])
      assert.deepEqual(readPageRequest({ page_size: size }), { page: 1, size: 10 });
    assert.deepEqual(readPageRequest({ page: 'last' }), { page: 'last', size: 10 });
    assert.deepEqual(readPageRequest({ page: ['1', '4'] }), { page: 4, size: 10 });
    assert.deepEqual(readPageRequest({ page: '' }), { page: 1, size: 10 });
  });

  test('a page that is not a positive integer is 404 Página inválida.', () => {
    for (const page of ['0', '-1', 'abc', '1.0', '1e3', '9999999999']) {
      assert.throws(
        () => readPageRequest({ page }),
        (err: unknown) =>
          err instanceof HttpError && err.statusCode === 404 && err.detail === 'Página inválida.',
        page,
      );
    }
  });
});

describe('paginate', () => {
  let app: FastifyInstance;
  const ROWS = Array.from({ length: 25 }, (_, i) => i + 1);
  let queries = 0;

  before(async () => {
    app = Fastify({ trustProxy: true });
    app.setErrorHandler((err, _req, reply) =>
      err instanceof HttpError ? reply.code(err.statusCode).send({ detail: err.detail }) : reply.send(err),
    );
    app.get('/items/', async (request) => {
      const query = request.query as Record<string, string>;
      const rows = query.empty ? [] : ROWS;
      return paginate(request, {
        count: async () => {
          queries++;
          return rows.length;
        },
        page: async (limit, offset) => {
          queries++;
          const page = rows.slice(offset, offset + limit);
          // As the repositories do: the count rides along with the rows, absent from an empty page.
          return { rows: page, count: page.length ? rows.length : undefined };
        },
      });
    });
    await app.ready();
  });
  after(() => app.close());

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method: 'GET', url, headers: { host: 'svc.local:8080', ...headers } });
    return { status: res.statusCode, body: res.json() };
  };

  test('first, middle and last pages', async () => {
    const first = await get('/items/');
    assert.deepEqual(first.body, {
      count: 25,
      next: 'http://svc.local:8080/items/?page=2',
      previous: null,
      results: ROWS.slice(0, 10),
    });
    const middle = await get('/items/?page=2');
    assert.equal(middle.body.previous, 'http://svc.local:8080/items/');
    assert.equal(middle.body.next, 'http://svc.local:8080/items/?page=3');
    const last = await get('/items/?page=3');
    assert.deepEqual(last.body.results, ROWS.slice(20));
    assert.equal(last.body.next, null);
    assert.equal(last.body.previous, 'http://svc.local:8080/items/?page=2');
    assert.deepEqual((await get('/items/?page=last')).body.results, ROWS.slice(20));
  });

  test('links keep the other parameters, encoded', async () => {
    const res = await get('/items/?q=a%20b%26c&page=2&page_size=5&tags=x&tags=y');
    const next = new URL(res.body.next);
    assert.equal(next.searchParams.get('q'), 'a b&c');
    assert.deepEqual(next.searchParams.getAll('tags'), ['x', 'y']);
    assert.equal(next.searchParams.get('page'), '3');
    assert.equal(next.searchParams.get('page_size'), '5');
    const previous = new URL(res.body.previous);
    assert.equal(previous.searchParams.has('page'), false);
    assert.equal(previous.searchParams.get('q'), 'a b&c');
  });

  test('links honour X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const res = await get('/items/?page=2', {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
    });
    assert.equal(res.body.next, 'https://api.example.com/items/?page=3');
    assert.equal(res.body.previous, 'https://api.example.com/items/');
  });

  test('past the end is 404; an empty list is page 1 with count 0', async () => {
    assert.deepEqual(await get('/items/?page=4'), { status: 404, body: { detail: 'Página inválida.' } });
    assert.deepEqual((await get('/items/?empty=1')).body, {
      count: 0,
      next: null,
      previous: null,
      results: [],
    });
    assert.equal((await get('/items/?empty=1&page=2')).status, 404);
  });

  test('a page with rows costs one statement whatever its size; an empty one asks for the count', async () => {
    queries = 0;
    await get('/items/?page_size=100');
    assert.equal(queries, 1);
    queries = 0;
    await get('/items/?empty=1');
    assert.equal(queries, 2);
  });
});
