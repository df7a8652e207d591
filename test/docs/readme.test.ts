// The README's "Try it" section works as written: `npm start` (scripts/start-all.mjs, on the embedded
// databases) prints a development administrador, and the section's shell block — register, log in,
// book, list, another user's 404, deactivation cancelling the reservation — gives the answers it says.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { build, freePort, ROOT, services, waitUntil } from '../delivery/support.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'readme-'));
let stop = async () => {};
after(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function tryItBlock(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Try it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'README.md has a "## Try it" section with a ```sh block');
  return block;
}

test('npm start prints a development login, and the README "Try it" block works as written', {
  timeout: 180_000,
}, async () => {
  for (const service of services()) await build(service);
  const [usuariosPort, reservasPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['scripts/start-all.mjs'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      USUARIOS_PORT: String(usuariosPort),
      RESERVAS_PORT: String(reservasPort),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  stop = async () => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };

  const ready = async (port: number) => {
    try {
      return (await fetch(`http://localhost:${port}/ready`)).status === 200;
    } catch {
      return false;
    }
  };
  await waitUntil(
    async () => (await ready(usuariosPort)) && (await ready(reservasPort)),
    90_000,
    'npm start',
  );
  const password = /password: (\S+)/.exec(output)?.[1];
  assert.ok(password, `npm start printed no password:\n${output}`);
  assert.match(output, /email: +admin@example\.com/);

  const script = tryItBlock().replace(
    /^U=http:\/\/localhost:8081 R=http:\/\/localhost:8082 PASSWORD='Dev-…'$/m,
    `U=http://localhost:${usuariosPort} R=http://localhost:${reservasPort} PASSWORD='${password}'`,
  );
  assert.notEqual(script, tryItBlock(), 'the block starts with the U=… R=… PASSWORD=… line');
  const lines = execFileSync('bash', ['-c', `set -e\n${script}`], { encoding: 'utf8', timeout: 60_000 })
    .trim()
    .split('\n');
  assert.match(lines[0]!, /^\{"id":\d+,"email":"ana@example.com".*"tipo_usuario":"cliente","activo":true/);
  assert.match(lines[1]!, /^\{"id":\d+,"email":"luis@example.com"/);
  assert.match(lines[2]!, /^\{"count":1,"next":null,"previous":null,"results":\[\{"id":\d+,"usuario_id":\d+/);
  assert.equal(lines[3], '404');
  assert.match(lines[4]!, /"activo":false/);
  assert.equal(lines[5], 'cancelada');
  assert.equal(lines.length, 6, lines.join('\n'));
  // The development password is printed once: a second start finds the administrador and prints none.
  await stop();
  const again = execFileSync(process.execPath, ['dist/crear-admin.js', '--desarrollo'], {
    cwd: path.join(ROOT, 'services', 'usuarios'),
    env: { PATH: process.env.PATH ?? '', PGLITE_DATA_DIR: path.join(dataDir, 'servicio-usuarios') },
    encoding: 'utf8',
  });
  assert.doesNotMatch(again, /password/);
});
