-- A statement's change to a tenant's count goes to one shard, picked at
-- random, instead of to every shard its rows' pks fall in. Within one
-- transaction each update of a shard row leaves a version that nothing can
-- prune until the transaction ends, and the next update walks them all: a
-- million-row import, 10,000 statements each touching all 16 shards, spent
-- most of its time walking those chains (the count trigger went from 7 to
-- 19 ms a statement as the load grew). One shard per statement divides the
-- chains by 16, and concurrent multi-row writers no longer take all 16
-- shard rows each. A shard's n may now go below zero; reads sum the shards.
-- Every change is an upsert, since the shard it picks may not have a row.
CREATE OR REPLACE FUNCTION scimd_count_add(t bigint, k text, d bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO resource_counts AS c (tenant_id, kind, shard, n)
    VALUES (t, k, floor(random() * 16)::smallint, d)
    ON CONFLICT (tenant_id, kind, shard) DO UPDATE SET n = c.n + EXCLUDED.n
$$;

CREATE OR REPLACE FUNCTION scimd_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM scimd_count_add(r.tenant_id, TG_ARGV[0], count(*)) FROM new_rows AS r GROUP BY r.tenant_id;
    ELSE
        PERFORM scimd_count_add(r.tenant_id, TG_ARGV[0], -count(*)) FROM old_rows AS r GROUP BY r.tenant_id;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scimd_count_live_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM scimd_count_add(NEW.tenant_id, 'User', CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END);
    ELSE
        PERFORM scimd_count_add(r.tenant_id, 'User', -count(*)) FROM old_rows AS r
        WHERE r.deleted_at IS NULL GROUP BY r.tenant_id;
    END IF;
    RETURN NULL;
END $$;
