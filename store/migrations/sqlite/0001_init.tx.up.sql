-- Tenants, connectors and their tokens.
CREATE TABLE tenants (
    id         integer PRIMARY KEY AUTOINCREMENT,
    name       text NOT NULL UNIQUE,
    created_at text NOT NULL
);

CREATE TABLE connectors (
    id         integer PRIMARY KEY AUTOINCREMENT,
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL,
    -- profile picks IdP compatibility behaviour: default, strict, entra, okta.
    profile    text NOT NULL DEFAULT 'default',
    created_at text NOT NULL,
    UNIQUE (tenant_id, name)
);

-- A token is kept only as its SHA-256; hint is the few characters after
-- the prefix, enough for an admin to tell two tokens apart.
CREATE TABLE tokens (
    id           integer PRIMARY KEY AUTOINCREMENT,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    hash         blob NOT NULL UNIQUE,
    hint         text NOT NULL,
    created_at   text NOT NULL,
    revoked_at   text
);
CREATE INDEX tokens_connector ON tokens (connector_id) WHERE revoked_at IS NULL;

-- Users and groups: pk is internal (compact joins for memberships), id is
-- the SCIM id. The SCIM document lives in attrs; the columns beside it are
-- what queries and unique indexes need. user_name_folded is folded in Go so
-- that both databases agree on case-insensitivity.
CREATE TABLE users (
    pk               integer PRIMARY KEY AUTOINCREMENT,
    tenant_id        bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               text NOT NULL UNIQUE,
    user_name        text NOT NULL,
    user_name_folded text NOT NULL,
    display_name     text,
    display_name_folded text,
    active           integer NOT NULL,
    attrs            text NOT NULL,
    version          bigint NOT NULL,
    created_at       text NOT NULL,
    updated_at       text NOT NULL
);
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_folded);
CREATE INDEX users_tenant_pk ON users (tenant_id, pk);
CREATE INDEX users_tenant_display_name ON users (tenant_id, display_name_folded);
CREATE INDEX users_tenant_updated ON users (tenant_id, updated_at);

CREATE TABLE groups (
    pk                  integer PRIMARY KEY AUTOINCREMENT,
    tenant_id           bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  text NOT NULL UNIQUE,
    display_name        text NOT NULL,
    display_name_folded text NOT NULL,
    attrs               text NOT NULL,
    version             bigint NOT NULL,
    created_at          text NOT NULL,
    updated_at          text NOT NULL
);
CREATE INDEX groups_tenant_display_name ON groups (tenant_id, display_name_folded);
CREATE INDEX groups_tenant_pk ON groups (tenant_id, pk);
CREATE INDEX groups_tenant_updated ON groups (tenant_id, updated_at);

-- Each connector has its own external-ID space: the same person carries an
-- Okta id and an Entra id. Not unique: RFC 7643 §3.1 does not make it so.
CREATE TABLE user_external_ids (
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    user_pk      bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    value        text NOT NULL,
    PRIMARY KEY (connector_id, user_pk)
);
CREATE INDEX user_external_ids_value ON user_external_ids (connector_id, value);
CREATE INDEX user_external_ids_user ON user_external_ids (user_pk);

CREATE TABLE group_external_ids (
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    group_pk     bigint NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    value        text NOT NULL,
    PRIMARY KEY (connector_id, group_pk)
);
CREATE INDEX group_external_ids_value ON group_external_ids (connector_id, value);
CREATE INDEX group_external_ids_group ON group_external_ids (group_pk);

-- Memberships, one row per member: a group may hold 100k of them.
CREATE TABLE group_users (
    group_pk bigint NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    user_pk  bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, user_pk)
);
CREATE INDEX group_users_user ON group_users (user_pk);

CREATE TABLE group_groups (
    group_pk  bigint NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    member_pk bigint NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, member_pk),
    CHECK (group_pk <> member_pk)
);
CREATE INDEX group_groups_member ON group_groups (member_pk);

-- One event per applied plan, append-only.
CREATE TABLE audit_events (
    id            integer PRIMARY KEY AUTOINCREMENT,
    tenant_id     bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at            text NOT NULL,
    source        text NOT NULL,
    connector_id  bigint,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    detail        text NOT NULL
);
CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at);
