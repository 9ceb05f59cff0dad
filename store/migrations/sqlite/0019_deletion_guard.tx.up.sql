-- The deletion guard: see the PostgreSQL migration of the same number.

-- One row per deactivation or deletion a guarded connector applied; rows
-- older than the connector's window are pruned as new ones go in.
CREATE TABLE guard_events (
    id           integer PRIMARY KEY AUTOINCREMENT,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    at           text NOT NULL
);
CREATE INDEX guard_events_connector_at ON guard_events (connector_id, at);

-- A write the guard held: what it would have written, in a form that can
-- be applied later (op replace with the resulting document, or delete),
-- planned on the resource at version. state pending until an
-- administrator decides: approved (applied) or rejected (dropped).
CREATE TABLE held_writes (
    id            integer PRIMARY KEY AUTOINCREMENT,
    tenant_id     bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id  bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    source        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    user_name     text NOT NULL DEFAULT '',
    op            text NOT NULL CHECK (op IN ('replace', 'delete')),
    version       bigint NOT NULL,
    document      text,
    external_id   text NOT NULL DEFAULT '',
    state         text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    attempts      integer NOT NULL DEFAULT 1,
    created_at    text NOT NULL,
    updated_at    text NOT NULL,
    decided_by    text NOT NULL DEFAULT '',
    decided_at    text,
    outcome       text NOT NULL DEFAULT ''
);
-- One pending write per connector and resource: an identity provider's
-- retry of a held write updates it instead of holding a second.
CREATE UNIQUE INDEX held_writes_pending ON held_writes (connector_id, resource_type, resource_id) WHERE state = 'pending';
-- A connector's held writes by state, in the order they were held.
CREATE INDEX held_writes_connector_state ON held_writes (connector_id, state, id);
-- A retry of a rejected write: the connector's rejections of a resource.
CREATE INDEX held_writes_rejected ON held_writes (connector_id, resource_type, resource_id, version) WHERE state = 'rejected';

-- A connector's users, counted for the guard's percentage.
CREATE INDEX user_links_connector ON user_links (connector_id, user_pk);
