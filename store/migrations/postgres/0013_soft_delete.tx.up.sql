-- Soft delete: a SCIM DELETE (or a CSV DELETE row, or an administrator)
-- marks the user deleted instead of removing the row, so that its history
-- stays readable and an administrator can restore it (000 seed). Every
-- read treats a deleted user as gone: SCIM answers 404 (RFC 7644 §3.6),
-- lists, filters, counts and matching leave it out. Erase removes the row
-- for good.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;

-- The identity provider may create the same userName anew once the old
-- one is deleted: only live users hold a userName. Every lookup by
-- userName says "deleted_at IS NULL", which lets the planner use it.
DROP INDEX users_tenant_user_name;
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_folded text_pattern_ops) WHERE deleted_at IS NULL;

-- The deleted users of a tenant, for the admin list's status=deleted:
-- few rows, and nothing to maintain for live ones.
CREATE INDEX users_tenant_deleted ON users (tenant_id, pk) WHERE deleted_at IS NOT NULL;

-- resource_counts counts live users: a soft delete takes the user out of
-- the count and a restore puts them back; erasing a deleted user's row
-- no longer counts it out a second time.
CREATE FUNCTION scimd_count_live_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        UPDATE resource_counts SET n = n + CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END
        WHERE tenant_id = NEW.tenant_id AND kind = 'User' AND shard = NEW.pk % 16;
    ELSE
        UPDATE resource_counts AS c SET n = c.n - d.n
        FROM (SELECT r.tenant_id, r.pk % 16 AS shard, count(*) AS n FROM old_rows AS r
              WHERE r.deleted_at IS NULL GROUP BY 1, 2) AS d
        WHERE c.tenant_id = d.tenant_id AND c.kind = 'User' AND c.shard = d.shard;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER users_count_delete ON users;
CREATE TRIGGER users_count_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_count_live_users();
CREATE TRIGGER users_count_soft_delete AFTER UPDATE OF deleted_at ON users FOR EACH ROW
    WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION scimd_count_live_users();

-- A guest (000 seed) is a user limited to exactly one group, with an
-- access window, invited by email: no write may give them another group.
ALTER TABLE users ADD COLUMN guest boolean NOT NULL DEFAULT false;

-- The admin list's search (004 seed): a prefix of the folded displayName
-- or of an email is an index range, as userName's is since 0005;
-- text_pattern_ops serves = as well, so each index is replaced under its
-- name rather than doubled.
DROP INDEX users_tenant_display_name;
CREATE INDEX users_tenant_display_name ON users (tenant_id, display_name_folded text_pattern_ops);
DROP INDEX user_emails_tenant_email;
CREATE INDEX user_emails_tenant_email ON user_emails (tenant_id, email text_pattern_ops);
