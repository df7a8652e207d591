CREATE TABLE "reservas_conteo_dia" (
	"estado" varchar(20) NOT NULL,
	"dia" date NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "reservas_conteo_dia_estado_dia_pk" PRIMARY KEY("estado","dia")
);
--> statement-breakpoint
CREATE TABLE "reservas_conteo_total" (
	"estado" varchar(20) NOT NULL,
	"slot" smallint NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "reservas_conteo_total_estado_slot_pk" PRIMARY KEY("estado","slot")
);
