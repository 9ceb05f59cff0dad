-- The admin list of groups reads the folded names in byte order (see the
-- PostgreSQL migration of this number). SQLite compares text as bytes
-- (BINARY), so the unique index on (tenant_id, display_name_folded) of
-- 0006 serves that order and its prefix ranges already: nothing to add.
SELECT 1;
