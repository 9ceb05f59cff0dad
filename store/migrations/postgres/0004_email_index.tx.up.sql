-- Matching by email must be an index lookup from a tenant's first user on,
-- before any ANALYZE: over users_email_values (GIN, 0001) the planner,
-- without statistics, scans the tenant and calls scimd_email_values per
-- row. user_emails keeps each user's folded email values beside the row,
-- maintained by a trigger from attrs, behind a plain btree. (SQLite's 0004
-- is the same table.)
CREATE TABLE user_emails (
    user_pk   bigint NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    tenant_id bigint NOT NULL,
    email     text NOT NULL
);
CREATE INDEX user_emails_tenant_email ON user_emails (tenant_id, email);
CREATE INDEX user_emails_user ON user_emails (user_pk);

CREATE FUNCTION scimd_user_emails() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.attrs->'emails' IS NOT DISTINCT FROM OLD.attrs->'emails' THEN
            RETURN NEW;
        END IF;
        DELETE FROM user_emails WHERE user_pk = NEW.pk;
    END IF;
    INSERT INTO user_emails (user_pk, tenant_id, email)
    SELECT NEW.pk, NEW.tenant_id, v FROM unnest(scimd_email_values(NEW.attrs)) AS v WHERE v IS NOT NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER user_emails AFTER INSERT OR UPDATE OF attrs ON users
    FOR EACH ROW EXECUTE FUNCTION scimd_user_emails();

INSERT INTO user_emails (user_pk, tenant_id, email)
SELECT u.pk, u.tenant_id, v FROM users AS u, unnest(scimd_email_values(u.attrs)) AS v WHERE v IS NOT NULL;
