-- The request log: see the PostgreSQL migration of the same number.
CREATE TABLE request_log (
    id           integer PRIMARY KEY AUTOINCREMENT,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_id bigint NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    at           text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    body         text NOT NULL DEFAULT '',
    truncated    boolean NOT NULL DEFAULT false,
    status       integer NOT NULL,
    latency_us   bigint NOT NULL,
    request_id   text NOT NULL DEFAULT '',
    dry_run      boolean NOT NULL DEFAULT false,
    plans        text,
    error        text NOT NULL DEFAULT ''
);
CREATE INDEX request_log_connector ON request_log (connector_id, id DESC);
CREATE INDEX request_log_at ON request_log (at);
