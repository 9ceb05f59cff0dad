package store

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

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
	// Groups has each user of the page carry the groups that hold it
	// directly (User.Groups), read by the page's own statement rather
	// than by a second round trip.
	Groups bool
	// RawAttrs has each user of the page carry its stored document as the
	// database's JSON text (User.RawAttrs), not decoded into User.Attrs,
	// and only the columns a SCIM response shows (PK, TenantID, ID,
	// Version, CreatedAt, UpdatedAt, ExternalID, Groups): for responses
	// that splice the document in as it is.
	RawAttrs bool
	// Now is the time "active" filters compare access windows with
	// ([User.ActiveAt]); zero means the current time.
	Now time.Time
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
// applied; cols are the columns of a page's rows; key names the query's result set (resource, tenant, connector
// and translated filter) for the paging hints; into is the slice the page
// is scanned into; pk reads an item's position.
//
// totalResults costs as little as the page allows. A page that shows
// where the results end (it is not full, and starts on a row or at the
// first) gives the total without counting: a userName eq lookup is one
// query. An unfiltered list reads the tenant's row count from
// resource_counts, kept exact by triggers in every writing transaction
// (migration 0005), instead of counting a million rows per page. Only a
// filtered list whose matches go on beyond the page counts them.
func page[T any](ctx context.Context, r reader, res resource, q Query, cols, key string, base func(cols string) *bun.SelectQuery, pk func(T) int64) (Page[T], error) {
	var p Page[T]
	if q.Count <= 0 {
		n, err := r.total(ctx, res, q, base)
		p.Total = n
		return p, err
	}
	pkCol := res.alias + ".pk"
	// Every page is in (tenant_id, pk) order, which only the tenant's
	// (tenant_id, pk) index gives without sorting: see tenantIs.
	asc := res.alias + ".tenant_id, " + pkCol
	sel := base(cols)
	total := -1 // not known yet
	// derive: the page's rows are counted from the first match, so a page
	// that is not full ends the results.
	backward, derive, hinted := false, false, false
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
		sel = sel.OrderExpr(fmt.Sprintf("%s.tenant_id, %s %s %s, %s", res.alias, expr, dir, nulls, pkCol))
		sel = sel.Offset(int64(max(q.StartIndex, 1) - 1))
		derive = true
	case q.After != 0:
		sel = sel.Where(pkCol+" > ?", int64(q.After)).OrderExpr(asc)
		p.HasPrev = true
	case q.Before != 0:
		sel = sel.Where(pkCol+" < ?", int64(q.Before)).OrderExpr(res.alias + ".tenant_id DESC, " + pkCol + " DESC")
		p.HasNext, backward = true, true
	case q.StartIndex > 1:
		p.HasPrev, hinted = true, true
		n, err := r.total(ctx, res, q, base)
		if err != nil {
			return p, err
		}
		total = n
		if after, ok := r.hints.get(key, q.StartIndex, total); ok {
			// The previous page of this walk ended on row after: seek
			// past it on the (tenant_id, pk) index.
			sel = sel.Where(pkCol+" > ?", after).OrderExpr(asc)
			break
		}
		// No hint (another replica served the previous page, or it was
		// evicted): find the first row of the page on the narrow
		// (tenant_id, pk) index, then read only the page's rows, instead
		// of reading and discarding every row before it as OFFSET would.
		first := base(pkCol).OrderExpr(asc).Offset(int64(q.StartIndex - 1)).Limit(1)
		sel = sel.Where(pkCol+" >= (?)", first).OrderExpr(asc)
	default:
		sel = sel.OrderExpr(asc)
		derive, hinted = true, true
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
	start := max(q.StartIndex, 1)
	switch {
	case total >= 0:
	case derive && !p.HasNext && (len(items) > 0 || start == 1):
		total = start - 1 + len(items)
	default:
		n, err := r.total(ctx, res, q, base)
		if err != nil {
			return p, err
		}
		total = n
	}
	p.Total = total
	if len(items) > 0 {
		p.First, p.Last = Position(pk(items[0])), Position(pk(items[len(items)-1]))
	}
	if hinted && p.HasNext {
		r.hints.put(key, start+len(items), int64(p.Last), total)
	}
	p.Items = items
	return p, nil
}

