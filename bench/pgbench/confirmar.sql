\set id random(1, 1000000)
BEGIN;
UPDATE reservas_reserva SET estado = 'confirmada', fecha_actualizacion = now() WHERE id = :id AND estado IN ('pendiente') RETURNING id, usuario_id, fecha_reserva, numero_personas, estado, notas, fecha_creacion, fecha_actualizacion;
ROLLBACK;
