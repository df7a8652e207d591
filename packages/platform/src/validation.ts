import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * Input validation with DRF's semantics and messages. Ajv cannot trim before it counts, tell
 * `"5"` (accepted, as DRF) from `true` (refused) without coercing both, nor speak DRF's Spanish, so
 * each field is a small parser that also carries its JSON Schema. Route schemas built here are
 * what Fastify compiles (see `validatorCompiler`) and what the OpenAPI document shows: one source.
 */

export type FieldErrors = Record<string, string[]>;

/** A 400 answered as DRF does: one key per offending field, each with a list of messages. */
export class ValidationError extends Error {
  readonly statusCode = 400;
  constructor(readonly fields: FieldErrors) {
    super('Datos inválidos.');
    this.name = 'ValidationError';
  }
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
export type JsonSchema = Record<string, unknown>;

export interface Field<T> {
  readonly schema: JsonSchema;
  readonly required: boolean;
  readonly fallback?: () => T;
  parse(input: unknown): Parsed<T>;
}

export const MESSAGES = {
  required: 'Este campo es requerido.',
  null: 'Este campo no puede ser nulo.',
  blank: 'Este campo no puede estar en blanco.',
  string: 'No es una cadena válida.',
  maxLength: (n: number) => `Asegúrese de que este campo no tenga más de ${n} caracteres.`,
  email: 'Introduzca una dirección de correo electrónico válida.',
  integer: 'Introduzca un número entero válido.',
  min: (n: number) => `Asegúrese de que este valor es mayor o igual a ${n}.`,
  max: (n: number) => `Asegúrese de que este valor es menor o igual a ${n}.`,
  choice: (v: unknown) => `"${String(v)}" no es una elección válida.`,
  dateTime:
    'Fecha/hora con formato erróneo. Use uno de los siguientes formatos en su lugar: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
  boolean: 'Debe ser un booleano válido.',
  nullCharacter: 'Los caracteres nulos no están permitidos.',
  notObject: (type: string) => `Datos inválidos. Se esperaba un diccionario pero se obtuvo ${type}.`,
};

const LONE_SURROGATE = /\p{Surrogate}/u;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (error: string): Parsed<never> => ({ ok: false, error });

interface StringOptions {
  max: number;
  /** Optional fields default to "" and may be blank. */
  required?: boolean;
  pattern?: RegExp;
  patternMessage?: string;
  description?: string;
}

function string(options: StringOptions): Field<string> {
  const required = options.required ?? true;
  return {
    required,
    fallback: required ? undefined : () => '',
    schema: {
      type: 'string',
      maxLength: options.max,
      ...(required ? { minLength: 1 } : { default: '' }),
      ...(options.pattern ? { pattern: options.pattern.source } : {}),
      ...(options.description ? { description: options.description } : {}),
    },
    parse(input) {
      if (input === null) return fail(MESSAGES.null);
      // DRF's CharField takes numbers and makes them strings; booleans and objects are refused.
      if (typeof input === 'number' && Number.isFinite(input)) input = String(input);
      if (typeof input !== 'string') return fail(MESSAGES.string);
      // PostgreSQL text cannot hold U+0000 (the insert would be a 500); Django refuses it too.
      if (input.includes('\u0000')) return fail(MESSAGES.nullCharacter);
      // A lone UTF-16 surrogate (JSON allows "\ud800") is no character: PostgreSQL would store U+FFFD.
      if (LONE_SURROGATE.test(input)) return fail(MESSAGES.string);
      const value = input.trim();
      if (value === '') return required ? fail(MESSAGES.blank) : ok('');
      // Characters, not UTF-16 units nor bytes: "🙂" is one.
      if ([...value].length > options.max) return fail(MESSAGES.maxLength(options.max));
      if (options.pattern && !options.pattern.test(value))
        return fail(options.patternMessage ?? MESSAGES.string);
      return ok(value);
    },
  };
}

// Django's EmailValidator: a dot-atom or quoted local part (printable ASCII only); a domain of valid labels (IDN through
// punycode), `localhost`, or an IP literal such as [127.0.0.1].
const EMAIL_USER =
  /^([-!#$%&'*+/=?^_`{}|~0-9a-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*|"([!#-[\]-~]|\\[ -~])*")$/i;
const EMAIL_DOMAIN = /^((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+)(?:[a-z0-9-]{2,63}(?<!-))$/i;
const EMAIL_LITERAL = /^\[([a-f0-9:.]+)\]$/i;

function emailDomainValid(domain: string): boolean {
  if (domain === 'localhost' || EMAIL_DOMAIN.test(domain)) return true;
  const literal = EMAIL_LITERAL.exec(domain);
  if (literal) return isIP(literal[1] ?? '') !== 0;
  const ascii = domainToASCII(domain);
  return ascii !== '' && ascii !== domain && EMAIL_DOMAIN.test(ascii);
}

function email(options: { max: number }): Field<string> {
  const base = string({ max: options.max });
  return {
    required: true,
    schema: { type: 'string', format: 'email', maxLength: options.max },
    parse(input) {
      const parsed = base.parse(input);
      if (!parsed.ok) return parsed;
      const value = parsed.value.toLowerCase();
      const at = value.lastIndexOf('@');
      if (at < 1 || !EMAIL_USER.test(value.slice(0, at)) || !emailDomainValid(value.slice(at + 1))) {
        return fail(MESSAGES.email);
      }
      return ok(value);
    },
  };
}

function integer(options: { min: number; max: number; description?: string }): Field<number> {
  return {
    required: true,
    schema: {
      anyOf: [
        { type: 'integer', minimum: options.min, maximum: options.max },
        { type: 'string', pattern: '^\\s*-?\\d+(\\.0*)?\\s*$' },
      ],
      ...(options.description ? { description: options.description } : {}),
    },
    parse(input) {
      if (input === null) return fail(MESSAGES.null);
      let value: number;
      if (typeof input === 'number') value = input;
      // DRF strips a zero fraction: "5.0" is 5, "5.5" is not an integer.
      else if (typeof input === 'string' && /^\s*-?\d{1,16}(\.0*)?\s*$/.test(input)) value = Number(input);
      else return fail(MESSAGES.integer);
      if (!Number.isSafeInteger(value)) return fail(MESSAGES.integer);
      if (value < options.min) return fail(MESSAGES.min(options.min));
      if (value > options.max) return fail(MESSAGES.max(options.max));
      return ok(value);
    },
  };
}

function choice<const T extends string>(values: readonly T[], options: { fallback?: T } = {}): Field<T> {
  const fallback = options.fallback;
  return {
    required: fallback === undefined,
    fallback: fallback === undefined ? undefined : () => fallback,
    schema: { type: 'string', enum: [...values], ...(fallback ? { default: fallback } : {}) },
    parse(input) {
      if (input === null) return fail(MESSAGES.null);
      return typeof input === 'string' && (values as readonly string[]).includes(input)
        ? ok(input as T)
        : fail(MESSAGES.choice(typeof input === 'object' ? JSON.stringify(input) : input));
    },
  };
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** ISO 8601 date-time; without an offset it is UTC. Impossible dates (Feb 30, 25:00) are refused. */
export function parseDateTime(input: string): Date | undefined {
  const m = ISO_DATE_TIME.exec(input.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone = 'Z'] = m;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  // setUTCFullYear, unlike Date.UTC, takes years 0–99 literally.
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, Number(frac.slice(0, 3).padEnd(3, '0')));
  if (
    year < 1 ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const instant = new Date(check.getTime() - offsetMinutes * 60_000);
  // PostgreSQL (and Python's datetime) hold years 1 to 9999, also after the offset is applied.
  const utcYear = instant.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? instant : undefined;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A seconds fraction with a non-zero digit past the third (microseconds, nanoseconds). */
const SUB_MILLISECOND = /:\d{2}[.,]\d{3}\d*[1-9]/;

interface DateTimeOptions {
  description?: string;
  /** Refuse instants that are not after now, with this message. */
  future?: string;
  /**
   * For range filters: a bare date (YYYY-MM-DD) is taken as the first ('start') or last ('end')
   * millisecond of that UTC day, so that `fecha_hasta=2026-12-24` includes the whole day.
   */
  bound?: 'start' | 'end';
}

function dateTime(options: DateTimeOptions = {}): Field<Date> {
  return {
    required: true,
    schema: {
      type: 'string',
      format: 'date-time',
      ...(options.description ? { description: options.description } : {}),
    },
    parse(input) {
      if (input === null) return fail(MESSAGES.null);
      if (typeof input !== 'string') return fail(MESSAGES.dateTime);
      let value = parseDateTime(input);
      if (!value && options.bound && ISO_DATE.test(input.trim())) {
        const start = parseDateTime(`${input.trim()}T00:00:00Z`);
        value = start && options.bound === 'end' ? new Date(start.getTime() + 86_400_000 - 1) : start;
      }
      if (!value) return fail(MESSAGES.dateTime);
      // Dates hold milliseconds: a lower bound of 10:00:00.000001 must not include 10:00:00.000.
      if (options.bound === 'start' && SUB_MILLISECOND.test(input)) value = new Date(value.getTime() + 1);
      if (options.future && value.getTime() <= Date.now()) return fail(options.future);
      return ok(value);
    },
  };
}

function boolean(): Field<boolean> {
  return {
    required: false,
    schema: { type: 'string', enum: ['true', 'false'] },
    parse(input) {
      const value = typeof input === 'string' ? input.toLowerCase() : input;
      if (value === true || value === 'true' || value === '1') return ok(true);
      if (value === false || value === 'false' || value === '0') return ok(false);
      return fail(MESSAGES.boolean);
    },
  };
}

export interface OrderTerm<T extends string> {
  field: T;
  descending: boolean;
}

/** DRF's `?ordering=a,-b`: each term one of `allowed`, optionally prefixed with `-`. */
function ordering<const T extends string>(allowed: readonly T[]): Field<OrderTerm<T>[]> {
  const choices = allowed.flatMap((name) => [name, `-${name}`]);
  return {
    required: false,
    schema: { type: 'string', description: `Uno o varios de: ${choices.join(', ')} (separados por comas).` },
    parse(input) {
      if (typeof input !== 'string') return fail(MESSAGES.string);
      const terms: OrderTerm<T>[] = [];
      for (const term of input
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)) {
        const name = term.replace(/^-/, '');
        if (!(allowed as readonly string[]).includes(name)) return fail(MESSAGES.choice(term));
        terms.push({ field: name as T, descending: term.startsWith('-') });
      }
      return ok(terms);
    },
  };
}

/**
 * A password, as DRF's CharField with `trim_whitespace=False`: never trimmed, so white space alone is
 * not blank; write-only in the docs. Numbers become strings, as any CharField.
 */
function password(options: { max: number }): Field<string> {
  return {
    required: true,
    schema: { type: 'string', format: 'password', writeOnly: true, minLength: 1, maxLength: options.max },
    parse(input) {
      if (input === null) return fail(MESSAGES.null);
      if (typeof input === 'number' && Number.isFinite(input)) input = String(input);
      if (typeof input !== 'string') return fail(MESSAGES.string);
      if (input.includes('\u0000')) return fail(MESSAGES.nullCharacter);
      if (LONE_SURROGATE.test(input)) return fail(MESSAGES.string);
      if (input === '') return fail(MESSAGES.blank);
      if ([...input].length > options.max) return fail(MESSAGES.maxLength(options.max));
      return ok(input);
    },
  };
}

export const fields = { string, email, integer, choice, dateTime, boolean, ordering, password };

// biome-ignore lint/suspicious/noExplicitAny: a record of heterogeneous fields.
type Fields = Record<string, Field<any>>;
export type Values<F extends Fields> = { [K in keyof F]: F[K] extends Field<infer T> ? T : never };

const VALIDATE = Symbol('validate');
type Validate = (data: unknown) => { value: unknown } | { error: Error };

function withValidator(schema: JsonSchema, validate: Validate): JsonSchema {
  Object.defineProperty(schema, VALIDATE, { value: validate, enumerable: false });
  return schema;
}

/** Fastify's validatorCompiler for every schema built here. */
export function validatorCompiler({ schema }: { schema: unknown }): Validate {
  const validate = (schema as { [VALIDATE]?: Validate })[VALIDATE];
  if (!validate) throw new Error('Route schema was not built with @servicios/platform validation helpers');
  return validate;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

function properties(spec: Fields): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(spec).map(([name, field]) => [name, field.schema]));
}

/**
 * A request body, read as DRF's serializers do: unknown and read-only keys are ignored and every
 * offending field is reported. `create` (POST) requires the required fields and fills in the
 * defaults of absent optional ones; `replace` (PUT) requires the same but leaves absent optional
 * ones as they are stored; `partial` (PATCH) requires nothing and changes only what is given.
 */
export function body<F extends Fields>(spec: F, mode: 'create' | 'replace' | 'partial'): JsonSchema {
  const required = mode === 'partial' ? [] : Object.keys(spec).filter((name) => spec[name]?.required);
  const schema: JsonSchema = {
    type: 'object',
    properties: properties(spec),
    ...(required.length ? { required } : {}),
  };
  return withValidator(schema, (data) => {
    // An empty body is an empty form, as in DRF: required fields are then reported by name.
    const input = data ?? {};
    if (typeof input !== 'object' || Array.isArray(input)) {
      return { error: new ValidationError({ non_field_errors: [MESSAGES.notObject(describe(input))] }) };
    }
    const record = input as Record<string, unknown>;
    const value: Record<string, unknown> = {};
    const errors: FieldErrors = {};
    for (const [name, field] of Object.entries(spec)) {
      if (!Object.hasOwn(record, name) || record[name] === undefined) {
        if (mode === 'partial') continue;
        if (field.required) errors[name] = [MESSAGES.required];
        else if (mode === 'create' && field.fallback) value[name] = field.fallback();
        continue;
      }
      const parsed = field.parse(record[name]);
      if (parsed.ok) value[name] = parsed.value;
      else errors[name] = [parsed.error];
    }
    return Object.keys(errors).length ? { error: new ValidationError(errors) } : { value };
  });
}

/**
 * The body's field errors on a route declared with `attachValidation` ({} when the body is valid),
 * so the handler can look the row up first, as DRF does: a bad body for a missing id is a 404.
 * Any other validation failure (a bad path id) is thrown as it is.
 */
export function bodyErrors(request: { validationError?: Error }): FieldErrors {
  const error = request.validationError;
  if (!error) return {};
  if (error instanceof ValidationError) return { ...error.fields };
  throw error;
}

/** A query string of optional filters; other parameters pass through untouched (e.g. `page`). */
export function query<F extends Fields>(spec: F, passthrough: Record<string, JsonSchema> = {}): JsonSchema {
  const schema: JsonSchema = { type: 'object', properties: { ...properties(spec), ...passthrough } };
  return withValidator(schema, (data) => {
    const record = (data ?? {}) as Record<string, unknown>;
    const value: Record<string, unknown> = { ...record };
    const errors: FieldErrors = {};
    for (const [name, field] of Object.entries(spec)) {
      let raw = record[name];
      if (Array.isArray(raw)) raw = raw.at(-1); // ?a=1&a=2 means a=2, as Django's QueryDict.get
      if (raw === undefined || raw === '') {
        delete value[name]; // an empty filter is no filter, as django-filter
        continue;
      }
      const parsed = field.parse(raw);
      if (parsed.ok) value[name] = parsed.value;
      else errors[name] = [parsed.error];
    }
    return Object.keys(errors).length ? { error: new ValidationError(errors) } : { value };
  });
}

const ID = /^[1-9]\d{0,15}$/;

/** `{id}` path parameter: anything but a positive integer is a 404, never a 400. */
export const idParams: JsonSchema = withValidator(
  { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
  (data) => {
    const raw = (data as { id?: unknown } | null)?.id;
    const id = typeof raw === 'string' && ID.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(id))
      return { error: Object.assign(new Error('No encontrado.'), { statusCode: 404 }) };
    return { value: { id } };
  },
);
