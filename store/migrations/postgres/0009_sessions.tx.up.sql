-- Sign-in sessions (JIT at login). The browser's cookie holds 32 random
-- bytes; only their SHA-256 is stored, so a copy of this table opens no
-- session. A session ends at its absolute expiry (expires_at), when idle
-- past idle_expires_at (moved on as it is used, at most once a minute), at
-- logout, or when its user is disabled or deleted (ended_at, end_reason),
-- in the same transaction as that change.
CREATE TABLE sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash            bytea NOT NULL UNIQUE,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- NULL once the user is deleted: the ended session stays, with user_id.
    user_pk         bigint REFERENCES users (pk) ON DELETE SET NULL,
    user_id         uuid NOT NULL,
    -- The OIDC connector that signed the person in.
    connector_id    bigint REFERENCES connectors (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    end_reason      text
);
-- The live sessions of a user: what a disable or delete ends.
CREATE INDEX sessions_user_live ON sessions (user_pk) WHERE ended_at IS NULL;
