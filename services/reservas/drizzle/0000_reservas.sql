CREATE TABLE "reservas_reserva" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"usuario_id" bigint NOT NULL,
	"fecha_reserva" timestamp with time zone NOT NULL,
	"numero_personas" integer NOT NULL,
	"estado" varchar(20) DEFAULT 'pendiente' NOT NULL,
	"notas" varchar(500) DEFAULT '' NOT NULL,
	"fecha_creacion" timestamp with time zone DEFAULT now() NOT NULL,
	"fecha_actualizacion" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservas_reserva_estado_check" CHECK ("reservas_reserva"."estado" IN ('pendiente', 'confirmada', 'cancelada', 'completada')),
	CONSTRAINT "reservas_reserva_numero_personas_check" CHECK ("reservas_reserva"."numero_personas" BETWEEN 1 AND 50),
	CONSTRAINT "reservas_reserva_usuario_id_check" CHECK ("reservas_reserva"."usuario_id" >= 1)
);
--> statement-breakpoint
CREATE INDEX "reservas_reserva_creacion_idx" ON "reservas_reserva" USING btree ("fecha_creacion" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "reservas_reserva_usuario_idx" ON "reservas_reserva" USING btree ("usuario_id","fecha_creacion" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "reservas_reserva_estado_fecha_idx" ON "reservas_reserva" USING btree ("estado","fecha_reserva");--> statement-breakpoint
CREATE INDEX "reservas_reserva_fecha_idx" ON "reservas_reserva" USING btree ("fecha_reserva");