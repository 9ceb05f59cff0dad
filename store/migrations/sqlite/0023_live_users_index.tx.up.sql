-- The live users of a tenant in creation order, the order every SCIM page
-- reads. Since the soft delete (0013) each page says deleted_at IS NULL,
-- and the probe that finds an unhinted page's first row (OFFSET n LIMIT 1
-- on (tenant_id, pk)) could no longer be answered from users_tenant_pk
-- alone: PostgreSQL read and sorted the whole table (3.8 s for
-- startIndex=999901 at 1M users, BENCHMARKS.md). This index answers it,
-- and the keyset pages, from the index only.
CREATE INDEX users_tenant_live ON users (tenant_id, pk) WHERE deleted_at IS NULL;
