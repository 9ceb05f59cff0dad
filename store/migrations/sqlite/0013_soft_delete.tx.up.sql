-- Soft delete: see the PostgreSQL migration of the same number.
ALTER TABLE users ADD COLUMN deleted_at text;

DROP INDEX users_tenant_user_name;
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_folded) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_deleted ON users (tenant_id, pk) WHERE deleted_at IS NOT NULL;

-- resource_counts counts live users.
DROP TRIGGER users_count_delete;
CREATE TRIGGER users_count_delete AFTER DELETE ON users WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND kind = 'User' AND shard = 0;
END;
CREATE TRIGGER users_count_soft_delete AFTER UPDATE OF deleted_at ON users
    WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
    UPDATE resource_counts SET n = n + CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END
    WHERE tenant_id = NEW.tenant_id AND kind = 'User' AND shard = 0;
END;

-- A guest (000 seed) is a user limited to exactly one group, with an
-- access window, invited by email: no write may give them another group.
ALTER TABLE users ADD COLUMN guest integer NOT NULL DEFAULT 0;
