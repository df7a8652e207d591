// The benchmark's databases: created, migrated and seeded once, then put back before every run to the
// state the seed left (so runs compare), and a proxy that counts the statements a request costs.
import net from 'node:net';
import pg from 'pg';
import { BENCH_USERS, seed, seedBenchUsers } from './seed.ts';
import { migrate } from './services.ts';

/** Bump when the seed changes: a database seeded by an older version is seeded again. */
const SEED_VERSION = 2;

export interface Meta {
  usuarios: number;
  reservas: number;
  /** The highest ids of the seed (bench users and their reservations included): above are a run's own writes. */
  maxUsuario: number;
  maxReserva: number;
  version: number;
}

export interface Prepared {
  url: string;
  meta: Meta;
  seededNow: boolean;
  seedSeconds?: number;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates, migrates and seeds the database unless it already holds this data set; then undoes what
 * an earlier run wrote (its new rows, logins, throttle counts, events), so every run starts equal.
 */
export async function prepareDatabase(
  adminUrl: string,
  database: string,
  sizes: { usuarios: number; reservas: number },
  log: (message: string) => void,
): Promise<Prepared> {
  await withClient(adminUrl, async (admin) => {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  });
  const url = databaseUrl(adminUrl, database);
  migrate('usuarios', url);
  migrate('reservas', url);

  return withClient(url, async (client) => {
    await client.query('CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, meta jsonb NOT NULL)');
    const found = await client.query<{ meta: Meta }>('SELECT meta FROM bench_meta WHERE id = 1');
    let meta = found.rows[0]?.meta;
    if (
      meta &&
      meta.usuarios === sizes.usuarios &&
      meta.reservas === sizes.reservas &&
      meta.version === SEED_VERSION
    ) {
      await resetRun(client, meta);
      return { url, meta, seededNow: false };
    }
    log(
      `seeding ${database}: ${sizes.usuarios} usuarios, ${sizes.reservas} reservas (once; later runs reuse it)`,
    );
    const started = performance.now();
    // The pool of pending ids names rows of the previous seed: it goes too.
    await client.query('DROP TABLE IF EXISTS bench_pool');
    await client.query(
      `TRUNCATE usuarios_usuario, usuarios_sesion, usuarios_limite, usuarios_outbox,
                reservas_reserva, reservas_outbox, reservas_evento_recibido RESTART IDENTITY`,
    );
    await seed(client, sizes);
    await seedBenchUsers(client);
    const { rows } = await client.query<{ u: string; r: string }>(
      'SELECT (SELECT max(id) FROM usuarios_usuario) AS u, (SELECT max(id) FROM reservas_reserva) AS r',
    );
    await client.query('VACUUM (ANALYZE) usuarios_usuario');
    await client.query('VACUUM (ANALYZE) reservas_reserva');
    // Write the seed's dirty pages out now, not during the first scenarios (needs superuser).
    await client.query('CHECKPOINT').catch(() => undefined);
    meta = {
      ...sizes,
      maxUsuario: Number(rows[0]!.u),
      maxReserva: Number(rows[0]!.r),
      version: SEED_VERSION,
    };
    await client.query(
      'INSERT INTO bench_meta VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET meta = EXCLUDED.meta',
      [meta],
    );
    const seedSeconds = (performance.now() - started) / 1000;
    log(`seeded in ${seedSeconds.toFixed(1)} s`);
    return { url, meta, seededNow: true, seedSeconds };
  });
}

/** Puts a reused database back to the seed's state. */
async function resetRun(client: pg.Client, meta: Meta): Promise<void> {
  const u = await client.query('DELETE FROM usuarios_usuario WHERE id > $1', [meta.maxUsuario]);
  const r = await client.query('DELETE FROM reservas_reserva WHERE id > $1', [meta.maxReserva]);
  // Logins and their throttle counts of earlier runs (a login scenario leaves thousands), and events
  // that an interrupted run left unpublished (they would reach the next run's Pub/Sub emulator).
  await client.query('TRUNCATE usuarios_sesion, usuarios_limite, usuarios_outbox, reservas_outbox');
  await resetBajas(client);
  if ((u.rowCount ?? 0) + (r.rowCount ?? 0) > 0) {
    await client.query('VACUUM (ANALYZE) usuarios_usuario');
    await client.query('VACUUM (ANALYZE) reservas_reserva');
  }
}

/** The deactivation measurement's users active again, their future reservations pendiente again. */
async function resetBajas(client: pg.Client): Promise<void> {
  const emails = Array.from({ length: BENCH_USERS.bajas }, (_, i) => BENCH_USERS.baja(i + 1));
  await client.query('UPDATE usuarios_usuario SET activo = true WHERE email = ANY($1) AND NOT activo', [
    emails,
  ]);
  await client.query(
    `UPDATE reservas_reserva r
        SET estado = 'pendiente', fecha_actualizacion = r.fecha_creacion,
            fecha_reserva = greatest(r.fecha_reserva, date_trunc('day', now()) + interval '7 days 21 hours')
       FROM usuarios_usuario u
      WHERE u.email = ANY($1) AND r.usuario_id = u.id AND r.estado <> 'completada'
        AND (r.estado <> 'pendiente' OR r.fecha_reserva < now() + interval '7 days')`,
    [emails],
  );
}

/** The ids of the bench users (seed.ts), by role. */
export async function benchUserIds(url: string): Promise<Map<string, number>> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string; email: string }>(
      `SELECT id, email FROM usuarios_usuario WHERE email LIKE 'bench-%@bench.example'`,
    );
    return new Map(rows.map((r) => [r.email, Number(r.id)]));
  });
}

