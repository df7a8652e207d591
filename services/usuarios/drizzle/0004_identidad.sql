-- Identity (CONTRACT §5): the password hash of each user, refresh-token families (one row per login)
-- and the login/registration throttle, all owned by servicio-usuarios. The search index is rebuilt
-- over an expression without accents (CONTRACT §2: `jose` finds `José`); building it blocks writes to
-- usuarios_usuario for its duration (seconds for 100,000 rows).
CREATE TABLE "usuarios_limite" (
	"clave" text PRIMARY KEY NOT NULL,
	"marcas" timestamp with time zone[] DEFAULT '{}' NOT NULL,
	"expira" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usuarios_sesion" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"usuario_id" bigint NOT NULL,
	"jti" uuid NOT NULL,
	"expira" timestamp with time zone NOT NULL,
	"revocada" timestamp with time zone,
	"creada" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "usuarios_usuario_busqueda_trgm_idx";--> statement-breakpoint
ALTER TABLE "usuarios_usuario" ADD COLUMN "password" varchar(128) DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "usuarios_sesion" ADD CONSTRAINT "usuarios_sesion_usuario_id_usuarios_usuario_id_fk" FOREIGN KEY ("usuario_id") REFERENCES "public"."usuarios_usuario"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usuarios_limite_expira_idx" ON "usuarios_limite" USING btree ("expira");--> statement-breakpoint
CREATE INDEX "usuarios_sesion_usuario_idx" ON "usuarios_sesion" USING btree ("usuario_id");--> statement-breakpoint
CREATE INDEX "usuarios_sesion_expira_idx" ON "usuarios_sesion" USING btree ("expira");--> statement-breakpoint
CREATE INDEX "usuarios_usuario_busqueda_trgm_idx" ON "usuarios_usuario" USING gin (lower(regexp_replace(normalize(nombre || ' ' || apellido || ' ' || email, NFD), '[\u0300-\u036f]', '', 'g')) gin_trgm_ops) WITH (fastupdate=false);