-- pg_trgm backs the ?search= index; Cloud SQL and PGlite both ship it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "usuarios_usuario" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"email" varchar(254) NOT NULL,
	"nombre" varchar(150) NOT NULL,
	"apellido" varchar(150) NOT NULL,
	"telefono" varchar(20) DEFAULT '' NOT NULL,
	"tipo_usuario" varchar(20) DEFAULT 'cliente' NOT NULL,
	"activo" boolean DEFAULT true NOT NULL,
	"fecha_creacion" timestamp with time zone DEFAULT now() NOT NULL,
	"fecha_actualizacion" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usuarios_usuario_tipo_usuario_check" CHECK ("usuarios_usuario"."tipo_usuario" IN ('cliente', 'empleado', 'administrador')),
	CONSTRAINT "usuarios_usuario_nombre_check" CHECK (btrim("usuarios_usuario"."nombre") <> '' AND btrim("usuarios_usuario"."apellido") <> '')
);
--> statement-breakpoint
CREATE UNIQUE INDEX "usuarios_usuario_email_lower_uniq" ON "usuarios_usuario" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "usuarios_usuario_creacion_idx" ON "usuarios_usuario" USING btree ("fecha_creacion" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "usuarios_usuario_busqueda_trgm_idx" ON "usuarios_usuario" USING gin (lower(nombre || ' ' || apellido || ' ' || email) gin_trgm_ops);