-- SQLite has no index over a JSON array, so matching by email (and only
-- that) would scan every user. user_emails keeps each user's folded email
-- values beside the row, maintained by triggers from attrs, so that a
-- match by email is an index lookup here too. (PostgreSQL has
-- users_email_values, a GIN index over the same values.)
CREATE TABLE user_emails (
    user_pk   integer NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    tenant_id integer NOT NULL,
    email     text NOT NULL
);
CREATE INDEX user_emails_tenant_email ON user_emails (tenant_id, email);
CREATE INDEX user_emails_user ON user_emails (user_pk);

CREATE TRIGGER user_emails_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_emails (user_pk, tenant_id, email)
    SELECT NEW.pk, NEW.tenant_id, scimd_fold(json_extract(e.value, '$.value'))
    FROM json_each(CASE json_type(NEW.attrs, '$.emails') WHEN 'array' THEN json_extract(NEW.attrs, '$.emails') ELSE '[]' END) AS e
    WHERE json_type(e.value, '$.value') = 'text';
END;

CREATE TRIGGER user_emails_update AFTER UPDATE OF attrs ON users BEGIN
    DELETE FROM user_emails WHERE user_pk = NEW.pk;
    INSERT INTO user_emails (user_pk, tenant_id, email)
    SELECT NEW.pk, NEW.tenant_id, scimd_fold(json_extract(e.value, '$.value'))
    FROM json_each(CASE json_type(NEW.attrs, '$.emails') WHEN 'array' THEN json_extract(NEW.attrs, '$.emails') ELSE '[]' END) AS e
    WHERE json_type(e.value, '$.value') = 'text';
END;

INSERT INTO user_emails (user_pk, tenant_id, email)
SELECT u.pk, u.tenant_id, scimd_fold(json_extract(e.value, '$.value'))
FROM users AS u, json_each(CASE json_type(u.attrs, '$.emails') WHEN 'array' THEN json_extract(u.attrs, '$.emails') ELSE '[]' END) AS e
WHERE json_type(e.value, '$.value') = 'text';
