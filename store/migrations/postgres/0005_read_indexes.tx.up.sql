-- Reads at a million users.
--
-- totalResults without counting: resource_counts holds each tenant's
-- number of users and of groups, maintained by statement triggers in the
-- writing transaction, so an unfiltered list page reads up to 16 small
-- rows instead of counting a million. The count is spread over 16 shard
-- rows (by pk) so that concurrent creates in one tenant do not queue on
-- one hot row; a read sums them.
CREATE TABLE resource_counts (
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('User', 'Group')),
    shard     smallint NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (tenant_id, kind, shard)
);

-- One function for both tables and both operations: TG_ARGV[0] is the
-- kind. Shards are taken in key order, so two writers never lock them in
-- opposite orders.
CREATE FUNCTION scimd_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO resource_counts AS c (tenant_id, kind, shard, n)
        SELECT r.tenant_id, TG_ARGV[0], r.pk % 16, count(*) FROM new_rows AS r
        GROUP BY 1, 3 ORDER BY 1, 3
        ON CONFLICT (tenant_id, kind, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        UPDATE resource_counts AS c SET n = c.n - d.n
        FROM (SELECT r.tenant_id, r.pk % 16 AS shard, count(*) AS n FROM old_rows AS r GROUP BY 1, 2) AS d
        WHERE c.tenant_id = d.tenant_id AND c.kind = TG_ARGV[0] AND c.shard = d.shard;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_count_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_count_rows('User');
CREATE TRIGGER users_count_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_count_rows('User');
CREATE TRIGGER groups_count_insert AFTER INSERT ON groups REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_count_rows('Group');
CREATE TRIGGER groups_count_delete AFTER DELETE ON groups REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_count_rows('Group');

INSERT INTO resource_counts (tenant_id, kind, shard, n)
SELECT tenant_id, 'User', pk % 16, count(*) FROM users GROUP BY 1, 3;
INSERT INTO resource_counts (tenant_id, kind, shard, n)
SELECT tenant_id, 'Group', pk % 16, count(*) FROM groups GROUP BY 1, 3;

-- userName sw "x": a prefix range on the folded value. text_pattern_ops
-- compares bytes whatever the database's collation, as LIKE needs, and
-- serves = as well: the unique index becomes one, under the same name
-- (errors.go maps it to userName), rather than a second index per write.
DROP INDEX users_tenant_user_name;
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_folded text_pattern_ops);

-- userName co "x" and ew "x": trigrams of the folded value.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_user_name_trgm ON users USING gin (user_name_folded gin_trgm_ops);

-- name.familyName eq "x": the expression the filter translator writes.
CREATE INDEX users_tenant_family_name ON users (tenant_id, lower(attrs->'name'->>'familyName'));
