-- The tenant's audit log (GET /admin/v1/{tenant}/audit): newest first by
-- (at, id), a page at a time from a keyset (at, id) < (?, ?), narrowed by
-- user, connector or source and a time range. Each narrowing has its own
-- index ending in (at, id), so that a page reads its rows in order from
-- the index and stops at the page's end, however old the events asked
-- for; combined filters read the most selective index and check the rest.
-- The two indexes before lacked the id, which breaks ties of at (events
-- of one transaction share it): they give way to their longer forms, which
-- serve what they served (erase's (tenant_id, resource_id), the events of
-- one user).
DROP INDEX audit_events_tenant_at;
DROP INDEX audit_events_resource;
CREATE INDEX audit_events_tenant_at_id ON audit_events (tenant_id, at, id);
CREATE INDEX audit_events_resource_at ON audit_events (tenant_id, resource_id, at, id);
CREATE INDEX audit_events_connector_at ON audit_events (tenant_id, connector_id, at, id);
CREATE INDEX audit_events_source_at ON audit_events (tenant_id, source, at, id);
