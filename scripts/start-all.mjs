#!/usr/bin/env node
// `npm start`: both services on their own ports, for a newcomer. Each runs on the embedded PGlite
// database unless DATABASE_URL / DATABASE_* are set; on the embedded database a first administrador is
// created (and its password printed) once, and servicio-usuarios delivers its events to
// servicio-reservas itself. Production runs one service per container with `node dist/server.js`.
// USUARIOS_PORT / RESERVAS_PORT (8081 / 8082) and DATA_DIR (each service's .data/) move them.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const ports = {
  usuarios: Number(process.env.USUARIOS_PORT ?? 8081),
  reservas: Number(process.env.RESERVAS_PORT ?? 8082),
};
const usuarios = `http://localhost:${ports.usuarios}`;
const reservas = `http://localhost:${ports.reservas}`;
const pubsub = ['PUBSUB_TOPIC', 'PUBSUB_EMULATOR_HOST'].some((v) => process.env[v]);
const dataDir = (name) =>
  process.env.DATA_DIR ? { PGLITE_DATA_DIR: path.resolve(process.env.DATA_DIR, name) } : {};

const services = [
  {
    name: 'servicio-usuarios',
    dir: 'services/usuarios',
    port: ports.usuarios,
    api: '/api/usuarios/',
    env: {
      ...dataDir('servicio-usuarios'),
      // With no Pub/Sub, servicio-usuarios pushes its events to servicio-reservas itself (CONTRACT §6).
      ...(pubsub
        ? {}
        : { LOCAL_PUSH_ENDPOINT: process.env.LOCAL_PUSH_ENDPOINT ?? `${reservas}/api/eventos/pubsub/` }),
    },
  },
  {
    name: 'servicio-reservas',
    dir: 'services/reservas',
    port: ports.reservas,
    api: '/api/reservas/',
    // servicio-reservas trusts the tokens that servicio-usuarios signs: it reads its public keys.
    env: {
      ...dataDir('servicio-reservas'),
      JWT_JWKS_URL: process.env.JWT_JWKS_URL ?? `${usuarios}/.well-known/jwks.json`,
      USUARIOS_URL: process.env.USUARIOS_URL ?? usuarios,
    },
  },
];

// First start on the embedded database: an administrador to log in with, printed once.
const admin = spawnSync(process.execPath, ['dist/crear-admin.js', '--desarrollo'], {
  cwd: services[0].dir,
  env: { ...process.env, ...services[0].env },
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (admin.status !== 0) process.exit(admin.status ?? 1);

const children = services.map((s) => {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: s.dir,
    stdio: 'inherit',
    env: { ...process.env, ...s.env, PORT: String(s.port) },
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
