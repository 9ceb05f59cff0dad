-- A group's displayName is unique in its tenant, in any case: an Okta Group
-- Push of "Engineering" adopts the group a connector's rule created on
-- demand instead of creating a second one, after which every grant of
-- "Engineering" was ambiguous (409) until someone renamed a group.

-- The connector that manages a group through its SCIM group writes; NULL
-- for a group rules created on demand (or an admin), which the first
-- connector to push a group of that name adopts.
ALTER TABLE groups ADD COLUMN managed_by bigint REFERENCES connectors (id) ON DELETE SET NULL;

-- Groups written before: a connector manages those it gave an external ID,
-- and those it wrote by SCIM id (the audit log says which).
UPDATE groups SET managed_by = COALESCE(
    (SELECT MIN(x.connector_id) FROM group_external_ids AS x WHERE x.group_pk = groups.pk),
    (SELECT MIN(a.connector_id) FROM audit_events AS a
     WHERE a.tenant_id = groups.tenant_id AND a.resource_type = 'Group' AND a.resource_id = groups.id::text
       AND a.connector_id IN (SELECT id FROM connectors)));

-- Names taken twice: the group a connector manages keeps the name (the
-- identity provider pushes it by that name), else the oldest; each other
-- one is renamed "<name> (<its id>)" (ids are lower-case: the folded name
-- is the old one's with the same suffix), which no other group can hold, and
-- the rename is an audit event. Nothing else changes: members, grants and
-- external IDs stay; a rule granting the name grants the kept group from
-- the user's next write on, and revokes its grant of the renamed one.
CREATE TEMP TABLE group_renames ON COMMIT DROP AS
SELECT pk, tenant_id, id, display_name AS before, display_name || ' (' || id::text || ')' AS after,
       display_name_folded || ' (' || id::text || ')' AS after_folded
FROM (SELECT g.*, ROW_NUMBER() OVER (PARTITION BY tenant_id, display_name_folded
                                     ORDER BY managed_by IS NULL, pk) AS n
      FROM groups AS g) AS ranked
WHERE n > 1;

INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail)
SELECT tenant_id, now(), 'migration', NULL, 'rename', 'Group', id::text,
       jsonb_build_object('before', jsonb_build_object('displayName', before), 'after', jsonb_build_object('displayName', after),
                          'reason', 'migration 0006: group displayName is unique per tenant, case-insensitively, and another group has this one')
FROM group_renames;

UPDATE groups SET
    display_name = r.after,
    display_name_folded = r.after_folded,
    attrs = jsonb_set(attrs, '{displayName}', to_jsonb(r.after)),
    version = version + 1,
    updated_at = now()
FROM group_renames AS r
WHERE r.pk = groups.pk;

DROP INDEX groups_tenant_display_name;
CREATE UNIQUE INDEX groups_tenant_display_name ON groups (tenant_id, display_name_folded);
