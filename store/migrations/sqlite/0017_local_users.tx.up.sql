-- A local user (break-glass account): see the PostgreSQL migration of the
-- same number.
ALTER TABLE users ADD COLUMN local integer NOT NULL DEFAULT 0;
