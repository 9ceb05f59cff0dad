-- When each token was last used: see the PostgreSQL migration of the same
-- number.
CREATE TABLE token_usage (
    token_id     bigint PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    last_used_at text NOT NULL
);
