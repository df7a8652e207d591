// `npm run crear-admin -w servicio-usuarios`: creates an administrador, asking for the password
// without echoing it (CONTRACT §5.6). Works on the configured database (DATABASE_URL, …) or on the
// embedded one. `--desarrollo` is what the root `npm start` runs first: on the embedded database,
// when there is no active administrador yet, it creates one with a random password and prints it once.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { text } from 'node:stream/consumers';
import { errorSummary, loadConfig, openDatabase } from '@servicios/platform';
import { servicio } from './app.js';
import { migrar } from './bootstrap.js';
import { AdministradorInvalido, hayAdministradorActivo } from './usuarios/administrador.js';

const config = loadConfig(process.env, { service: servicio.name });
const { stdin } = process;
/** Piped answers (scripts, tests): read at once, one per line; there is no screen to hide them from. */
let lineas: string[] | undefined;

async function deTuberia(pregunta: string): Promise<string> {
  lineas ??= (await text(stdin)).split(/\r?\n/);
  process.stdout.write(`${pregunta}\n`);
  return lineas.shift() ?? '';
}

/** A line typed at the terminal, not shown: raw mode, one character at a time. */
async function oculto(pregunta: string): Promise<string> {
  if (!stdin.isTTY) return deTuberia(pregunta);
  process.stdout.write(pregunta);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let valor = '';
    const leer = (tecla: string) => {
      for (const c of tecla) {
        if (c === '\r' || c === '\n') {
          stdin.off('data', leer);
          stdin.setRawMode(false);
          stdin.pause();
          process.stdout.write('\n');
          resolve(valor);
          return;
        }
        if (c === '\u0003') process.exit(130); // Ctrl-C
        if (c === '\u007f') valor = valor.slice(0, -1);
        else valor += c;
      }
    };
    stdin.on('data', leer);
  });
}

async function preguntar(pregunta: string, omision?: string): Promise<string> {
  const texto = omision ? `${pregunta} [${omision}]: ` : `${pregunta}: `;
  let respuesta: string;
  if (!stdin.isTTY) respuesta = await deTuberia(texto);
  else {
    const rl = createInterface({ input: stdin, output: process.stdout });
    respuesta = await rl.question(texto);
    rl.close();
  }
  return respuesta.trim() || omision || '';
}

async function desarrollo(): Promise<void> {
  if (config.database.kind !== 'pglite') return; // a real database gets its administrator from ADMIN_*
  const database = await openDatabase(config.database, { migrations: servicio.migrations });
  let hay: boolean;
  try {
    hay = await hayAdministradorActivo(database.db);
  } finally {
    await database.close();
  }
  if (hay) return;
  const admin = {
    email: config.identity.admin?.email ?? 'admin@example.com',
    password: `Dev-${randomBytes(12).toString('base64url')}`,
    nombre: 'Administrador',
    apellido: 'Desarrollo',
  };
  await migrar({ ...config, identity: { ...config.identity, admin } });
  process.stdout.write(
    `\n  Administrador de desarrollo (se muestra solo esta vez):\n    email:    ${admin.email}\n    password: ${admin.password}\n\n`,
  );
}

async function interactivo(): Promise<void> {
  const email = await preguntar('E-mail del administrador', config.identity.admin?.email);
  const nombre = await preguntar('Nombre', 'Administrador');
  const apellido = await preguntar('Apellido', 'Sistema');
  const password = await oculto('Contraseña: ');
  if ((await oculto('Repita la contraseña: ')) !== password) throw new Error('Las contraseñas no coinciden.');
  const { administrador } = await migrar({
    ...config,
    identity: { ...config.identity, admin: { email, password, nombre, apellido } },
  });
  process.stdout.write(
    administrador === 'creado'
      ? `Administrador ${email} creado.\n`
      : `Ya existe un usuario con el e-mail ${email}: no se ha cambiado nada.\n`,
  );
}

try {
  await (process.argv.includes('--desarrollo') ? desarrollo() : interactivo());
} catch (err) {
  const mensaje = err instanceof AdministradorInvalido ? err.message : errorSummary(err).message;
  process.stderr.write(`${mensaje}\n`);
  process.exit(1);
}
