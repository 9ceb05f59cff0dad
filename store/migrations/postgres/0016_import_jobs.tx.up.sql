-- A connector may be a CSV source (kind csv): its users arrive in files
-- (scimd import, POST /admin/v1/{tenant}/imports), read by its layout.
ALTER TABLE connectors DROP CONSTRAINT connectors_kind_check;
ALTER TABLE connectors ADD CONSTRAINT connectors_kind_check CHECK (kind IN ('scim', 'oidc', 'admin', 'csv'));

-- An import job: a CSV file posted to the admin API, validated or loaded
-- in the background. rows_total is an estimate (the file's lines) until
-- the job ends; report is the import's report as JSON, once it ends.
-- A job still queued, validating or loading when its process dies is
-- marked failed when scimd starts again.
CREATE TABLE import_jobs (
    id           uuid PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint REFERENCES connectors (id) ON DELETE SET NULL,
    state        text NOT NULL CHECK (state IN ('queued', 'validating', 'loading', 'done', 'failed')),
    dry_run      boolean NOT NULL,
    rows_done    bigint NOT NULL DEFAULT 0,
    rows_total   bigint NOT NULL DEFAULT 0,
    report       jsonb,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz
);
-- A tenant's recent jobs, newest first.
CREATE INDEX import_jobs_tenant ON import_jobs (tenant_id, created_at DESC);
-- The jobs a start marks failed.
CREATE INDEX import_jobs_unfinished ON import_jobs (state) WHERE finished_at IS NULL;
