-- The search index stops buffering new rows in a GIN pending list (which every ?search= scans
-- linearly until the next VACUUM): new rows go straight into the index. ALTER rather than a rebuild,
-- so a large table keeps taking writes; the rows already pending are merged now.
ALTER INDEX "usuarios_usuario_busqueda_trgm_idx" SET (fastupdate = false);--> statement-breakpoint
SELECT gin_clean_pending_list('usuarios_usuario_busqueda_trgm_idx');
