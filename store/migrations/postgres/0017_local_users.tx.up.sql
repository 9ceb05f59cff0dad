-- A local user (a break-glass account) is managed only in scimd: no
-- connector may match, change, disable or delete them; administrators
-- may. The flag rides on the row every write reads already, so checking
-- it costs no query.
ALTER TABLE users ADD COLUMN local boolean NOT NULL DEFAULT false;
