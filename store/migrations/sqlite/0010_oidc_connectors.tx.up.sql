-- A connector may be an OIDC provider that people sign in with (kind
-- oidc): its users are created or updated at login (JIT), and its tokens
-- open the ID-token hook (/jit/{tenant}/{connector}), not SCIM.
--
-- SQLite cannot alter a column's CHECK; rebuilding connectors would mean
-- turning foreign keys off around it (its children cascade on delete),
-- which a migration's transaction cannot do. SQLite documents editing the
-- schema text instead for a constraint that only gets looser
-- (https://sqlite.org/lang_altertable.html#otheralter): no row can fail
-- it. The DDL after it moves the schema cookie, so that every other
-- connection reads the new text; Migrate recycles the migrating one.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (kind IN (''scim'', ''admin''))', 'CHECK (kind IN (''scim'', ''oidc'', ''admin''))')
 WHERE type = 'table' AND name = 'connectors';
PRAGMA writable_schema = OFF;
CREATE TABLE schema_cookie_0010 (x);
DROP TABLE schema_cookie_0010;
