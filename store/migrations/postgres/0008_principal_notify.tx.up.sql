-- Servers cache who a bearer token is (reconcile.Engine.Authenticate), so
-- that a SCIM request is one round trip, not a token lookup and then its
-- query. Whatever a cached principal is made of (its token, its
-- connector, its tenant and the tenant's configuration version) tells
-- every server here, at commit, to drop its cache: a token revoked by
-- scimd token revoke in another process, a profile set, a configuration
-- saved. A server that is not listening (starting, reconnecting) does not
-- cache at all (store.DB.PrincipalEpoch).
--
-- Inserts do not notify: a new token, connector or tenant changes no
-- principal already read (unknown tokens are not cached), and issuing a
-- token should not empty every server's cache.
--
-- Statement-level, and NOTIFY folds identical notifications of one
-- transaction into one: a transaction costs one notification at most.
CREATE FUNCTION scimd_principals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('scimd_principals', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER tokens_principals_changed AFTER UPDATE OR DELETE OR TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_principals_changed();
CREATE TRIGGER connectors_principals_changed AFTER UPDATE OR DELETE OR TRUNCATE ON connectors
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_principals_changed();
CREATE TRIGGER tenants_principals_changed AFTER UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION scimd_principals_changed();
