CREATE TABLE "usuarios_conteo" (
	"activo" boolean NOT NULL,
	"tipo_usuario" varchar(20) NOT NULL,
	"slot" smallint NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "usuarios_conteo_activo_tipo_usuario_slot_pk" PRIMARY KEY("activo","tipo_usuario","slot")
);
