-- A connector may be a CSV source (kind csv), and import jobs: see the
-- PostgreSQL migration of the same number. The CHECK is loosened by
-- editing the schema text, as 0010 does and for the same reason.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (kind IN (''scim'', ''oidc'', ''admin''))', 'CHECK (kind IN (''scim'', ''oidc'', ''admin'', ''csv''))')
 WHERE type = 'table' AND name = 'connectors';
PRAGMA writable_schema = OFF;

CREATE TABLE import_jobs (
    id           text PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint REFERENCES connectors (id) ON DELETE SET NULL,
    state        text NOT NULL CHECK (state IN ('queued', 'validating', 'loading', 'done', 'failed')),
    dry_run      boolean NOT NULL,
    rows_done    bigint NOT NULL DEFAULT 0,
    rows_total   bigint NOT NULL DEFAULT 0,
    report       text,
    created_by   text NOT NULL,
    created_at   text NOT NULL,
    updated_at   text NOT NULL,
    finished_at  text
);
CREATE INDEX import_jobs_tenant ON import_jobs (tenant_id, created_at DESC);
CREATE INDEX import_jobs_unfinished ON import_jobs (state) WHERE finished_at IS NULL;
