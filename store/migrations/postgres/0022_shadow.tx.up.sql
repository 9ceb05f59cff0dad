-- Shadow mode (issue 12): a connector in mode shadow is planned as it
-- would be and answered as the IdP expects, but writes nothing to users,
-- groups or grants: its plans go to shadow_plans, and the resources as it
-- would have left them to shadow_resources, its own view, so that its
-- follow-up reads and writes find them. scimd connector set --mode
-- switches it (an UPDATE of connectors, which tells every server's
-- principal cache at commit: 0008).
ALTER TABLE connectors ADD COLUMN mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'shadow'));

-- A resource as a shadow connector would have left it. pk doubles, negated,
-- as the primary key of a resource the connector created in shadow (real
-- rows' keys are positive); real_pk is the real row it shadows, if any.
-- doc holds the resource as the IdP sees it, with a group's members and a
-- user's grants and attribute sources after the plan.
CREATE TABLE shadow_resources (
    pk                  bigserial PRIMARY KEY,
    connector_id        bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('User', 'Group')),
    id                  text NOT NULL,
    real_pk             bigint,
    deleted             boolean NOT NULL DEFAULT false,
    user_name_folded    text,
    external_id         text,
    display_name_folded text,
    doc                 jsonb NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE UNIQUE INDEX shadow_resources_id ON shadow_resources (connector_id, kind, id);
CREATE INDEX shadow_resources_real ON shadow_resources (connector_id, kind, real_pk) WHERE real_pk IS NOT NULL;
CREATE INDEX shadow_resources_user_name ON shadow_resources (connector_id, user_name_folded) WHERE user_name_folded IS NOT NULL;
CREATE INDEX shadow_resources_external_id ON shadow_resources (connector_id, kind, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX shadow_resources_display_name ON shadow_resources (connector_id, kind, display_name_folded) WHERE display_name_folded IS NOT NULL;

-- One row per plan a shadow connector made (or that failed: error), in
-- order; summary is reconcile.Plan.Summary()'s JSON.
CREATE TABLE shadow_plans (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    kind         text NOT NULL,
    op           text NOT NULL,
    action       text NOT NULL,
    resource_id  text,
    conflict     text,
    error        text,
    summary      jsonb
);
CREATE INDEX shadow_plans_connector ON shadow_plans (connector_id, id);
