-- The local (break-glass) users of a tenant: a few at most. A connector's
-- replace or delete of a group asks which of them the group holds; from
-- this index that is a probe of group_users per local user, not a walk of
-- every member (30-55 ms on a 100,000-member group before).
CREATE INDEX users_tenant_local ON users (tenant_id, pk) WHERE "local";
