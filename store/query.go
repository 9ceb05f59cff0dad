package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
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
	// Extensions are the tenant's own User extension schemas, whose
	// attributes filter and sort like the enterprise extension's.
	Extensions []schema.Schema
	// Lenient makes attributes the resource type does not have compare as
	// absent instead of failing: for queries that span resource types.
	Lenient bool
	// SortBy names a singular attribute to sort on (RFC 7644 §3.4.2.3), as
	// the client wrote it; "" keeps creation order. Ties keep creation
	// order, so paging is stable.
	SortBy     string
	Descending bool
	// StartIndex is 1-based, as in SCIM; values below 1 mean 1.
	StartIndex int
	// Count is the page size; 0 returns only the total.
	Count int
	// After and Before page by key instead of by index (cursor paging,
	// RFC 9865): the page holds the rows right after, or right before, the
	// row with this Position. Only for creation order (no SortBy).
	After, Before Position
}

// Position is a row's place in creation order, as a cursor remembers it.
type Position int64

// Page is one page of results and the number of matches in all pages.
type Page[T any] struct {
	Total int
	Items []T
	// First and Last are the positions of the first and last items, and
	// HasPrev and HasNext say whether rows lie before or after the page,
	// for cursors.
	First, Last      Position
	HasPrev, HasNext bool
}

// page runs a paged query. base returns a fresh SELECT of the given
// columns over the resource's rows with the tenant, joins and filter
// applied; into is the slice the page is scanned into; pk reads an item's
// position.
func page[T any](ctx context.Context, r reader, res resource, q Query, base func(cols string) *bun.SelectQuery, pk func(T) int64) (Page[T], error) {
	var p Page[T]
	n, err := base("*").Count(ctx)
	if err != nil {
		return p, mapError(err)
	}
	p.Total = int(n)
	if q.Count <= 0 {
		return p, nil
	}
	pkCol := res.alias + ".pk"
	sel := base(res.alias + ".*, x.value AS external_id")
	backward := false
	switch {
	case q.SortBy != "":
		if q.After != 0 || q.Before != 0 {
			return p, filterErr("cursor paging follows creation order: it cannot be combined with sortBy")
		}
		expr, err := r.sortExpr(res, q.SortBy)
		if err != nil {
			return p, err
		}
		dir, nulls := "ASC", "NULLS LAST"
		if q.Descending {
			dir, nulls = "DESC", "NULLS FIRST"
		}
		sel = sel.OrderExpr(fmt.Sprintf("%s %s %s, %s", expr, dir, nulls, pkCol))
		sel = sel.Offset(int64(max(q.StartIndex, 1) - 1))
	case q.After != 0:
		sel = sel.Where(pkCol+" > ?", int64(q.After)).OrderExpr(pkCol)
		p.HasPrev = true
	case q.Before != 0:
		sel = sel.Where(pkCol+" < ?", int64(q.Before)).OrderExpr(pkCol + " DESC")
		p.HasNext, backward = true, true
	case q.StartIndex > 1:
		// Deep pages: find the first row of the page on the narrow
		// (tenant_id, pk) index, then read only the page's rows, instead of
		// reading and discarding every row before it as OFFSET would.
		first := base(pkCol).OrderExpr(pkCol).Offset(int64(q.StartIndex - 1)).Limit(1)
		sel = sel.Where(pkCol+" >= (?)", first).OrderExpr(pkCol)
		p.HasPrev = true
	default:
		sel = sel.OrderExpr(pkCol)
	}
	var items []T
	if err := sel.Limit(int64(q.Count+1)).Scan(ctx, &items); err != nil {
		return p, mapError(err)
	}
	if len(items) > q.Count {
		items = items[:q.Count]
		if backward {
			p.HasPrev = true
		} else {
			p.HasNext = true
		}
	}
	if backward {
		slices.Reverse(items)
	}
	if len(items) > 0 {
		p.First, p.Last = Position(pk(items[0])), Position(pk(items[len(items)-1]))
	}
	p.Items = items
	return p, nil
}

// sortExpr is the ORDER BY expression of a sortBy attribute: the folded
// value for case-insensitive strings, in byte order on both databases.
func (r reader) sortExpr(res resource, sortBy string) (string, error) {
	p, err := filter.ParseAttrPath([]byte(sortBy))
	if err != nil {
		return "", filterErr("sortBy %q is not an attribute path", sortBy)
	}
	top, full := name(p)
	if col, ok := res.columns[full]; ok {
		expr := col.expr
		if r.dialect == Postgres && col.typ == "string" {
			expr += ` COLLATE "C"`
		}
		return expr, nil
	}
	a := res.reg[top]
	if a != nil && p.SubAttribute != nil && !a.multi {
		a = a.sub(*p.SubAttribute)
	}
	if a == nil || a.never {
		return "", filterErr("cannot sort by %q: no such %s attribute", sortBy, res.name)
	}
	if a.multi || a.typ == "complex" {
		return "", filterErr("cannot sort by %q: only singular, simple attributes sort", sortBy)
	}
	t := translator{d: r.dialect}
	expr := t.jsonScalar(res.alias+".attrs", a.path, a.typ)
	if (a.typ == "string" || a.typ == "reference") && !a.caseExact {
		expr = t.fold(expr)
	}
	if r.dialect == Postgres && strings.Contains("string reference binary", a.typ) {
		expr += ` COLLATE "C"`
	}
	return expr, nil
}
