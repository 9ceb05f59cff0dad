-- Mail to send and one-time activation links: see the PostgreSQL
-- migration of the same number. Only the token's SHA-256 is kept.
CREATE TABLE outbox (
    id              integer PRIMARY KEY AUTOINCREMENT,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at text NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      text NOT NULL,
    sent_at         text
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE activation_tokens (
    token_hash blob PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk    bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    created_at text NOT NULL,
    expires_at text NOT NULL,
    used_at    text
);
CREATE INDEX activation_tokens_user ON activation_tokens (user_pk);
