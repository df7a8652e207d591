// Issue 9 / CONTRACT §6 (`usuario.desactivado`): how long after a deactivation's answer the user's
// future reservations are cancelled, with both services up and the events going through Pub/Sub
// (its official emulator). Users are deactivated one after another; each user's latency is the
// latest `fecha_actualizacion` of its cancelled reservations minus the client time at which the
// deactivation's answer arrived (PostgreSQL and this process read the same clock).
import pg from 'pg';
import { BENCH_USERS } from './seed.ts';
import type { Emulator, Running, ServiceName } from './services.ts';
import { sleep } from './services.ts';

export interface DeactivationResult {
  /** Why it did not run (no gcloud, the emulator did not start…). */
  skipped?: string;
  users: number;
  /** Future pendiente/confirmada reservations those users held. */
  reservations: number;
  /** Users all of whose reservations were cancelled before the wait ended. */
  cancelledUsers: number;
  /**
   * Events the earlier scenarios left in the outboxes (their services ran without Pub/Sub), discarded
   * before the measurement: in production they would have gone out as they were written.
   */
  discardedBacklog: number;
  latenciesMs: number[];
  p50: number;
  p99: number;
  max: number;
}

export const skippedDeactivation = (reason: string): DeactivationResult => ({
  skipped: reason,
  users: 0,
  reservations: 0,
  cancelledUsers: 0,
  discardedBacklog: 0,
  latenciesMs: [],
  p50: 0,
  p99: 0,
  max: 0,
});

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const TOPICS = { usuarios: 'usuarios-eventos', reservas: 'reservas-eventos' };
/** How long to wait for the last cancellations: well past the contract's 10 s bound. */
const WAIT_MS = 30_000;

export async function measureDeactivation(options: {
  databaseUrl: string;
  emulator: Emulator;
  users: number;
  /** An access token of the administrador (signed with the run's key). */
  adminToken: string;
  ids: Map<string, number>;
  /** Starts a service of this run with the given extra environment. */
  start: (service: ServiceName, env: Record<string, string>, core: 0 | 1) => Promise<Running>;
  log: (message: string) => void;
}): Promise<DeactivationResult> {
  const { emulator } = options;
  await emulator.ready;
  const pubsubEnv = { PUBSUB_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: emulator.project };
  // No Google metadata server to look for on this machine (the client library warns when it finds none).
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const { PubSub } = await import('@google-cloud/pubsub');
  const pubsub = new PubSub({ projectId: emulator.project, apiEndpoint: emulator.host });
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  const running: Running[] = [];
  try {
    // Else the relay would first publish the thousands of events of the write scenarios, and the
    // figure would be the time to drain that backlog, not the latency of one deactivation.
    let discardedBacklog = 0;
    for (const outbox of ['usuarios_outbox', 'reservas_outbox'])
      discardedBacklog += (await db.query(`DELETE FROM ${outbox}`)).rowCount ?? 0;
    if (discardedBacklog)
      options.log(`deactivation: discarded ${discardedBacklog} events left by the scenarios`);
    // Both topics: servicio-reservas publishes its reserva.cancelada events too.
    for (const topic of Object.values(TOPICS)) await pubsub.createTopic(topic);
    const usuarios = await options.start('usuarios', pubsubEnv, 0);
    running.push(usuarios);
    const reservas = await options.start(
      'reservas',
      { ...pubsubEnv, JWT_JWKS_URL: `${usuarios.url}/.well-known/jwks.json`, USUARIOS_URL: usuarios.url },
      1,
    );
    running.push(reservas);
    await pubsub.topic(TOPICS.usuarios).createSubscription('reservas-usuarios-eventos', {
      pushConfig: { pushEndpoint: `${reservas.url}/api/eventos/pubsub/` },
      enableMessageOrdering: true,
    });

    const count = Math.min(options.users, BENCH_USERS.bajas);
    if (count < options.users) options.log(`deactivation: only ${count} dedicated users are seeded`);
    const users = Array.from({ length: count }, (_, i) => {
      const id = options.ids.get(BENCH_USERS.baja(i + 1));
      if (!id) throw new Error(`bench user ${BENCH_USERS.baja(i + 1)} is missing: seed again`);
      return id;
    });
    const { rows: tracked } = await db.query<{ id: string; usuario_id: string }>(
      `SELECT id, usuario_id FROM reservas_reserva
        WHERE usuario_id = ANY($1) AND estado IN ('pendiente', 'confirmada') AND fecha_reserva > now()`,
      [users],
    );
    const holders = new Set(tracked.map((r) => Number(r.usuario_id)));
    const without = users.filter((id) => !holders.has(id));
    if (without.length) throw new Error(`users ${without.join(', ')} hold no future reservation: seed again`);

    const answeredAt = new Map<number, number>();
    for (const id of users) {
      const response = await fetch(`${usuarios.url}/api/usuarios/${id}/desactivar/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.adminToken}`, 'content-type': 'application/json' },
        body: '{}',
      });
      answeredAt.set(id, Date.now());
      if (response.status !== 200)
        throw new Error(`desactivar ${id}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }

    const ids = tracked.map((r) => Number(r.id));
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const { rows } = await db.query<{ left: string }>(
        `SELECT count(*) AS left FROM reservas_reserva WHERE id = ANY($1) AND estado <> 'cancelada'`,
        [ids],
      );
      if (Number(rows[0]!.left) === 0 || Date.now() > deadline) break;
      await sleep(100);
    }
    const { rows } = await db.query<{ usuario_id: string; done: boolean; last_ms: number }>(
      `SELECT usuario_id, bool_and(estado = 'cancelada') AS done,
              extract(epoch FROM max(fecha_actualizacion)) * 1000 AS last_ms
         FROM reservas_reserva WHERE id = ANY($1) GROUP BY usuario_id`,
      [ids],
    );
    const done = rows.filter((r) => r.done);
    const latencies = done
      .map((r) => Math.round(Number(r.last_ms) - answeredAt.get(Number(r.usuario_id))!))
      .sort((a, b) => a - b);
    return {
      users: users.length,
      reservations: ids.length,
      cancelledUsers: done.length,
      discardedBacklog,
      latenciesMs: latencies,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    };
  } finally {
    for (const service of running.reverse()) await service.stop();
    await db.end();
    await pubsub.close().catch(() => undefined);
  }
}
