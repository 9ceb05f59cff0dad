package store

import (
	"context"

	filter "github.com/scim2/filter-parser/v2"
	"github.com/uptrace/bun"
)

// Query selects a page of a tenant's users or groups.
type Query struct {
	TenantID int64
	// ConnectorID chooses whose external IDs are read and filtered on.
	ConnectorID int64
	// Filter is a parsed SCIM filter (RFC 7644 §3.4.2.2); nil matches all.
	Filter filter.Expression
	// StartIndex is 1-based, as in SCIM; values below 1 mean 1.
	StartIndex int
	// Count is the page size; 0 returns only the total.
	Count int
}

// Page is one page of results and the number of matches in all pages.
type Page[T any] struct {
	Total int
	Items []T
}

// page applies the filter, ordering and paging to sel, scans the page into
// sel's model and returns the total number of matches.
func (r reader) page(ctx context.Context, sel *bun.SelectQuery, where string, args []any, order string, q Query) (int, error) {
	if where != "" {
		sel = sel.Where(where, args...)
	}
	n, err := sel.Count(ctx)
	total := int(n)
	if err != nil {
		return 0, mapError(err)
	}
	if q.Count <= 0 {
		return total, nil
	}
	start := max(q.StartIndex, 1)
	if start > total {
		return total, nil
	}
	err = sel.OrderExpr(order).Offset(int64(start - 1)).Limit(int64(q.Count)).Scan(ctx)
	return total, mapError(err)
}
