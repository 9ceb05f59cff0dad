-- What a deleted user leaves behind: see the PostgreSQL migration of the
-- same number. Keys are SHA-256 only.
CREATE TABLE user_tombstones (
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash   blob NOT NULL,
    user_id    text NOT NULL,
    deleted_at text NOT NULL,
    PRIMARY KEY (tenant_id, key_hash)
);
