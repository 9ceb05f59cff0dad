-- Reads at a million users: see PostgreSQL's 0005. SQLite has one writer
-- at a time, so one count row per tenant and kind is enough (shard 0).
-- Its userName eq and sw already use users_tenant_user_name (LIKE is
-- case-sensitive here, so a prefix is an index range); co, ew and
-- familyName scan.
CREATE TABLE resource_counts (
    tenant_id integer NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('User', 'Group')),
    shard     integer NOT NULL,
    n         integer NOT NULL,
    PRIMARY KEY (tenant_id, kind, shard)
);

CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
    INSERT INTO resource_counts (tenant_id, kind, shard, n) VALUES (NEW.tenant_id, 'User', 0, 1)
    ON CONFLICT (tenant_id, kind, shard) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND kind = 'User' AND shard = 0;
END;
CREATE TRIGGER groups_count_insert AFTER INSERT ON groups BEGIN
    INSERT INTO resource_counts (tenant_id, kind, shard, n) VALUES (NEW.tenant_id, 'Group', 0, 1)
    ON CONFLICT (tenant_id, kind, shard) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER groups_count_delete AFTER DELETE ON groups BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND kind = 'Group' AND shard = 0;
END;

INSERT INTO resource_counts (tenant_id, kind, shard, n)
SELECT tenant_id, 'User', 0, count(*) FROM users GROUP BY tenant_id;
INSERT INTO resource_counts (tenant_id, kind, shard, n)
SELECT tenant_id, 'Group', 0, count(*) FROM groups GROUP BY tenant_id;