/**
 * Pending reservations of the bulk seed for confirmar: a fixed set, put back to pendiente before
 * every run (resetPool). Ids 1…reservas are the bulk seed's (the bench users' come after).
 */
export async function pendingPool(url: string, bulkReservas: number, size: number): Promise<number[]> {
  return withClient(url, async (client) => {
    await client.query('CREATE TABLE IF NOT EXISTS bench_pool (id bigint PRIMARY KEY)');
    const existing = await client.query<{ id: string }>('SELECT id FROM bench_pool ORDER BY id');
    if (existing.rowCount) return existing.rows.map((r) => Number(r.id));
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO bench_pool SELECT id FROM reservas_reserva
        WHERE estado = 'pendiente' AND id <= $1 ORDER BY id LIMIT $2 RETURNING id`,
      [bulkReservas, size],
    );
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  });
}

export async function resetPool(url: string): Promise<void> {
  await withClient(url, (client) =>
    client.query(
      `UPDATE reservas_reserva r SET estado = 'pendiente' FROM bench_pool p
        WHERE r.id = p.id AND r.estado <> 'pendiente'`,
    ),
  );
}

export async function postgresVersion(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  });
}

/**
 * A transparent TCP proxy in front of PostgreSQL that counts the statements executed through it
 * (simple 'Q' and extended-protocol 'E' messages): the queries a request costs, seen from outside.
 */
export async function countingProxy(
  target: URL,
): Promise<{ port: number; count: () => number; close: () => void }> {
  let executed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((clientSocket) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(clientSocket);
    sockets.add(upstream);
    let buffer = Buffer.alloc(0);
    let startup = true;
    clientSocket.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (startup) {
          if (buffer.length < 8) break;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) break;
          const code = buffer.readInt32BE(4);
          buffer = buffer.subarray(length);
          // SSLRequest / GSSENCRequest come before the real startup message.
          if (code !== 80877103 && code !== 80877104) startup = false;
          continue;
        }
        if (buffer.length < 5) break;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) break;
        const type = String.fromCharCode(buffer[0]!);
        if (type === 'Q' || type === 'E') executed++;
        buffer = buffer.subarray(length + 1);
      }
    });
    upstream.on('data', (chunk: Buffer) => clientSocket.write(chunk));
    const end = () => {
      clientSocket.destroy();
      upstream.destroy();
    };
    clientSocket.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    count: () => executed,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
