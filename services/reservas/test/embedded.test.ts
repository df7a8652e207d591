import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '@servicios/platform';
import { client } from '@servicios/testing';
import { buildApp } from '../src/app.ts';
import { enDias } from './setup.ts';

test('with no database configured, the embedded PGlite starts, migrates, creates and lists', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'reservas-pglite-'));
  try {
    const config = loadConfig({ PGLITE_DATA_DIR: dataDir }, { service: 'servicio-reservas' });
    assert.equal(config.database.kind, 'pglite');
    const app = await buildApp({ config, logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = app.server.address() as { port: number };
      const api = client(`http://127.0.0.1:${address.port}`);
      assert.equal((await api.get('/readyz')).status, 200);
      const created = await api.post('/api/reservas/', {
        usuario_id: 1,
        fecha_reserva: enDias(3),
        numero_personas: 2,
      });
      assert.equal(created.status, 201);
      assert.equal((await api.post(`/api/reservas/${created.body.id}/confirmar/`)).body.estado, 'confirmada');
      const list = await api.get('/api/reservas/');
      assert.equal(list.body.count, 1);
      assert.equal(list.body.results[0].estado, 'confirmada');
    } finally {
      await app.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
