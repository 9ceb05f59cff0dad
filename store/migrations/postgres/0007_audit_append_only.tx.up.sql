-- Audit events are append-only, and a person's erase (GDPR art. 17)
-- removes their values from them. Both hold because an event keeps its
-- personal values (the attributes before and after, the mapped changes'
-- values, the value a match was made on) in a column of their own,
-- personal: detail keeps ids, times, what happened, the names of the
-- attributes that changed ("changed") and how the user was matched, but
-- not the values. The one change the trigger allows is erase's: setting
-- personal to NULL, once, with everything else as it was.
ALTER TABLE audit_events ADD COLUMN personal jsonb;

-- Events written before: move their values out of detail. Nested nulls
-- are dropped with the top-level ones, as the Go writer never writes them.
UPDATE audit_events SET
    personal = NULLIF(jsonb_strip_nulls(jsonb_build_object(
        'before', detail->'before', 'after', detail->'after',
        'match', detail->'match', 'changes', detail->'changes')), '{}'),
    detail = detail - 'before' - 'after' - 'changes' - 'match'
        || CASE WHEN jsonb_typeof(detail->'match') = 'object'
                THEN jsonb_build_object('match', (detail->'match') - 'value') ELSE '{}' END
        || COALESCE((
            SELECT jsonb_build_object('changed', jsonb_agg(k ORDER BY k))
            FROM (
                SELECT k FROM (
                    SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(detail->'before') = 'object' THEN detail->'before' ELSE '{}' END)
                    UNION
                    SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(detail->'after') = 'object' THEN detail->'after' ELSE '{}' END)
                ) AS attrs (k)
                WHERE (detail->'before'->k) IS DISTINCT FROM (detail->'after'->k)
                UNION
                SELECT c->>'attribute'
                FROM jsonb_array_elements(CASE WHEN jsonb_typeof(detail->'changes') = 'array' THEN detail->'changes' ELSE '[]' END) AS c
                WHERE c->>'attribute' IS NOT NULL
            ) AS changed (k)
        ), '{}')
WHERE detail ?| ARRAY['before', 'after', 'changes', 'match'];

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.personal IS NOT NULL AND NEW.personal IS NULL
           AND (NEW.id, NEW.tenant_id, NEW.at, NEW.source, NEW.connector_id, NEW.action,
                NEW.resource_type, NEW.resource_id, NEW.detail)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.tenant_id, OLD.at, OLD.source, OLD.connector_id, OLD.action,
                OLD.resource_type, OLD.resource_id, OLD.detail) THEN
            RETURN NEW; -- an erase: the event's personal values dropped
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % of audit_events refused (only an erase may drop an event''s personal values)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Erase finds a user's events by resource.
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id);
