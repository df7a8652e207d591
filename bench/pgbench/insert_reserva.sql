\set u random(1, 100000)
\set d random(1, 365)
\set p random(1, 8)
INSERT INTO reservas_reserva (usuario_id, fecha_reserva, numero_personas) VALUES (:u, now() + :d * interval '1 day', :p) RETURNING id, usuario_id, fecha_reserva, numero_personas, estado, notas, fecha_creacion, fecha_actualizacion;
