// docs/api.md is the repository's own API reference: its endpoint tables must list exactly the
// operations that each service's OpenAPI document serves, with the same need for a token, and its
// event table exactly the event types the services emit. The Markdown documents link only inside the
// repository (a user's clone has nothing beside it).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startService } from '@servicios/testing';
import { buildApp as buildReservas, servicio as reservas } from '../../services/reservas/src/app.ts';
import { EVENTOS_RESERVA } from '../../services/reservas/src/reservas/repository.ts';
import { EVENTOS_USUARIO } from '../../services/usuarios/src/usuarios/repository.ts';
import { type Suite, startUsuarios } from '../../services/usuarios/test/support.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const reference = readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');

let usuarios: Suite;
let reservasUrl: string;
let closeReservas: () => Promise<void>;
before(async () => {
  usuarios = await startUsuarios('docs_reference');
  const running = await startService(reservas, buildReservas, {
    DATABASE_URL: usuarios.db.url,
    JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`,
    USUARIOS_URL: usuarios.url,
  });
  reservasUrl = running.url;
  closeReservas = running.close;
});
after(async () => {
  await closeReservas?.();
  await usuarios?.close();
});

interface Row {
  operation: string;
  who: string;
}

/** The rows of the table under a heading: `| \`GET\` | \`/a/\`, \`/b/\` | who |`, one row per path. */
function endpointTable(heading: string): Row[] {
  const start = reference.indexOf(`### ${heading}`);
  assert.ok(start >= 0, `docs/api.md has no "### ${heading}"`);
  const rows: Row[] = [];
  for (const line of reference.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    const cells = line.split('|').map((c) => c.trim());
    const method = /^`([A-Z]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!method) continue;
    for (const [, url] of (cells[2] ?? '').matchAll(/`([^`]+)`/g)) {
      rows.push({ operation: `${method} ${url}`, who: cells[3] ?? '' });
    }
  }
  return rows;
}

async function operations(baseUrl: string): Promise<Map<string, 'none' | 'optional' | 'required'>> {
  const schema = (await (await fetch(`${baseUrl}/api/schema/`)).json()) as { paths: object };
  const found = new Map<string, 'none' | 'optional' | 'required'>();
  for (const [url, methods] of Object.entries(schema.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      const security = operation.security as object[] | undefined;
      const need = !security
        ? 'none'
        : security.some((s) => Object.keys(s).length === 0)
          ? 'optional'
          : 'required';
      found.set(`${method.toUpperCase()} ${url}`, need);
    }
  }
  return found;
}

for (const [name, url] of [
  ['servicio-usuarios', () => usuarios.url],
  ['servicio-reservas', () => reservasUrl],
] as const) {
  test(`the endpoints of ${name} in docs/api.md are exactly those of its OpenAPI document`, async () => {
    const served = await operations(url());
    const documented = endpointTable(`Endpoints of ${name}`);
    assert.deepEqual(documented.map((r) => r.operation).sort(), [...served.keys()].sort());
    for (const { operation, who } of documented) {
      // "anyone": no token; "401, …": a token; "…if sent, must be valid": a token only if the caller has one.
      const expected = who.includes('if sent, must be valid')
        ? 'optional'
        : who.startsWith('401')
          ? 'required'
          : 'none';
      assert.equal(served.get(operation), expected, `${operation}: "${who}"`);
    }
  });
}

test('the event types in docs/api.md are exactly those the services emit', () => {
  const documented = [...reference.matchAll(/`(servicios\.[a-z]+\.v1\.[a-z]+\.[a-z_]+)`/g)].map((m) => m[1]);
  const emitted = [
    ...EVENTOS_USUARIO.map((e) => `servicios.usuarios.v1.usuario.${e}`),
    ...EVENTOS_RESERVA.map((e) => `servicios.reservas.v1.reserva.${e}`),
  ];
  assert.deepEqual([...new Set(documented)].sort(), emitted.sort());
});

test('the Markdown documents link only to files of the repository that exist', () => {
  const documents = [
    'README.md',
    'DEPLOY.md',
    ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`),
    ...['bench/README.md', 'bench/pgbench/README.md'].filter((f) => existsSync(path.join(ROOT, f))),
  ].filter((f) => f.endsWith('.md'));
  for (const document of documents) {
    const text = readFileSync(path.join(ROOT, document), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // an absolute URL (https://…)
      const resolved = path.resolve(ROOT, path.dirname(document), target!);
      assert.ok(
        resolved.startsWith(`${ROOT}${path.sep}`),
        `${document} links outside the repository: ${target}`,
      );
      assert.ok(existsSync(resolved), `${document} links to a missing file: ${target}`);
    }
  }
});
