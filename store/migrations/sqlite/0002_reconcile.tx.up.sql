-- Reconciliation: org units, roles, grants with their provenance, links
-- between users and the connectors that manage them, and who set which
-- attribute.

-- Org units form a tree by path ("Medicine/Radiology"): a unit and
-- everything below it is path_folded = x OR path_folded LIKE x || '/%'.
CREATE TABLE org_units (
    pk          integer PRIMARY KEY AUTOINCREMENT,
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    path        text NOT NULL,
    path_folded text NOT NULL,
    created_at  text NOT NULL,
    UNIQUE (tenant_id, path_folded)
);
CREATE INDEX org_units_tenant_path ON org_units (tenant_id, path_folded);

CREATE TABLE roles (
    pk          integer PRIMARY KEY AUTOINCREMENT,
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    name_folded text NOT NULL,
    created_at  text NOT NULL,
    UNIQUE (tenant_id, name_folded)
);

-- A grant of an org unit, group or role to a user, by whom: a connector's
-- rule (connector_id, rule), or by hand (rule ''; connector_id 0 for an
-- admin). A role granted together with a group keeps it in group_pk. A
-- group grant is also a group_users row (direct = false unless the group
-- was given the member directly), so memberships read as they always did.
CREATE TABLE user_grants (
    user_pk      bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('orgUnit', 'group', 'role')),
    target_pk    bigint NOT NULL,
    group_pk     bigint NOT NULL DEFAULT 0,
    source       text NOT NULL,
    connector_id bigint NOT NULL DEFAULT 0,
    rule         text NOT NULL DEFAULT '',
    granted_at   text NOT NULL,
    PRIMARY KEY (user_pk, kind, target_pk, connector_id, rule)
);
CREATE INDEX user_grants_target ON user_grants (kind, target_pk);

ALTER TABLE group_users ADD COLUMN direct boolean NOT NULL DEFAULT 1;

-- The connectors that manage a user: a connector's second POST of the same
-- person is a duplicate (409); another connector's is a match that links.
CREATE TABLE user_links (
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    user_pk      bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    linked_at    text NOT NULL,
    PRIMARY KEY (user_pk, connector_id)
);

-- Users written before links existed: a connector manages those it gave
-- an external ID, and those it created (the audit log says which).
INSERT INTO user_links (connector_id, user_pk, linked_at)
SELECT x.connector_id, x.user_pk, u.created_at
FROM user_external_ids AS x JOIN users AS u ON u.pk = x.user_pk
UNION
SELECT a.connector_id, u.pk, u.created_at
FROM audit_events AS a JOIN users AS u ON u.id = a.resource_id AND u.tenant_id = a.tenant_id
WHERE a.resource_type = 'User' AND a.connector_id IS NOT NULL
ON CONFLICT DO NOTHING;

-- Who last set each mapped attribute of a user: source precedence and the
-- admin API's "which source and rule set it, and when".
CREATE TABLE user_attribute_sources (
    user_pk      bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    attribute    text NOT NULL,
    source       text NOT NULL,
    connector_id bigint NOT NULL DEFAULT 0,
    rule         text NOT NULL DEFAULT '',
    set_at       text NOT NULL,
    PRIMARY KEY (user_pk, attribute)
);

-- Account status beside SCIM's active: pending (not yet activated),
-- active, disabled; and the access window.
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN access_start text;
ALTER TABLE users ADD COLUMN access_end text;
UPDATE users SET status = 'disabled' WHERE active = 0;
