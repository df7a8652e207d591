-- Exact counts for the lists (usuarios_conteo in schema.ts), kept by statement-level triggers in
-- the writing transaction: a bulk load updates each counter row once, an UPDATE that changes neither
-- activo nor tipo_usuario writes nothing, and counter rows are locked in key order, so single-
-- statement writers (every write the API makes) cannot deadlock on them. A transaction that writes
-- in several statements can (40P01), and at REPEATABLE READ concurrent writers of one counter row
-- fail with 40001: the API answers both with 503 + Retry-After. Runs on PostgreSQL ≥ 10, Cloud SQL
-- and PGlite.
--
-- The existing rows are counted under a lock that blocks writers (readers go on) for the length of
-- this migration's transaction, so no write slips between the backfill and the triggers.
LOCK TABLE "usuarios_usuario" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
DELETE FROM "usuarios_conteo";
--> statement-breakpoint
INSERT INTO "usuarios_conteo" ("activo", "tipo_usuario", "slot", "n")
SELECT "activo", "tipo_usuario", 0, count(*) FROM "usuarios_usuario" GROUP BY 1, 2;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "usuarios_conteo_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "usuarios_conteo" AS c ("activo", "tipo_usuario", "slot", "n")
  SELECT "activo", "tipo_usuario", pg_backend_pid() % 16, count(*) FROM "nuevos" GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT ("activo", "tipo_usuario", "slot") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "usuarios_conteo_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "usuarios_conteo" AS c ("activo", "tipo_usuario", "slot", "n")
  SELECT "activo", "tipo_usuario", pg_backend_pid() % 16, -count(*) FROM "viejos" GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT ("activo", "tipo_usuario", "slot") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "usuarios_conteo_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most updates (names, e-mail, …) move no counter. An UPDATE keeps the number of rows, so equal
  -- multisets of (activo, tipo_usuario) before and after mean no change: then nothing is written.
  IF NOT EXISTS (
    SELECT "activo", "tipo_usuario" FROM "nuevos" EXCEPT ALL SELECT "activo", "tipo_usuario" FROM "viejos"
  ) THEN
    RETURN NULL;
  END IF;
  INSERT INTO "usuarios_conteo" AS c ("activo", "tipo_usuario", "slot", "n")
  SELECT "activo", "tipo_usuario", pg_backend_pid() % 16, sum("n") FROM (
      SELECT "activo", "tipo_usuario", 1 AS "n" FROM "nuevos"
      UNION ALL
      SELECT "activo", "tipo_usuario", -1 FROM "viejos"
    ) AS d
   GROUP BY 1, 2 HAVING sum("n") <> 0 ORDER BY 1, 2
  ON CONFLICT ("activo", "tipo_usuario", "slot") DO UPDATE SET "n" = c."n" + EXCLUDED."n";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "usuarios_conteo_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "usuarios_conteo";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "usuarios_conteo_insert" AFTER INSERT ON "usuarios_usuario"
  REFERENCING NEW TABLE AS "nuevos" FOR EACH STATEMENT EXECUTE FUNCTION "usuarios_conteo_insert"();
--> statement-breakpoint
CREATE TRIGGER "usuarios_conteo_update" AFTER UPDATE ON "usuarios_usuario"
  REFERENCING OLD TABLE AS "viejos" NEW TABLE AS "nuevos"
  FOR EACH STATEMENT EXECUTE FUNCTION "usuarios_conteo_update"();
--> statement-breakpoint
CREATE TRIGGER "usuarios_conteo_delete" AFTER DELETE ON "usuarios_usuario"
  REFERENCING OLD TABLE AS "viejos" FOR EACH STATEMENT EXECUTE FUNCTION "usuarios_conteo_delete"();
--> statement-breakpoint
CREATE TRIGGER "usuarios_conteo_truncate" AFTER TRUNCATE ON "usuarios_usuario"
  FOR EACH STATEMENT EXECUTE FUNCTION "usuarios_conteo_truncate"();
