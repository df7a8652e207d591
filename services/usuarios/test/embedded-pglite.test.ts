// CONTRACT §4: with no database configured at all, the service runs on embedded PGlite in a data
// folder, migrating it itself; the data survives a restart.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '@servicios/platform';
import { buildApp, servicio } from '../src/app.ts';

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'usuarios-pglite-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

async function start() {
  // No DATABASE_* at all: only the folder, so the run leaves nothing in the repository.
  const config = loadConfig({ PGLITE_DATA_DIR: dataDir }, { service: servicio.name });
  assert.equal(config.database.kind, 'pglite');
  return buildApp({ config, logger: false });
}

test('starts, migrates, creates, lists and searches; the data outlives a restart', async () => {
  const app = await start();
  try {
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    const created = await app.inject({
      method: 'POST',
      url: '/api/usuarios/',
      payload: { email: ' Embebido@Example.com ', nombre: 'Zoë 🙂', apellido: 'Sin Servidor' },
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().email, 'embebido@example.com');
    assert.equal(created.json().nombre, 'Zoë 🙂');
    const dup = await app.inject({
      method: 'POST',
      url: '/api/usuarios/',
      payload: { email: 'EMBEBIDO@example.com', nombre: 'a', apellido: 'b' },
    });
    assert.deepEqual([dup.statusCode, dup.json()], [400, { email: ['Email ya existe'] }]);
    const list = await app.inject({ method: 'GET', url: '/api/usuarios/?search=servidor' });
    assert.equal(list.statusCode, 200);
    assert.equal(list.json().count, 1);
    assert.equal(list.json().results[0].id, created.json().id);
  } finally {
    await app.close();
  }

  const again = await start();
  try {
    const list = await again.inject({ method: 'GET', url: '/api/usuarios/' });
    assert.equal(list.json().count, 1);
    assert.equal(list.json().results[0].email, 'embebido@example.com');
  } finally {
    await again.close();
  }
});
