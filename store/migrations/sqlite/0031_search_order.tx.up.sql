-- The admin list's search (store.SearchUsers) reads a page of matches in
-- the order of the key each was found by: userName, then displayName,
-- then email, with the pk after equal keys. Each index below delivers its
-- matches in that order from the page's cursor (an index of users ends in
-- the rowid, which is the pk; user_emails' rowid is not the user, so the
-- user's pk is added), so a page reads about as many index entries as it
-- shows however many users share the prefix.
DROP INDEX user_emails_tenant_email;
CREATE INDEX user_emails_tenant_email ON user_emails (tenant_id, email, user_pk);
-- Deleted users may share a userName (the unique index is on live ones).
CREATE INDEX users_tenant_deleted_name ON users (tenant_id, user_name_folded) WHERE deleted_at IS NOT NULL;
