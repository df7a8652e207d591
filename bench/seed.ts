// Bulk seeding of the benchmark database: one INSERT … SELECT generate_series per table, so that
// 100,000 usuarios and 1,000,000 reservas take tens of seconds, not hours. The data are
// reproducible (setseed) and shaped like a real booking system: a few heavy users and a long tail,
// reservations made up to a year ahead, past ones mostly completed, future ones pending or confirmed.
// After them come the benchmark's own users (seedBenchUsers), who log in with a known password.
import { hash } from '@node-rs/argon2';
import type pg from 'pg';

export const NOMBRES = [
  'María',
  'José',
  'Lucía',
  'Antonio',
  'Carmen',
  'Manuel',
  'Ana',
  'Francisco',
  'Laura',
  'David',
  'Isabel',
  'Juan',
  'Marta',
  'Javier',
  'Elena',
  'Daniel',
  'Paula',
  'Carlos',
  'Sara',
  'Miguel',
  'Cristina',
  'Pablo',
  'Raquel',
  'Sergio',
  'Nuria',
  'Jorge',
  'Beatriz',
  'Luis',
  'Silvia',
  'Alberto',
];

export const APELLIDOS = [
  'García',
  'Rodríguez',
  'González',
  'Fernández',
  'López',
  'Martínez',
  'Sánchez',
  'Pérez',
  'Gómez',
  'Martín',
  'Jiménez',
  'Ruiz',
  'Hernández',
  'Díaz',
  'Moreno',
  'Muñoz',
  'Romero',
  'Alonso',
  'Gutiérrez',
  'Navarro',
  'Torres',
  'Domínguez',
  'Vázquez',
  'Ramos',
  'Gil',
  'Ramírez',
  'Serrano',
  'Blanco',
  'Molina',
  'Morales',
  'Suárez',
  'Ortega',
  'Delgado',
  'Castro',
  'Ortiz',
  'Rubio',
  'Marín',
  'Sanz',
  'Iglesias',
  'Medina',
];

const sqlArray = (values: readonly string[]) => `ARRAY[${values.map((v) => `'${v}'`).join(',')}]`;

/** Seeds both tables (expected empty). Returns the highest ids, above which rows are the benchmark's own writes. */
export async function seed(
  client: pg.Client,
  sizes: { usuarios: number; reservas: number },
): Promise<{ maxUsuario: number; maxReserva: number }> {
  const nombres = sqlArray(NOMBRES);
  const apellidos = sqlArray(APELLIDOS);
  await client.query('SELECT setseed(0.42)');
  // Users signed up over the last three years, in id order; 5 % deactivated; mostly clients.
  await client.query(
    `INSERT INTO usuarios_usuario
       (email, nombre, apellido, telefono, tipo_usuario, activo, fecha_creacion, fecha_actualizacion)
     SELECT translate(lower(nombre || '.' || apellido), 'áéíóúñ', 'aeioun') || '.' || g || '@example.com',
            nombre, apellido,
            CASE WHEN g % 4 = 0 THEN '' ELSE '+34 6' || lpad(((g::bigint * 7919) % 100000000)::text, 8, '0') END,
            CASE WHEN r < 0.90 THEN 'cliente' WHEN r < 0.98 THEN 'empleado' ELSE 'administrador' END,
            g % 20 <> 0, creado, creado
       FROM (SELECT g,
                    (${nombres})[1 + (g * 7) % ${NOMBRES.length}] AS nombre,
                    (${apellidos})[1 + (g * 13 / 7) % ${APELLIDOS.length}] AS apellido,
                    random() AS r,
                    now() - interval '3 years' * (1 - g::float8 / $1) - interval '1 minute' * random() AS creado
               FROM generate_series(1, $1::int) AS g) AS s`,
    [sizes.usuarios],
  );
  // Reservations made over the last two years, each for a date 0–365 days after it was made, at
  // 12:00–23:30 UTC on the half hour. usuario_id is skewed (a few regulars, a long tail).
  await client.query(
    `INSERT INTO reservas_reserva
       (usuario_id, fecha_reserva, numero_personas, estado, notas, fecha_creacion, fecha_actualizacion)
     SELECT usuario_id, fecha_reserva, numero_personas,
            CASE WHEN fecha_reserva < now()
                 THEN CASE WHEN r < 0.8 THEN 'completada' ELSE 'cancelada' END
                 ELSE CASE WHEN r < 0.6 THEN 'pendiente' WHEN r < 0.9 THEN 'confirmada' ELSE 'cancelada' END
            END,
            CASE WHEN r2 < 0.7 THEN '' WHEN r2 < 0.8 THEN 'Mesa junto a la ventana'
                 WHEN r2 < 0.9 THEN 'Cumpleaños: traer tarta' ELSE 'Alergia a los frutos secos' END,
            creado, creado
       FROM (SELECT 1 + floor($2::int * power(random(), 2))::bigint AS usuario_id,
                    date_trunc('day', creado) + interval '1 day' * floor(random() * 366)
                      + interval '30 minutes' * (24 + floor(random() * 24)) AS fecha_reserva,
                    1 + floor(power(random(), 2) * 12)::int AS numero_personas,
                    random() AS r, random() AS r2, creado
               FROM (SELECT now() - interval '2 years' * (1 - g::float8 / $1) - interval '1 minute' * random()
                              AS creado
                       FROM generate_series(1, $1::int) AS g) AS c) AS s`,
    [sizes.reservas, sizes.usuarios],
  );
  const { rows } = await client.query<{ u: string | null; r: string | null }>(
    'SELECT (SELECT max(id) FROM usuarios_usuario) AS u, (SELECT max(id) FROM reservas_reserva) AS r',
  );
  return { maxUsuario: Number(rows[0]?.u ?? 0), maxReserva: Number(rows[0]?.r ?? 0) };
}

