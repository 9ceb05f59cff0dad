-- Browser logins in flight: see the PostgreSQL migration of the same
-- number. The state and the login cookie are stored as SHA-256 only; a row
-- is used once.
CREATE TABLE login_states (
    id           integer PRIMARY KEY AUTOINCREMENT,
    state_hash   blob NOT NULL UNIQUE,
    browser_hash blob NOT NULL,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    nonce        text NOT NULL,
    verifier     text NOT NULL,
    return_to    text NOT NULL,
    created_at   text NOT NULL,
    expires_at   text NOT NULL,
    used_at      text
);
CREATE INDEX login_states_expires ON login_states (expires_at);
