-- A tenant's connector configuration set through the admin API: the YAML
-- text, checked when it was saved, and a version every save moves on, so
-- that every replica recompiles it when it changes. NULL: the file (or the
-- defaults) configures the tenant.
ALTER TABLE tenants ADD COLUMN config text;
ALTER TABLE tenants ADD COLUMN config_version bigint NOT NULL DEFAULT 0;

-- A connector is an identity source pushing SCIM (kind scim), or a group
-- of administrators using the admin API (kind admin); an admin connector
-- with an org unit sees that unit and everything below it, nothing above.
ALTER TABLE connectors ADD COLUMN kind text NOT NULL DEFAULT 'scim' CHECK (kind IN ('scim', 'admin'));
ALTER TABLE connectors ADD COLUMN org_unit text;
