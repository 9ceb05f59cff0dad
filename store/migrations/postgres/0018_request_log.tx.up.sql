-- The request log: each SCIM request of a connector, kept for an admin to
-- debug a sync and to replay as a preview (scimd connector replay). body
-- is the request's body with every SCIM password removed, cut to a bound
-- (truncated says so); no header is ever kept. plans is a JSON array, one
-- element per write the request made: {"plan": summary} or {"error": ...}.
-- dry_run: the plans were only previewed, nothing was written (a shadow
-- connector's requests). latency_us is microseconds.
-- Rows are bounded per connector by count and by age: the writer prunes
-- them in the background, never per request.
CREATE TABLE request_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    body         text NOT NULL DEFAULT '',
    truncated    boolean NOT NULL DEFAULT false,
    status       integer NOT NULL,
    latency_us   bigint NOT NULL,
    request_id   text NOT NULL DEFAULT '',
    dry_run      boolean NOT NULL DEFAULT false,
    plans        jsonb,
    error        text NOT NULL DEFAULT ''
);
-- A connector's latest requests, newest first (keyset on id), and the
-- count bound's cut.
CREATE INDEX request_log_connector ON request_log (connector_id, id DESC);
-- The age bound.
CREATE INDEX request_log_at ON request_log (at);
