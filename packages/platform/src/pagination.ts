import type { FastifyRequest } from 'fastify';
import { DETAIL, HttpError } from './errors.js';
import { publicOrigin } from './hosts.js';
import type { JsonSchema } from './validation.js';

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;

export interface PageRequest {
  /** 1-based page number, or 'last' (DRF's `?page=last`). */
  page: number | 'last';
  size: number;
}

export interface PageResult<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** Query parameters of every list, for the schema (they are read by `readPageRequest`). */
export const pageParameters: Record<string, JsonSchema> = {
  page: { type: 'integer', minimum: 1, description: 'Número de página (desde 1).' },
  page_size: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
};

function single(raw: unknown): string | undefined {
  const value = Array.isArray(raw) ? raw.at(-1) : raw;
  return typeof value === 'string' ? value : undefined;
}

/** DRF's PageNumberPagination: a bad `page` is a 404, a bad `page_size` falls back to the default. */
export function readPageRequest(query: Record<string, unknown>): PageRequest {
  const rawSize = single(query.page_size);
  const size =
    rawSize && /^\d+$/.test(rawSize) && Number(rawSize) > 0
      ? Math.min(Number(rawSize), MAX_PAGE_SIZE)
      : DEFAULT_PAGE_SIZE;
  const rawPage = single(query.page);
  if (rawPage === undefined || rawPage === '') return { page: 1, size };
  if (rawPage === 'last') return { page: 'last', size };
  if (!/^\d{1,9}$/.test(rawPage) || Number(rawPage) < 1) throw new HttpError(404, DETAIL.invalidPage);
  return { page: Number(rawPage), size };
}

/** How a list loads its pages: see `paginate`. */
export interface PageLoader<T> {
  /** The page's rows and, computed in the same statement, the list's count (undefined if no row came back). */
  page: (limit: number, offset: number) => Promise<{ rows: T[]; count: number | undefined }>;
  /** The count alone: for an empty page (which carries no count) and for `page=last`. */
  count: () => Promise<number>;
}

/**
 * The page that `?page=` and `?page_size=` ask for. Its rows and the count come from one statement
 * (one round trip, one snapshot, so `count` agrees with `results`); only an empty page, or
 * `page=last`, asks for the count separately.
 */
export async function paginate<T>(request: FastifyRequest, load: PageLoader<T>): Promise<PageResult<T>> {
  const { page: asked, size } = readPageRequest(request.query as Record<string, unknown>);
  let page: number;
  let count: number | undefined;
  let rows: T[];
  if (asked === 'last') {
    count = await load.count();
    page = Math.max(1, Math.ceil(count / size));
    ({ rows } = await load.page(size, (page - 1) * size));
  } else {
    page = asked;
    ({ rows, count } = await load.page(size, (page - 1) * size));
    count ??= await load.count();
  }
  const pages = Math.max(1, Math.ceil(count / size));
  if (page > pages) throw new HttpError(404, DETAIL.invalidPage);
  return {
    count,
    next: page < pages ? pageLink(request, page + 1) : null,
    previous: page > 1 ? pageLink(request, page - 1) : null,
    results: rows,
  };
}

/** Absolute URL of the same request on another page, as seen by the client (behind Cloud Run's proxy too). */
function pageLink(request: FastifyRequest, page: number): string {
  // Concatenated, not resolved: a path such as //other.host/ must not replace the host.
  const url = new URL(`${publicOrigin(request)}${request.url}`);
  if (page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return url.toString();
}

/** Response schema of a page of `item`. */
export function pageSchema(item: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['count', 'next', 'previous', 'results'],
    properties: {
      count: { type: 'integer' },
      next: { type: ['string', 'null'], format: 'uri' },
      previous: { type: ['string', 'null'], format: 'uri' },
      results: { type: 'array', items: item },
    },
  };
}
