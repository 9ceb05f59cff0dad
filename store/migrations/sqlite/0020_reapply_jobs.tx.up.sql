-- A re-apply job: see the PostgreSQL migration of the same number.
CREATE TABLE reapply_jobs (
    id             text PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state          text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    config_version bigint NOT NULL,
    cursor_pk      bigint NOT NULL DEFAULT 0,
    users_done     bigint NOT NULL DEFAULT 0,
    users_changed  bigint NOT NULL DEFAULT 0,
    users_failed   bigint NOT NULL DEFAULT 0,
    users_total    bigint NOT NULL DEFAULT 0,
    report         text,
    created_by     text NOT NULL,
    created_at     text NOT NULL,
    updated_at     text NOT NULL,
    finished_at    text
);
CREATE INDEX reapply_jobs_tenant ON reapply_jobs (tenant_id, created_at DESC);
CREATE UNIQUE INDEX reapply_jobs_unfinished ON reapply_jobs (tenant_id) WHERE finished_at IS NULL;
