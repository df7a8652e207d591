import { after, before } from 'node:test';
import {
  type Client,
  client,
  createTestDatabase,
  type RunningService,
  startService,
  type TestDatabase,
} from '@servicios/testing';
import { buildApp, servicio } from '../src/app.ts';

export interface Contexto {
  api: Client;
  db: TestDatabase;
  service: RunningService;
}

/** One migrated database and one running servicio-reservas per test file, seeded by `seed` if given. */
export function servicioReservas(label: string, seed?: (ctx: Contexto) => Promise<void>): Contexto {
  const ctx = {} as Contexto;
  before(async () => {
    ctx.db = await createTestDatabase(label);
    ctx.service = await startService(servicio, buildApp, { DATABASE_URL: ctx.db.url });
    ctx.api = client(ctx.service.url);
    await seed?.(ctx);
  });
  after(async () => {
    await ctx.service?.close();
    await ctx.db?.drop();
  });
  return ctx;
}

/** An ISO date-time `days` from now (negative: in the past). */
export function enDias(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

export function nuevaReserva(overrides: Record<string, unknown> = {}) {
  return { usuario_id: 7, fecha_reserva: enDias(10), numero_personas: 4, ...overrides };
}

/** Creates a reservation and walks it to `estado` through the API's own transitions. */
export async function reservaEn(api: Client, estado: string, overrides: Record<string, unknown> = {}) {
  const created = await api.post('/api/reservas/', nuevaReserva(overrides));
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.text}`);
  const id = created.body.id as number;
  const camino: Record<string, string[]> = {
    pendiente: [],
    confirmada: ['confirmar'],
    cancelada: ['cancelar'],
    completada: ['confirmar', 'completar'],
  };
  let body = created.body;
  for (const accion of camino[estado] ?? []) {
    const res = await api.post(`/api/reservas/${id}/${accion}/`);
    if (res.status !== 200) throw new Error(`${accion} failed: ${res.status} ${res.text}`);
    body = res.body;
  }
  return body;
}
