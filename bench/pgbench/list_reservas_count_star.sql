SELECT count(*) FROM reservas_reserva;
