-- PostgreSQL's 0008 makes changes to tokens, connectors and tenants
-- notify the servers that cache principals. SQLite has no notifications,
-- and scimd does not cache principals on SQLite: the token lookup is an
-- in-process read of a few pages, not a round trip, and reading it every
-- time sees a revocation by another process (scimd token revoke) at once.
-- This migration keeps the two dialects' numbering in step.
SELECT 1;
