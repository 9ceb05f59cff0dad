-- A password hash a CSV import carries over from another system (bcrypt
-- or argon2id in their standard encodings). It is kept apart from the
-- SCIM document: written on create and on an update that brings one, and
-- never read by SCIM or exported.
ALTER TABLE users ADD COLUMN password_hash text NULL;
