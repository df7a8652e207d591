SELECT coalesce(sum(n), 0)::bigint FROM reservas_conteo_total;
SELECT id, usuario_id, fecha_reserva, numero_personas, estado, notas, fecha_creacion, fecha_actualizacion FROM reservas_reserva ORDER BY fecha_creacion DESC, id DESC LIMIT 10 OFFSET 0;
