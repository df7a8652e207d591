// Bulk seeding of the benchmark database: one INSERT … SELECT generate_series per table, so that
// 100,000 usuarios and 1,000,000 reservas take tens of seconds, not hours. The data are
// reproducible (setseed) and shaped like a real booking system: a few heavy users and a long tail,
// reservations made up to a year ahead, past ones mostly completed, future ones pending or confirmed.
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
