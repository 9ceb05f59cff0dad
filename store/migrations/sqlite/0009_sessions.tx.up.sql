-- Sign-in sessions (JIT at login): see the PostgreSQL migration of the
-- same number. The browser holds 32 random bytes; only their SHA-256 is
-- stored, so the table read by someone else opens no session.
CREATE TABLE sessions (
    id              integer PRIMARY KEY AUTOINCREMENT,
    hash            blob NOT NULL UNIQUE,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- NULL once the user is deleted: the ended session stays, with user_id.
    user_pk         bigint REFERENCES users (pk) ON DELETE SET NULL,
    user_id         text NOT NULL,
    connector_id    bigint REFERENCES connectors (id) ON DELETE SET NULL,
    created_at      text NOT NULL,
    last_seen_at    text NOT NULL,
    idle_expires_at text NOT NULL,
    expires_at      text NOT NULL,
    ended_at        text,
    end_reason      text
);
-- The live sessions of a user: what a disable or delete ends.
CREATE INDEX sessions_user_live ON sessions (user_pk) WHERE ended_at IS NULL;
