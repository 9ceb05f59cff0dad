-- A re-apply job: a tenant's saved configuration applied to its existing
-- users (POST /admin/v1/{tenant}/reapply, scimd config reapply), a
-- thousand users a transaction in pk order. cursor_pk is the last user of
-- the last batch committed, written in that batch's transaction, so that
-- a job whose process died resumes exactly after it. config_version is
-- the configuration it applies; users_done, users_changed and
-- users_failed count the users so far. A job not finished whose row has
-- not moved for a while is resumed by the next start.
CREATE TABLE reapply_jobs (
    id             uuid PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state          text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    config_version bigint NOT NULL,
    cursor_pk      bigint NOT NULL DEFAULT 0,
    users_done     bigint NOT NULL DEFAULT 0,
    users_changed  bigint NOT NULL DEFAULT 0,
    users_failed   bigint NOT NULL DEFAULT 0,
    users_total    bigint NOT NULL DEFAULT 0,
    report         jsonb,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    finished_at    timestamptz
);
CREATE INDEX reapply_jobs_tenant ON reapply_jobs (tenant_id, created_at DESC);
-- At most one unfinished job per tenant.
CREATE UNIQUE INDEX reapply_jobs_unfinished ON reapply_jobs (tenant_id) WHERE finished_at IS NULL;
