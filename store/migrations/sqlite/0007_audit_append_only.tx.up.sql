-- Audit events are append-only, and a person's erase (GDPR art. 17)
-- removes their values from them: see the PostgreSQL migration of the same
-- number. personal holds an event's values; the one change the trigger
-- allows is erase's, setting it to NULL with everything else as it was.
ALTER TABLE audit_events ADD COLUMN personal text;

-- Events written before: move their values out of detail (json_patch onto
-- {} drops the nulls, nested ones too, as on PostgreSQL).
UPDATE audit_events SET
    personal = NULLIF(json_patch('{}', json_object(
        'before', json(detail -> '$.before'), 'after', json(detail -> '$.after'),
        'match', json(detail -> '$.match'), 'changes', json(detail -> '$.changes'))), '{}'),
    detail = (
        WITH changed (k) AS (
            SELECT k FROM (
                SELECT key AS k FROM json_each(CASE json_type(detail, '$.before') WHEN 'object' THEN detail -> '$.before' ELSE '{}' END)
                UNION
                SELECT key FROM json_each(CASE json_type(detail, '$.after') WHEN 'object' THEN detail -> '$.after' ELSE '{}' END)
            )
            WHERE (detail -> ('$.before."' || k || '"')) IS NOT (detail -> ('$.after."' || k || '"'))
            UNION
            SELECT json_extract(c.value, '$.attribute')
            FROM json_each(CASE json_type(detail, '$.changes') WHEN 'array' THEN detail -> '$.changes' ELSE '[]' END) AS c
            WHERE json_type(c.value, '$.attribute') = 'text'
        )
        SELECT CASE WHEN (SELECT count(*) FROM changed) = 0 THEN d
                    ELSE json_set(d, '$.changed', (SELECT json_group_array(k) FROM (SELECT k FROM changed ORDER BY k)))
               END
        FROM (SELECT CASE json_type(detail, '$.match')
                         WHEN 'object' THEN json_set(json_remove(detail, '$.before', '$.after', '$.changes', '$.match'),
                                                     '$.match', json(json_remove(detail -> '$.match', '$.value')))
                         ELSE json_remove(detail, '$.before', '$.after', '$.changes', '$.match')
                     END AS d)
    )
WHERE json_type(detail, '$.before') IS NOT NULL OR json_type(detail, '$.after') IS NOT NULL
   OR json_type(detail, '$.changes') IS NOT NULL OR json_type(detail, '$.match') IS NOT NULL;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only: DELETE of audit_events refused');
END;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (OLD.personal IS NOT NULL AND NEW.personal IS NULL
          AND NEW.id IS OLD.id AND NEW.tenant_id IS OLD.tenant_id AND NEW.at IS OLD.at
          AND NEW.source IS OLD.source AND NEW.connector_id IS OLD.connector_id
          AND NEW.action IS OLD.action AND NEW.resource_type IS OLD.resource_type
          AND NEW.resource_id IS OLD.resource_id AND NEW.detail IS OLD.detail)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only: UPDATE of audit_events refused (only an erase may drop an event''s personal values)');
END;

-- Erase finds a user's events by resource.
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id);
