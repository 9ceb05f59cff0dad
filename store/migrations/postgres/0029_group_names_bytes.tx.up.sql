-- The admin list of groups (GET /admin/v1/{tenant}/groups?q=) reads the
-- folded names in byte order: a prefix is then one range of the index,
-- from the prefix to the prefix followed by the highest code point, and
-- the page's cursor is the last name. The unique index on the names
-- (0006) sorts by the database's collation, in which such a range can
-- miss names that start with the prefix (en_US ignores spaces and
-- punctuation at first); COLLATE "C" is byte order under any collation.
CREATE INDEX groups_tenant_name_bytes ON groups (tenant_id, display_name_folded COLLATE "C");
