-- Shadow mode: see the PostgreSQL migration of the same number.
-- The mode column is added by editing the schema text, as 0010 does: here
-- ALTER TABLE ADD COLUMN fails re-checking the schema (near "it": syntax
-- error) on the text 0010 and 0016 left. Rows written before have no value
-- for a last column, and SQLite reads its default for them.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, ', org_unit text,', ', org_unit text, mode text NOT NULL DEFAULT ''live'' CHECK (mode IN (''live'', ''shadow'')),')
 WHERE type = 'table' AND name = 'connectors';
PRAGMA writable_schema = OFF;
CREATE TABLE schema_cookie_0022 (x);
DROP TABLE schema_cookie_0022;

CREATE TABLE shadow_resources (
    pk                  integer PRIMARY KEY AUTOINCREMENT,
    connector_id        bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('User', 'Group')),
    id                  text NOT NULL,
    real_pk             bigint,
    deleted             boolean NOT NULL DEFAULT false,
    user_name_folded    text,
    external_id         text,
    display_name_folded text,
    doc                 text NOT NULL,
    updated_at          text NOT NULL
);
CREATE UNIQUE INDEX shadow_resources_id ON shadow_resources (connector_id, kind, id);
CREATE INDEX shadow_resources_real ON shadow_resources (connector_id, kind, real_pk) WHERE real_pk IS NOT NULL;
CREATE INDEX shadow_resources_user_name ON shadow_resources (connector_id, user_name_folded) WHERE user_name_folded IS NOT NULL;
CREATE INDEX shadow_resources_external_id ON shadow_resources (connector_id, kind, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX shadow_resources_display_name ON shadow_resources (connector_id, kind, display_name_folded) WHERE display_name_folded IS NOT NULL;

CREATE TABLE shadow_plans (
    id           integer PRIMARY KEY AUTOINCREMENT,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    at           text NOT NULL,
    kind         text NOT NULL,
    op           text NOT NULL,
    action       text NOT NULL,
    resource_id  text,
    conflict     text,
    error        text,
    summary      text
);
CREATE INDEX shadow_plans_connector ON shadow_plans (connector_id, id);