// total is the number of the tenant's rows that match q: from the
// maintained counts when q has no filter, else counted.
func (r reader) total(ctx context.Context, res resource, q Query, base func(cols string) *bun.SelectQuery) (int, error) {
	var n int64
	err := r.totalQuery(res, q, base).Scan(ctx, &n)
	return int(n), mapError(err)
}

func (r reader) totalQuery(res resource, q Query, base func(cols string) *bun.SelectQuery) *bun.SelectQuery {
	if q.Filter == nil {
		return r.idb.NewSelect().TableExpr("resource_counts").ColumnExpr("COALESCE(SUM(n), 0)").
			Where("tenant_id = ? AND kind = ?", q.TenantID, res.name)
	}
	return base("count(*)")
}

// UsersSQL returns the statements [reader.Users] runs for a first page of
// q (q.StartIndex 1), or for the page after the row at q.After, as a
// hinted or cursor page: the page, and the count it runs when the page
// does not show the total. It is for load tools that measure the
// database doing the same work raw, through the plain driver
// (cmd/scimbench's reference mode).
func (r reader) UsersSQL(q Query) (page, total string, err error) {
	if q.StartIndex > 1 || q.SortBy != "" || q.Before != 0 {
		return "", "", fmt.Errorf("UsersSQL covers first pages and pages after a key, not startIndex %d, sortBy or before", q.StartIndex)
	}
	res := usersTable.with(q.Extensions)
	where, args, err := r.translate(res, q)
	if err != nil {
		return "", "", err
	}
	base, cols := r.usersBase(res, q, where, args)
	sel := base(cols)
	if q.After != 0 {
		sel = sel.Where(res.alias+".pk > ?", int64(q.After))
	}
	page = sel.OrderExpr(res.alias + ".tenant_id, " + res.alias + ".pk").Limit(int64(q.Count + 1)).String()
	return page, r.totalQuery(res, q, base).String(), nil
}

// externalIDs returns how a page query reads the connector's external ID
// (table's value for the row's key col): a join, when the filter or the
// sort reads it as x.value, or else "" and a subquery in the select list,
// one index lookup per row of the page. A join would let PostgreSQL merge
// the external-ID index from its start up to the page's first key, so a
// keyset page a million rows deep read a million index entries.
func (r reader) externalIDs(res resource, q Query, where, table, col string) (join, column string) {
	byID := where
	if q.SortBy != "" {
		sort, _ := r.sortExpr(res, q.SortBy)
		byID += sort
	}
	if strings.Contains(byID, "x.value") {
		return fmt.Sprintf("LEFT JOIN %s AS x ON x.%s = %s.pk AND x.connector_id = %d", table, col, res.alias, q.ConnectorID),
			"x.value AS external_id"
	}
	return "", fmt.Sprintf("(SELECT x.value FROM %s AS x WHERE x.%s = %s.pk AND x.connector_id = %d) AS external_id",
		table, col, res.alias, q.ConnectorID)
}

// tenantIs is the condition that keeps a query to one tenant's rows of
// the table aliased alias, its argument the tenant's id.
//
// On PostgreSQL it is written as an array match, not "tenant_id = $1",
// for the planner's sake. With an equality the tenant is a constant, so
// "ORDER BY pk" (or "tenant_id, pk") can be read from the primary key in
// order, keeping the tenant's rows; PostgreSQL estimates the tenant's rows
// spread evenly over the key and often prefers that plan for a big tenant.
// When other tenants' rows come first in key order (they were created
// first) the page reads and discards every one of them: 110,000 rows, 42 to
// 110 ms, for the first page of a 1M-user tenant behind a 110k one, and
// more as the others grow. "tenant_id = ANY(ARRAY[$1])" matches the same
// rows, is as selective for the estimates, and is an index condition on
// the leading column of every (tenant_id, …) index, but does not make the
// tenant a constant of the ordering: "ORDER BY tenant_id, pk" then comes
// only from the tenant's (tenant_id, pk) index, read from the tenant's
// first row (or a key), or from sorting all the tenant's matches, never
// from the primary key. TestPageOwnIndex holds the plans to it.
//
// SQLite, see pageTable.
func (r reader) tenantIs(alias string) string {
	if r.dialect == Postgres {
		return alias + ".tenant_id = ANY(ARRAY[CAST(? AS bigint)])"
	}
	return alias + ".tenant_id = ?"
}

