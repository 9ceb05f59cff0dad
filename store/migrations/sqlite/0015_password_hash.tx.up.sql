-- A carried-over password hash: see the PostgreSQL migration of the same
-- number.
ALTER TABLE users ADD COLUMN password_hash text NULL;
