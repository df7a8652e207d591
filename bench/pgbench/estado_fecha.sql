\set d random(1, 30)
SELECT (coalesce(sum(n), 0) + 0 + 0)::bigint FROM reservas_conteo_dia WHERE estado = 'pendiente' AND dia >= current_date + :d::int;
SELECT id, usuario_id, fecha_reserva, numero_personas, estado, notas, fecha_creacion, fecha_actualizacion FROM reservas_reserva WHERE estado = 'pendiente' AND fecha_reserva >= current_date + :d::int ORDER BY fecha_creacion DESC, id DESC LIMIT 10;
