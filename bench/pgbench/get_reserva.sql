\set id random(1, 1000000)
SELECT id, usuario_id, fecha_reserva, numero_personas, estado, notas, fecha_creacion, fecha_actualizacion FROM reservas_reserva WHERE id = :id;
