package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// LoggedRequest is one request of a connector in the request log
// (migration 0018): what an identity provider sent, what it got, and the
// plans it produced. The log is generic: the SCIM endpoint's requests, a
// shadow connector's (DryRun), any source's that speaks HTTP.
type LoggedRequest struct {
	bun.BaseModel `bun:"table:request_log"`

	// ID orders a connector's requests; it is given by [Tx.AppendRequests].
	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	TenantID    int64     `bun:"tenant_id" json:"-"`
	ConnectorID int64     `bun:"connector_id" json:"-"`
	At          time.Time `bun:"at" json:"at"`
	Method      string    `bun:"method" json:"method"`
	// Path is the request's path and query, as sent.
	Path string `bun:"path" json:"path"`
	// Body is the body with its secrets removed, cut to a bound; Truncated
	// says it was cut. No header is ever kept.
	Body      string `bun:"body" json:"body,omitempty"`
	Truncated bool   `bun:"truncated" json:"truncated,omitempty"`
	Status    int    `bun:"status" json:"status"`
	// LatencyMicros is how long the request took to answer, in µs.
	LatencyMicros int64  `bun:"latency_us" json:"latencyMicros"`
	RequestID     string `bun:"request_id" json:"requestId,omitempty"`
	// DryRun says the plans were previewed only: nothing was written.
	DryRun bool `bun:"dry_run" json:"dryRun,omitempty"`
	// Plans is a JSON array, one element per write the request made; ""
	// for none.
	Plans string `bun:"plans,nullzero" json:"-"`
	// Error is what went wrong, for a request that failed.
	Error string `bun:"error" json:"error,omitempty"`
	// TokenID is the token the request carried; not a column: the
	// writer records the token's use from it ([Tx.TouchTokens]).
	TokenID int64 `bun:"-" json:"-"`
}

// AppendRequests adds requests to the log in one statement, giving each
// its ID. A request without At is stamped now.
func (tx *Tx) AppendRequests(ctx context.Context, rs []LoggedRequest) error {
	if len(rs) == 0 {
		return nil
	}
	t := now()
	for i := range rs {
		if rs[i].At.IsZero() {
			rs[i].At = t
		}
		rs[i].At = rs[i].At.UTC().Truncate(time.Microsecond)
	}
	_, err := tx.idb.NewInsert().Model(&rs).Returning("id").Exec(ctx)
	return mapError(err)
}

// PruneRequests bounds the log: it removes every request older than
// before, and those of each connector in connectors past its newest keep.
// It returns how many it removed. Both deletes walk an index
// (request_log_at, request_log_connector).
func (tx *Tx) PruneRequests(ctx context.Context, before time.Time, keep int, connectors []int64) (int64, error) {
	res, err := tx.idb.NewDelete().TableExpr("request_log").Where("at < ?", before.UTC()).Exec(ctx)
	if err != nil {
		return 0, mapError(err)
	}
	n, _ := res.RowsAffected()
	for _, c := range connectors {
		var cut []int64
		// The id of the newest request past keep: it and all older go.
		err := tx.idb.NewSelect().TableExpr("request_log").Column("id").Where("connector_id = ?", c).
			OrderExpr("id DESC").Offset(int64(keep)).Limit(1).Scan(ctx, &cut)
		if err != nil {
			return n, mapError(err)
		}
		if len(cut) == 0 {
			continue
		}
		res, err := tx.idb.NewDelete().TableExpr("request_log").Where("connector_id = ? AND id <= ?", c, cut[0]).Exec(ctx)
		if err != nil {
			return n, mapError(err)
		}
		m, _ := res.RowsAffected()
		n += m
	}
	return n, nil
}

// Requests returns a connector's logged requests, newest first, at most
// limit of them, those before the request with ID before if before > 0
// (keyset paging: pass the last ID of a page to get the next), without
// their bodies.
func (r reader) Requests(ctx context.Context, tenantID, connectorID, before int64, limit int) ([]LoggedRequest, error) {
	var rs []LoggedRequest
	q := r.idb.NewSelect().Model(&rs).ExcludeColumn("body").Where("connector_id = ? AND tenant_id = ?", connectorID, tenantID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	return rs, mapError(err)
}

// Request returns one logged request of a connector by ID; another
// connector's, or an unknown ID, is [ErrNotFound].
func (r reader) Request(ctx context.Context, tenantID, connectorID, id int64) (LoggedRequest, error) {
	var lr LoggedRequest
	err := r.idb.NewSelect().Model(&lr).Where("id = ? AND connector_id = ? AND tenant_id = ?", id, connectorID, tenantID).Scan(ctx)
	return lr, mapError(err)
}

// CountRequests returns how many requests of a connector the log holds.
func (r reader) CountRequests(ctx context.Context, tenantID, connectorID int64) (int64, error) {
	n, err := r.idb.NewSelect().TableExpr("request_log").Where("connector_id = ? AND tenant_id = ?", connectorID, tenantID).Count(ctx)
	return n, mapError(err)
}

// RequestStats is what a connector's request log says of it: its latest
// request, and its requests and failures since a time.
type RequestStats struct {
	ConnectorID int64
	// Last is the connector's latest logged request; nil: none logged.
	Last *LoggedRequest
	// Requests, ClientErrors (4xx) and ServerErrors (5xx) count the
	// logged requests since the time asked.
	Requests, ClientErrors, ServerErrors int64
}

// ConnectorRequestStats returns the request log's figures of each of
// connectors: its latest request and the counts since since. Each
// connector costs two reads of its index (request_log_connector), the
// counts bounded by the rows the log keeps per connector.
func (r reader) ConnectorRequestStats(ctx context.Context, tenantID int64, connectors []int64, since time.Time) ([]RequestStats, error) {
	out := make([]RequestStats, len(connectors))
	for i, c := range connectors {
		out[i].ConnectorID = c
		last, err := r.Requests(ctx, tenantID, c, 0, 1)
		if err != nil {
			return nil, err
		}
		if len(last) == 1 {
			out[i].Last = &last[0]
		}
		err = r.idb.NewSelect().TableExpr("request_log").
			ColumnExpr("COUNT(*), COALESCE(SUM(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END), 0)").
			Where("connector_id = ? AND tenant_id = ? AND at >= ?", c, tenantID, since.UTC()).
			Scan(ctx, &out[i].Requests, &out[i].ClientErrors, &out[i].ServerErrors)
		if err != nil {
			return nil, mapError(err)
		}
	}
	return out, nil
}
