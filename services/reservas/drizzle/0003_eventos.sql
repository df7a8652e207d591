-- The transactional outbox (CONTRACT §6): each change writes its event here in the same statement;
-- the relay publishes and deletes the rows. And the ids of the events already consumed, so that a
-- redelivery of usuario.desactivado cancels nothing twice.
CREATE TABLE "reservas_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ce_id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"tipo" text NOT NULL,
	"sujeto" text NOT NULL,
	"datos" json NOT NULL,
	"tiempo" timestamp with time zone DEFAULT now() NOT NULL,
	"traceparent" text,
	"intentos" integer DEFAULT 0 NOT NULL,
	"reclamada_hasta" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "reservas_evento_recibido" (
	"ce_id" text PRIMARY KEY NOT NULL,
	"recibido" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "reservas_outbox_sujeto_idx" ON "reservas_outbox" USING btree ("sujeto","id");--> statement-breakpoint
CREATE INDEX "reservas_evento_recibido_idx" ON "reservas_evento_recibido" USING btree ("recibido");