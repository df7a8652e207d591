#!/usr/bin/env node
// `npm start`: every service of the repository on its own port, for a newcomer. Each runs on the
// embedded PGlite database unless DATABASE_URL / DATABASE_* are set. Production runs one service
// per container with `node dist/server.js` instead.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const services = [
  { name: 'servicio-usuarios', dir: 'services/usuarios', port: 8081, api: '/api/usuarios/' },
  { name: 'servicio-reservas', dir: 'services/reservas', port: 8082, api: '/api/reservas/' },
].filter((s) => existsSync(path.join(s.dir, 'dist', 'server.js')));

const children = services.map((s) => {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: s.dir,
    stdio: 'inherit',
    env: { ...process.env, PORT: String(s.port) },
  });
  child.on('exit', (code, signal) => {
    console.log(`${s.name} exited (${signal ?? code})`);
    for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
    process.exitCode = code ?? 0;
  });
  return child;
});

for (const s of services) {
  console.log(`${s.name}: http://localhost:${s.port}${s.api}  (docs: http://localhost:${s.port}/api/docs/)`);
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill('SIGTERM');
  });
}
