-- A tenant's connector configuration set through the admin API: the YAML
-- text, checked when it was saved, and a version every save moves on, so
-- that every replica recompiles it when it changes. NULL: the file (or the
-- defaults) configures the tenant.
ALTER TABLE tenants ADD COLUMN config text;
ALTER TABLE tenants ADD COLUMN config_version bigint NOT NULL DEFAULT 0;
