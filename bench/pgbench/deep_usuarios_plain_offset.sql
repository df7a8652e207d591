SELECT coalesce(sum(n), 0)::bigint FROM usuarios_conteo;
SELECT id, email, nombre, apellido, nombre || ' ' || apellido, telefono, tipo_usuario, activo, fecha_creacion, fecha_actualizacion FROM usuarios_usuario ORDER BY fecha_creacion DESC, id DESC LIMIT 10 OFFSET 49990;
