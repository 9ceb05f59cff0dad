-- Browser logins in flight (GET /auth/{tenant}/{connector}/login until
-- its callback): one row per authorization request. The state the browser
-- carries to the provider and back is stored only as its SHA-256, and so
-- is the value of the browser's login cookie that binds the callback to
-- the browser that started the login; the nonce and the PKCE verifier must
-- be read back, so they are kept as they are, for at most a few minutes.
-- A row is used once: the callback sets used_at where it is still NULL,
-- so a replayed state (or two callbacks racing) finds it used.
CREATE TABLE login_states (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state_hash   bytea NOT NULL UNIQUE,
    browser_hash bytea NOT NULL,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    nonce        text NOT NULL,
    verifier     text NOT NULL,
    return_to    text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
-- What the sweep at each new login deletes: rows long past their expiry.
CREATE INDEX login_states_expires ON login_states (expires_at);
