// The list `count` comes from a counter table kept by triggers (migration 0002), not from COUNT(*):
// these tests hold it to COUNT(*) in SQL after every kind of write, including writes that bypass
// the API (bulk SQL, multi-row updates, TRUNCATE) and concurrent ones. Searches (CONTRACT §2) are
// counted insensitive to case and accents, every word matching; the reference folds them in SQL.
// The suite starts with the bootstrap administrador in the table; after the TRUNCATE its token still
// works, as access tokens are not checked against the database (§5.2).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { nuevoUsuario, type Suite, startUsuarios } from './support.ts';

let suite: Suite;
before(async () => {
  suite = await startUsuarios('usuarios_counts');
});
after(() => suite?.close());

const FILTROS = [
  '',
  'activo=true',
  'activo=false',
  'tipo_usuario=cliente',
  'tipo_usuario=empleado',
  'tipo_usuario=administrador',
  'activo=true&tipo_usuario=empleado',
  'activo=false&tipo_usuario=cliente',
  'search=ana',
  'search=zzz',
  'activo=true&search=perez',
  'search=PÉREZ',
  'search=ANA%20pérez',
  'search=perez,zzz',
  'tipo_usuario=cliente&search=Jose',
];

/** The search expression folded as the contract says: no accents, lower case. */
const plegar = (sqlText: string) =>
  `lower(regexp_replace(normalize(${sqlText}, NFD), '[\\u0300-\\u036f]', '', 'g'))`;

async function todoCuadra(): Promise<void> {
  for (const query of FILTROS) {
    const res = await suite.api.get(`/api/usuarios/?page_size=1&${query}`);
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    const params = new URLSearchParams(query);
    const conds: string[] = [];
    const values: unknown[] = [];
    if (params.has('activo')) conds.push(`activo = $${values.push(params.get('activo') === 'true')}`);
    if (params.has('tipo_usuario')) conds.push(`tipo_usuario = $${values.push(params.get('tipo_usuario'))}`);
    // Every word must match (DRF's SearchFilter); the test words hold no LIKE wildcard.
    for (const term of params
      .get('search')
      ?.split(/[\s,]+/)
      .filter(Boolean) ?? []) {
      conds.push(
        `${plegar(`nombre || ' ' || apellido || ' ' || email`)} LIKE '%' || ${plegar(`$${values.push(term)}::text`)} || '%'`,
      );
    }
    const { rows } = await suite.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM usuarios_usuario ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''}`,
      values,
    );
    assert.equal(res.body.count, rows[0]!.n, `count for "${query}"`);
  }
  const { rows } = await suite.db.query(
    `SELECT * FROM (SELECT activo, tipo_usuario, count(*) AS n FROM usuarios_usuario GROUP BY 1, 2) r
       FULL JOIN (SELECT activo, tipo_usuario, sum(n) AS n FROM usuarios_conteo GROUP BY 1, 2) c
       USING (activo, tipo_usuario)
      WHERE coalesce(r.n, 0) <> coalesce(c.n, 0)`,
  );
  assert.deepEqual(rows, []);
}

test('a table with only the administrador counts one', async () => {
  assert.equal((await suite.api.get('/api/usuarios/')).body.count, 1);
  await todoCuadra();
});

test('creations, type changes, deactivation, reactivation and soft delete', async () => {
  const ids: number[] = [];
  for (const [tipo, nombre] of [
    ['cliente', 'Ana'],
    ['empleado', 'Ana'],
    ['administrador', 'Ana'],
    ['cliente', 'José'],
    ['empleado', 'JOSÉ'],
  ]) {
    const res = await suite.api.post('/api/usuarios/', nuevoUsuario({ tipo_usuario: tipo, nombre }));
    assert.equal(res.status, 201, res.text);
    ids.push(res.body.id);
  }
  await todoCuadra();
  // The folded search finds both spellings: the oracle above is not comparing two zeros.
  assert.equal((await suite.api.get('/api/usuarios/?search=jose')).body.count, 2);
  assert.equal(
    (await suite.api.patch(`/api/usuarios/${ids[0]}/`, { tipo_usuario: 'administrador' })).status,
    200,
  );
  assert.equal((await suite.api.patch(`/api/usuarios/${ids[1]}/`, { nombre: 'Sin cambio' })).status, 200);
  assert.equal((await suite.api.post(`/api/usuarios/${ids[2]}/desactivar/`)).status, 200);
  assert.equal((await suite.api.post(`/api/usuarios/${ids[2]}/desactivar/`)).status, 200);
  assert.equal((await suite.api.delete(`/api/usuarios/${ids[3]}/`)).status, 204);
  await todoCuadra();
  assert.equal((await suite.api.post(`/api/usuarios/${ids[3]}/activar/`)).status, 200);
  await todoCuadra();
});

test('writes that bypass the API: bulk insert, multi-row update, delete, truncate', async () => {
  await suite.db.query(
    `INSERT INTO usuarios_usuario (email, nombre, apellido, tipo_usuario, activo)
     SELECT 'bulk' || g || '@example.com', 'Ana', 'Pérez',
            (ARRAY['cliente','empleado','administrador'])[1 + g % 3], g % 7 <> 0
       FROM generate_series(1, 300) AS g`,
  );
  await todoCuadra();
  await suite.db.query(`UPDATE usuarios_usuario SET activo = NOT activo WHERE id % 3 = 0`);
  await suite.db.query(`UPDATE usuarios_usuario SET tipo_usuario = 'empleado' WHERE id % 5 = 0`);
  await todoCuadra();
  await suite.db.query(`DELETE FROM usuarios_usuario WHERE id % 4 = 0`);
  await todoCuadra();
  await suite.db.query('TRUNCATE usuarios_usuario CASCADE');
  await todoCuadra();
  assert.equal((await suite.api.get('/api/usuarios/')).body.count, 0);
});

test('concurrent creations and state changes keep the counts exact', async () => {
  const creados = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      suite.api.post('/api/usuarios/', nuevoUsuario({ tipo_usuario: i % 2 ? 'cliente' : 'empleado' })),
    ),
  );
  assert.ok(creados.every((r) => r.status === 201));
  await Promise.all(
    creados.flatMap(({ body: { id } }, i) => [
      suite.api.post(`/api/usuarios/${id}/desactivar/`),
      suite.api.post(`/api/usuarios/${id}/activar/`),
      ...(i % 3 === 0 ? [suite.api.delete(`/api/usuarios/${id}/`)] : []),
      ...(i % 4 === 0 ? [suite.api.patch(`/api/usuarios/${id}/`, { tipo_usuario: 'administrador' })] : []),
    ]),
  );
  await todoCuadra();
});
