-- Exact counts for the lists (see reservas_conteo_dia / reservas_conteo_total in schema.ts), kept by
-- statement-level triggers in the writing transaction: a bulk load updates each counter row once,
-- an UPDATE that changes neither estado nor the day of fecha_reserva writes nothing, and the counter
-- rows are locked in one global order (day table by key, then total table by key), so single-
-- statement writers (every write the API makes) cannot deadlock on them. A transaction that writes
-- in several statements can (40P01), and at REPEATABLE READ concurrent writers of one counter row
-- fail with 40001: the API answers both with 503 + Retry-After. Runs on PostgreSQL ≥ 10, Cloud SQL
-- and PGlite.
--
-- The existing rows are counted under a lock that blocks writers (readers go on) for the length of
-- this migration's transaction, so no write slips between the backfill and the triggers.
LOCK TABLE "reservas_reserva" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
DELETE FROM "reservas_conteo_dia";
--> statement-breakpoint
DELETE FROM "reservas_conteo_total";
--> statement-breakpoint
INSERT INTO "reservas_conteo_dia" ("estado", "dia", "n")
SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date, count(*)
  FROM "reservas_reserva" GROUP BY 1, 2;
--> statement-breakpoint
INSERT INTO "reservas_conteo_total" ("estado", "slot", "n")
SELECT "estado", 0, count(*) FROM "reservas_reserva" GROUP BY 1;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "reservas_conteo_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "reservas_conteo_dia" AS c ("estado", "dia", "n")
  SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date, count(*)
    FROM "nuevas" GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT ("estado", "dia") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  INSERT INTO "reservas_conteo_total" AS c ("estado", "slot", "n")
  SELECT "estado", pg_backend_pid() % 16, count(*) FROM "nuevas" GROUP BY 1 ORDER BY 1
  ON CONFLICT ("estado", "slot") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "reservas_conteo_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "reservas_conteo_dia" AS c ("estado", "dia", "n")
  SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date, -count(*)
    FROM "viejas" GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT ("estado", "dia") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  INSERT INTO "reservas_conteo_total" AS c ("estado", "slot", "n")
  SELECT "estado", pg_backend_pid() % 16, -count(*) FROM "viejas" GROUP BY 1 ORDER BY 1
  ON CONFLICT ("estado", "slot") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "reservas_conteo_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most updates (notas, numero_personas, …) move no counter: then nothing is written.
  -- (An UPDATE keeps the number of rows: equal multisets of (estado, day) mean no change.)
  IF NOT EXISTS (
    SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date FROM "nuevas"
    EXCEPT ALL
    SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date FROM "viejas"
  ) THEN
    RETURN NULL;
  END IF;
  INSERT INTO "reservas_conteo_dia" AS c ("estado", "dia", "n")
  SELECT "estado", "dia", sum("n") FROM (
      SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date AS "dia", 1 AS "n" FROM "nuevas"
      UNION ALL
      SELECT "estado", ("fecha_reserva" AT TIME ZONE 'UTC')::date, -1 FROM "viejas"
    ) AS d
   GROUP BY 1, 2 HAVING sum("n") <> 0 ORDER BY 1, 2
  ON CONFLICT ("estado", "dia") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  INSERT INTO "reservas_conteo_total" AS c ("estado", "slot", "n")
  SELECT "estado", pg_backend_pid() % 16, sum("n") FROM (
      SELECT "estado", 1 AS "n" FROM "nuevas"
      UNION ALL
      SELECT "estado", -1 FROM "viejas"
    ) AS d
   GROUP BY 1 HAVING sum("n") <> 0 ORDER BY 1
  ON CONFLICT ("estado", "slot") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "reservas_conteo_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "reservas_conteo_dia";
  DELETE FROM "reservas_conteo_total";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "reservas_conteo_insert" AFTER INSERT ON "reservas_reserva"
  REFERENCING NEW TABLE AS "nuevas" FOR EACH STATEMENT EXECUTE FUNCTION "reservas_conteo_insert"();
--> statement-breakpoint
CREATE TRIGGER "reservas_conteo_update" AFTER UPDATE ON "reservas_reserva"
  REFERENCING OLD TABLE AS "viejas" NEW TABLE AS "nuevas"
  FOR EACH STATEMENT EXECUTE FUNCTION "reservas_conteo_update"();
--> statement-breakpoint
CREATE TRIGGER "reservas_conteo_delete" AFTER DELETE ON "reservas_reserva"
  REFERENCING OLD TABLE AS "viejas" FOR EACH STATEMENT EXECUTE FUNCTION "reservas_conteo_delete"();
--> statement-breakpoint
CREATE TRIGGER "reservas_conteo_truncate" AFTER TRUNCATE ON "reservas_reserva"
  FOR EACH STATEMENT EXECUTE FUNCTION "reservas_conteo_truncate"();