// pageTable is the FROM item of q's page queries over table. SQLite falls
// into the same trap as PostgreSQL once ANALYZE has told it that the
// tenant holds half the table: it reads the first page by scanning the
// rowid (the pk) and a page after a key by "rowid > K", both filtering
// out the other tenants' rows, and no way of writing the equality keeps
// it from taking the rowid's order for "tenant_id, pk". An unfiltered,
// unsorted page has no better index than the tenant's (tenant_id, pk) one,
// so it is named there (INDEXED BY); a filtered page is left to the
// planner, which weighs the filter's own indexes.
func (r reader) pageTable(table, alias string, q Query, where string) string {
	from := table + " AS " + alias
	if r.dialect == SQLite && where == "" && q.SortBy == "" {
		from += " INDEXED BY " + table + "_tenant_pk"
	}
	return from
}

// resultKey names the result set of a translated query, for paging hints.
func resultKey(res resource, q Query, where string, args []any) string {
	return fmt.Sprint(res.name, "\x00", q.TenantID, "\x00", q.ConnectorID, "\x00", where, "\x00", args)
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

// Paging hints: Okta and others read a whole directory by index paging,
// startIndex 1, 101, 201, … in creation order. Finding where page s starts
// costs a walk over s rows of an index, so such a walk is quadratic: 40 to
// 70 minutes for a million users. When a page ends on the row with key K,
// pageHints remembers that position s+count follows K, and the next page
// seeks past K instead: every page of a walk costs the same.
//
// A hint is only ever a shortcut. Correctness never depends on one being
// present: a miss (another replica served the previous page, the hint was
// evicted or expired) pages by index as before, and a hinted page is the
// same query with "pk > K" instead of an offset, so its rows always match
// the filter, in order. A hint is used only while the number of matches is
// what it was when the hint was made, and for a few minutes: when rows
// before K were deleted, the walk pages by index again. Between pages
// RFC 7644 §3.4.2.4 does not promise consistency; what a hinted walk
// gives is RFC 9865's: it continues right after the last row it returned,
// so rows removed meanwhile do not make it skip others, and rows created
// meanwhile (larger keys) appear at its end.
const (
	maxPageHints = 4096
	pageHintTTL  = 5 * time.Minute
)

type pageHints struct {
	mu      sync.Mutex
	entries map[hintKey]*list.Element
	recent  list.List // of *pageHint, most recently used first
}

type hintKey struct {
	query string
	start int
}

type pageHint struct {
	key   hintKey
	after int64
	total int
	made  time.Time
}

func newPageHints() *pageHints {
	return &pageHints{entries: map[hintKey]*list.Element{}}
}

// get returns the key the page at start follows, if a hint made while
// the query had total matches says so.
func (h *pageHints) get(query string, start, total int) (int64, bool) {
	if h == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.entries[hintKey{query, start}]
	if !ok {
		return 0, false
	}
	hint := e.Value.(*pageHint)
	if hint.total != total || time.Since(hint.made) > pageHintTTL {
		h.recent.Remove(e)
		delete(h.entries, hint.key)
		return 0, false
	}
	h.recent.MoveToFront(e)
	return hint.after, true
}

// put remembers that the page at start follows the row with key after.
func (h *pageHints) put(query string, start int, after int64, total int) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := hintKey{query, start}
	if e, ok := h.entries[k]; ok {
		h.recent.Remove(e)
	}
	h.entries[k] = h.recent.PushFront(&pageHint{key: k, after: after, total: total, made: time.Now()})
	if h.recent.Len() > maxPageHints {
		oldest := h.recent.Back()
		h.recent.Remove(oldest)
		delete(h.entries, oldest.Value.(*pageHint).key)
	}
}
