-- Mail to send (an activation link, an import's summary), written in the
-- transaction of the change that causes it, so that a crash neither loses
-- it nor leaves one for a change that rolled back. A worker claims the
-- pending rows that are due (FOR UPDATE SKIP LOCKED, so that replicas
-- share the work), sends them over SMTP and marks them sent; a failure
-- sets next_attempt_at later (back-off) until attempts runs out (failed).
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
-- The worker's claim: the pending rows due first.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- One-time activation links: only the SHA-256 of the token is kept. A
-- token is used once (used_at set where still NULL) before expires_at; a
-- resend sets used_at on the user's unused ones, so that only the newest
-- link works.
CREATE TABLE activation_tokens (
    token_hash bytea PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_pk    bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX activation_tokens_user ON activation_tokens (user_pk);