/**
 * The benchmark's own users, all with BENCH_PASSWORD: who the scenarios act as (one administrador, one
 * empleado, clientes that already hold reservations), who the login scenario logs in, and who the
 * deactivation measurement deactivates (bajas, reset before every run). Not used by anything else.
 */
export const BENCH_PASSWORD = 'Terraza-junto-al-puerto-2026';
export const BENCH_USERS = {
  administrador: 'bench-administrador@bench.example',
  empleado: 'bench-empleado@bench.example',
  cliente: (i: number) => `bench-cliente-${i}@bench.example`,
  login: (i: number) => `bench-login-${i}@bench.example`,
  baja: (i: number) => `bench-baja-${i}@bench.example`,
  clientes: 32,
  logins: 64,
  bajas: 100,
} as const;

/** Reservations each bench cliente holds: 4 past completada, 1 cancelada, 4 future pendiente, 3 future confirmada. */
const RESERVAS_POR_CLIENTE = 12;

/**
 * Appends the bench users and their reservations. The password hash is computed once, here, with
 * the service's own parameters (argon2id, 19 MiB, 2 passes), so that logging in costs what it costs
 * in production.
 */
export async function seedBenchUsers(client: pg.Client): Promise<void> {
  // algorithm 2 is Argon2id (a const enum of @node-rs/argon2).
  const password = await hash(BENCH_PASSWORD, {
    algorithm: 2,
    memoryCost: 19_456,
    timeCost: 2,
    parallelism: 1,
  });
  const u = BENCH_USERS;
  const rows: [string, string][] = [
    [u.administrador, 'administrador'],
    [u.empleado, 'empleado'],
    ...range(u.clientes).map((i): [string, string] => [u.cliente(i), 'cliente']),
    ...range(u.logins).map((i): [string, string] => [u.login(i), 'cliente']),
    ...range(u.bajas).map((i): [string, string] => [u.baja(i), 'cliente']),
  ];
  await client.query(
    `INSERT INTO usuarios_usuario (email, nombre, apellido, tipo_usuario, password)
     SELECT email, 'Banco', 'Pruebas', tipo, $3 FROM unnest($1::text[], $2::text[]) AS t(email, tipo)`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), password],
  );
  await client.query(
    `INSERT INTO reservas_reserva
       (usuario_id, fecha_reserva, numero_personas, estado, fecha_creacion, fecha_actualizacion)
     SELECT u.id, date_trunc('day', now()) + interval '1 day' * (k * 9 - 40) + interval '20 hours', 1 + k % 6,
            CASE WHEN k <= 4 THEN 'completada' WHEN k = 5 THEN 'cancelada'
                 WHEN k <= 9 THEN 'pendiente' ELSE 'confirmada' END,
            now(), now()
       FROM usuarios_usuario u CROSS JOIN generate_series(1, ${RESERVAS_POR_CLIENTE}) AS k
      WHERE u.email = ANY($1::text[])
      ORDER BY u.id, k`,
    [range(u.clientes).map(u.cliente)],
  );
  // Each baja: one past reservation (never cancelled) and three future ones (reset before every run).
  await client.query(
    `INSERT INTO reservas_reserva
       (usuario_id, fecha_reserva, numero_personas, estado, fecha_creacion, fecha_actualizacion)
     SELECT u.id, date_trunc('day', now()) + interval '1 day' * (k * 10 - 15) + interval '21 hours', 2,
            CASE WHEN k = 1 THEN 'completada' ELSE 'pendiente' END, now(), now()
       FROM usuarios_usuario u CROSS JOIN generate_series(1, 4) AS k
      WHERE u.email = ANY($1::text[])
      ORDER BY u.id, k`,
    [range(u.bajas).map(u.baja)],
  );
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
