-- The transactional outbox (CONTRACT §6): each change writes its event here in the same statement;
-- the relay publishes and deletes the rows, so the table holds only events on their way.
CREATE TABLE "usuarios_outbox" (
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
CREATE INDEX "usuarios_outbox_sujeto_idx" ON "usuarios_outbox" USING btree ("sujeto","id");