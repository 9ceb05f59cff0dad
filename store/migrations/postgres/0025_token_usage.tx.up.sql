-- When each token was last used, to the minute: the admin console shows
-- it beside the token. Its own table, not a column of tokens: an UPDATE of
-- tokens tells every server to empty its principal cache (0008), and a
-- token's use must not. The request log's background writer keeps it, in
-- the transaction of a batch it writes, at most once a minute per token:
-- a SCIM request pays nothing more. Tokens used only outside SCIM (the
-- admin API, the ID-token hook) are not recorded.
CREATE TABLE token_usage (
    token_id     bigint PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    last_used_at timestamptz NOT NULL
);
