package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// UserSearch is what the admin list of users asks (004 seed): a search
// by name or email, account states, an org unit, and a keyset page.
type UserSearch struct {
	TenantID int64
	// OrgUnit limits the answer to the users holding that unit or one
	// below it ("" none).
	OrgUnit string
	// Q finds users whose userName, displayName or one of whose emails
	// starts with it, in any case ("" all).
	Q string
	// Statuses are the states wanted: StatusActive, StatusDisabled,
	// StatusPending and StatusDeleted; none means the live users, all
	// three states.
	Statuses []string
	// LinkedTo limits the answer to the users that connector manages
	// (user_links: it created them, matched them or imported them), by its
	// id; 0 none.
	LinkedTo int64
	// After is where the page starts: "" at the first, else the next
	// cursor SearchUsers returned with the page before. Without Q a
	// cursor is the pk of the page's last user.
	After string
	Limit int
	// Scan is how many index entries a page reads at a time through a
	// filter (the states, the org unit, the connector, or a part's
	// leaving out the users an earlier one found): 0 is
	// [DefaultSearchScan]. A page still short after [SearchRounds] of
	// them ends there, short (even empty), with a cursor.
	Scan int
}

// DefaultSearchScan is the index entries a filtered page reads at a
// time, [SearchRounds] times at most: a filter that keeps few of many
// users answers a short page after 20,000 (its parts' scans together),
// and the next page goes on from there, rather than reading all the users
// to fill one.
const DefaultSearchScan = 5000

// SearchRounds is how many scans a filtered page reads at most: a part's
// read through a filter is one, and it goes on from its bound while the
// page is short.
const SearchRounds = 4

// StatusDeleted is the state of a soft-deleted user, as a search asks it.
const StatusDeleted = "deleted"

// ErrBadCursor is a search's After that no page of that search returned.
var ErrBadCursor = fmt.Errorf("store: not a cursor of this search")

// SearchUsers answers a page of s and the cursor of the next page: ""
// when the search has no more. A page is short, with a cursor, only when
// a filter kept fewer users than the page holds among the [UserSearch.Scan]
// index entries it read.
//
// Without Q, the users come in creation order, from the (tenant, pk)
// index (the live users' or the deleted users' one).
//
// With Q, the users whose folded userName starts with it come first, in
// userName order; then those whose displayName does (and whose userName
// does not), in displayName order; then those whose email does (and
// neither name), in the order of their first such email; the pk after
// equal keys. Each of those parts is one index range read in its order
// from the cursor (migration 0031), filtered by the states and the org
// unit, and a part is read only once the parts before it have ended: a
// page reads about as many index entries as it shows, however many users
// share the prefix, and never sorts the matches. (Before, all the matches
// were read and sorted by pk.) The cursor is the part, the key and the pk
// of the page's last user, or of the last entry a page stopped at.
//
// Through a filter, a page reads a part's index (the tenant's, without
// Q) Scan entries at a time, SearchRounds times at most: one statement
// finds the entry Scan after the cursor, by the index alone, and bounds
// the next one's range with it.
func (r reader) SearchUsers(ctx context.Context, s UserSearch) ([]User, string, error) {
	var live, deleted []string
	for _, st := range s.Statuses {
		switch st {
		case StatusActive, StatusDisabled, StatusPending:
			live = append(live, st)
		case StatusDeleted:
			deleted = append(deleted, st)
		default:
			return nil, "", fmt.Errorf("store: search for users of status %q: there are active, disabled, pending and deleted", st)
		}
	}
	wantLive := len(live) > 0 || len(deleted) == 0
	slices.Sort(live)
	live = slices.Compact(live)
	if len(live) == 3 {
		live = nil // every live state: no condition on it
	}
	st := searchStates{live: wantLive, statuses: live, deleted: len(deleted) > 0}
	limit := s.Limit
	if limit <= 0 {
		limit = 100
	}
	if strings.TrimSpace(s.Q) == "" {
		return r.listUsers(ctx, s, st, limit)
	}
	return r.findUsers(ctx, s, st, limit)
}

// searchStates are the states a search wants: live users (of statuses,
// or of any live state when nil), deleted ones, or both.
type searchStates struct {
	live     bool
	statuses []string
	deleted  bool
}

// where is the states' condition on users AS u.
func (st searchStates) where() (string, []any) {
	var parts []string
	var args []any
	if st.live {
		if st.statuses == nil {
			parts = append(parts, "u.deleted_at IS NULL")
		} else {
			parts = append(parts, "u.deleted_at IS NULL AND u.status IN (?)")
			args = append(args, bun.List(st.statuses))
		}
	}
	if st.deleted {
		parts = append(parts, "u.deleted_at IS NOT NULL")
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// listUsers is a search without Q: creation order. Through a filter it
// reads the tenant's users (or the connector's links) a scan at a time,
// [SearchRounds] at most.
func (r reader) listUsers(ctx context.Context, s UserSearch, st searchStates, limit int) ([]User, string, error) {
	var after int64
	if s.After != "" {
		var err error
		if after, err = strconv.ParseInt(s.After, 10, 64); err != nil || after < 0 {
			return nil, "", ErrBadCursor
		}
	}
	var us []User
	for round := 1; ; round++ {
		got, bound, err := r.listRound(ctx, s, st, after, limit-len(us))
		if err != nil {
			return nil, "", err
		}
		us = append(us, got...)
		switch {
		case len(us) == limit:
			return us, strconv.FormatInt(us[len(us)-1].PK, 10), nil
		case bound == 0:
			return us, "", nil
		case round == SearchRounds:
			return us, strconv.FormatInt(bound, 10), nil
		}
		after = bound
	}
}

// listRound reads at most n users of the list after the pk after, and,
// through a filter, no further than the scan-th user of the index it
// walks: that user's pk is the bound, 0 without one.
func (r reader) listRound(ctx context.Context, s UserSearch, st searchStates, after int64, n int) ([]User, int64, error) {
	var us []User
	where, args := st.where()
	// A connector's users come in user_pk order from its links: a
	// connector is of one tenant, so pk order is the same order, and the
	// links' index gives it without a sort of all the connector's users.
	tenant, order := r.tenantIs("u"), "u.tenant_id, u.pk"
	if s.LinkedTo != 0 {
		tenant, order = "u.tenant_id = ?", "u.pk"
	}
	q := r.selectAnyUsers(&us, 0).Where(tenant, s.TenantID).Where("u.pk > ?", after).Where(where, args...)
	if s.LinkedTo != 0 {
		q = q.Where("u.pk IN (SELECT l.user_pk FROM user_links AS l WHERE l.connector_id = ? AND l.user_pk > ?)", s.LinkedTo, after)
	}
	q = orgUnitScope(s.OrgUnit)(q)
	var bound int64
	if rowsFiltered(s, st) {
		// The bound walks the index the page walks: the connector's links,
		// or the tenant's live, deleted or all users.
		var bq *bun.SelectQuery
		if s.LinkedTo != 0 {
			bq = r.idb.NewSelect().ColumnExpr("l.user_pk").TableExpr("user_links AS l").
				Where("l.connector_id = ? AND l.user_pk > ?", s.LinkedTo, after).OrderExpr("l.user_pk")
		} else {
			bq = r.idb.NewSelect().ColumnExpr("u.pk").TableExpr("users AS u").Where(tenant, s.TenantID).Where("u.pk > ?", after).OrderExpr(order)
			switch {
			case st.live && !st.deleted:
				bq = bq.Where("u.deleted_at IS NULL")
			case st.deleted && !st.live:
				bq = bq.Where("u.deleted_at IS NOT NULL")
			}
		}
		var pks []int64
		if err := bq.Offset(int64(scanOf(s)-1)).Limit(1).Scan(ctx, &pks); err != nil {
			return nil, 0, mapError(err)
		}
		if len(pks) == 1 {
			bound = pks[0]
			q = q.Where("u.pk <= ?", bound)
		}
	}
	if err := q.OrderExpr(order).Limit(int64(n)).Scan(ctx); err != nil {
		return nil, 0, mapError(err)
	}
	if len(us) == n {
		bound = 0 // the page is full: its last user is the cursor
	}
	return us, bound, nil
}

// scanOf is s's Scan, or the default.
func scanOf(s UserSearch) int {
	if s.Scan > 0 {
		return s.Scan
	}
	return DefaultSearchScan
}

// A search part: the users found by one key, in its order.
const (
	partUserName        = iota // live users by userName (unique among them)
	partDeletedUserName        // deleted users by userName
	partDisplayName            // users by displayName, their userName not matching
	partEmail                  // users by their least matching email, neither name matching
)

// partLetters name the parts in a cursor.
const partLetters = "nxde"

// searchHit is a user a part found, by the key it was found by.
type searchHit struct {
	PK  int64  `bun:"pk"`
	Key string `bun:"k"`
}

// searchCursor is where a search page starts: after the user pk found by
// key in part.
type searchCursor struct {
	part int
	key  string
	pk   int64
}

func (c searchCursor) String() string {
	return fmt.Sprintf("%c%d.%s", partLetters[c.part], c.pk, c.key)
}

func parseSearchCursor(s string) (searchCursor, error) {
	if s == "" {
		return searchCursor{pk: -1}, nil
	}
	part := strings.IndexByte(partLetters, s[0])
	pk, key, ok := strings.Cut(s[1:], ".")
	n, err := strconv.ParseInt(pk, 10, 64)
	if part < 0 || !ok || err != nil || n < 0 {
		return searchCursor{}, ErrBadCursor
	}
	return searchCursor{part, key, n}, nil
}

// findUsers is a search with Q: see SearchUsers.
func (r reader) findUsers(ctx context.Context, s UserSearch, st searchStates, limit int) ([]User, string, error) {
	from, err := parseSearchCursor(s.After)
	if err != nil {
		return nil, "", err
	}
	prefix := Fold(strings.TrimSpace(s.Q))
	if from.pk >= 0 && !strings.HasPrefix(from.key, prefix) {
		return nil, "", ErrBadCursor
	}
	var hits []searchHit
	var part int
	var stop *searchCursor // where a page ended short, at its scan's bound
	rounds := 0            // the filtered parts' reads, a scan each
	for part = from.part; part <= partEmail && len(hits) < limit; part++ {
		if (part == partUserName && !st.live) || (part == partDeletedUserName && !st.deleted) {
			continue
		}
		after := searchCursor{pk: -1}
		if part == from.part {
			after = from
		}
		for {
			got, bound, err := r.searchPart(ctx, s, st, part, prefix, after, limit-len(hits))
			if err != nil {
				return nil, "", err
			}
			hits = append(hits, got...)
			if filtered(s, st, part) {
				rounds++
			}
			if bound == nil {
				break
			}
			if rounds >= SearchRounds {
				stop = bound
				break
			}
			after = *bound
		}
		if stop != nil || len(hits) == limit {
			break
		}
	}
	if len(hits) == 0 {
		if stop != nil {
			return nil, stop.String(), nil
		}
		return nil, "", nil
	}
	pks := make([]int64, len(hits))
	for i, h := range hits {
		pks[i] = h.PK
	}
	var us []User
	if err := r.selectAnyUsers(&us, 0).Where("u.pk IN (?)", bun.List(pks)).Scan(ctx); err != nil {
		return nil, "", mapError(err)
	}
	at := make(map[int64]int, len(hits))
	for i, h := range hits {
		at[h.PK] = i
	}
	// In the parts' order; a user erased since its part was read is left out.
	slices.SortFunc(us, func(a, b User) int { return at[a.PK] - at[b.PK] })
	next := ""
	switch {
	case stop != nil:
		next = stop.String()
	case len(hits) == limit:
		last := hits[len(hits)-1]
		next = searchCursor{part, last.Key, last.PK}.String()
	}
	return us, next, nil
}

// searchPart reads at most n users of part after the cursor: those of
// the cursor's key after its pk, then those of the keys after it. When
// the part is filtered, it reads no further than its scan's bound, and
// returns the bound if it stopped there short of n.
func (r reader) searchPart(ctx context.Context, s UserSearch, st searchStates, part int, prefix string, after searchCursor, n int) ([]searchHit, *searchCursor, error) {
	var bound *searchCursor
	if filtered(s, st, part) {
		var err error
		if bound, err = r.partBound(ctx, s, part, prefix, after); err != nil {
			return nil, nil, err
		}
	}
	var hits []searchHit
	// A live user's userName is unique among them: no tie to read.
	if after.pk >= 0 && part != partUserName {
		if err := r.partQuery(s, st, part, prefix, &after, bound, true, n).Scan(ctx, &hits); err != nil {
			return nil, nil, mapError(err)
		}
		if len(hits) == n {
			return hits, nil, nil
		}
	}
	var more []searchHit
	if err := r.partQuery(s, st, part, prefix, &after, bound, false, n-len(hits)).Scan(ctx, &more); err != nil {
		return nil, nil, mapError(err)
	}
	if hits = append(hits, more...); len(hits) == n {
		return hits, nil, nil
	}
	return hits, bound, nil
}

// filtered reports whether a part's rows may be left out of the answer
// once read: by the states, the org unit, the connector, or (the parts
// after the userName ones) as found by an earlier part.
func filtered(s UserSearch, st searchStates, part int) bool {
	switch part {
	case partUserName:
		return rowsFiltered(s, st)
	case partDeletedUserName:
		return s.OrgUnit != "" || s.LinkedTo != 0
	}
	return true
}

// rowsFiltered reports whether a walk of the tenant's live users (or all
// of them) may leave out users it reads: by their statuses, org unit or
// connector.
func rowsFiltered(s UserSearch, st searchStates) bool {
	return st.statuses != nil || s.OrgUnit != "" || s.LinkedTo != 0
}

// partBound is the scan-th entry of the part's index range after the
// cursor, read from the index alone (no filter), or nil when the range
// holds fewer.
func (r reader) partBound(ctx context.Context, s UserSearch, part int, prefix string, after searchCursor) (*searchCursor, error) {
	q, col, pk := r.partRange(s, part, prefix, false)
	ops := r.textOps()
	switch {
	case part == partUserName:
		// Unique among live users, the key alone bounds the range, and
		// the index (which has no pk) answers it alone.
		q = q.ColumnExpr(col + " AS k, 0 AS pk")
		if after.pk >= 0 {
			q = q.Where(col+" "+ops.gt+" ?", after.key)
		}
	case after.pk >= 0:
		cond, args := r.keyAfter(col, pk, after, ops)
		q = q.ColumnExpr(col+" AS k, "+pk+" AS pk").Where(cond, args...)
	default:
		q = q.ColumnExpr(col + " AS k, " + pk + " AS pk")
	}
	var b []searchHit
	if err := q.OrderExpr(partOrder(part, col, pk, ops)).Offset(int64(scanOf(s)-1)).Limit(1).Scan(ctx, &b); err != nil {
		return nil, mapError(err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return &searchCursor{part, b[0].Key, b[0].PK}, nil
}

// textOps are the operators that compare text byte by byte, as the
// search indexes order it: PostgreSQL's text_pattern_ops operators
// (whatever the database's collation), SQLite's own.
type textOps struct{ gt, ge, lt, le, by string }

func (r reader) textOps() textOps {
	if r.dialect == Postgres {
		return textOps{"~>~", "~>=~", "~<~", "~<=~", " USING ~<~"}
	}
	return textOps{">", ">=", "<", "<=", ""}
}

// keyAfter is the condition that (col, pk) comes after c's key and pk:
// SQLite walks its index from a row value; PostgreSQL's row values
// compare text by collation, not as the index orders it, so there the
// key's range is the index condition and the pk a filter on its first key.
func (r reader) keyAfter(col, pk string, c searchCursor, ops textOps) (string, []any) {
	if r.dialect == Postgres {
		return col + " " + ops.ge + " ? AND (" + col + " " + ops.gt + " ? OR " + pk + " > ?)", []any{c.key, c.key, c.pk}
	}
	return "(" + col + ", " + pk + ") > (?, ?)", []any{c.key, c.pk}
}

// keyUpTo is the condition that (col, pk) comes at or before c's key and
// pk, as keyAfter.
func (r reader) keyUpTo(col, pk string, c searchCursor, ops textOps) (string, []any) {
	if r.dialect == Postgres {
		return col + " " + ops.le + " ? AND (" + col + " " + ops.lt + " ? OR " + pk + " <= ?)", []any{c.key, c.key, c.pk}
	}
	return "(" + col + ", " + pk + ") <= (?, ?)", []any{c.key, c.pk}
}

// partOrder is the ORDER BY of a part: its key, then the pk. A live
// user's userName is unique among them: the key alone orders them.
func partOrder(part int, col, pk string, ops textOps) string {
	if part == partUserName {
		return col + ops.by
	}
	return col + ops.by + ", " + pk
}

// within is the condition that col starts with the prefix (upper is the
// least text past the prefix's range, if bounded).
func within(col, prefix, upper string, bounded bool, ops textOps) (string, []any) {
	if !bounded {
		return col + " " + ops.ge + " ?", []any{prefix}
	}
	return col + " " + ops.ge + " ? AND " + col + " " + ops.lt + " ?", []any{prefix, upper}
}

// partRange is a part's index range, before any filter: its table, the
// tenant, the part's state (the index's own condition) and the prefix
// (but for a tie, whose key is given); with the part's key column and pk
// column.
func (r reader) partRange(s UserSearch, part int, prefix string, tie bool) (q *bun.SelectQuery, col, pk string) {
	upper, bounded := prefixEnd(prefix)
	q = r.idb.NewSelect()
	switch part {
	case partEmail:
		col, pk = "e.email", "e.user_pk"
		q = q.TableExpr("user_emails AS e").Where("e.tenant_id = ?", s.TenantID)
	case partDisplayName:
		col, pk = "u.display_name_folded", "u.pk"
		q = q.TableExpr("users AS u").Where("u.tenant_id = ?", s.TenantID)
	case partUserName:
		col, pk = "u.user_name_folded", "u.pk"
		q = q.TableExpr("users AS u").Where("u.tenant_id = ?", s.TenantID).Where("u.deleted_at IS NULL")
	default:
		col, pk = "u.user_name_folded", "u.pk"
		q = q.TableExpr("users AS u").Where("u.tenant_id = ?", s.TenantID).Where("u.deleted_at IS NOT NULL")
	}
	if !tie {
		cond, args := within(col, prefix, upper, bounded, r.textOps())
		q = q.Where(cond, args...)
	}
	return q, col, pk
}

// partQuery is the statement of a search part: with tie, the users of the
// cursor's key after its pk, in pk order; else the users of the keys
// after the cursor's (or from the prefix on, without one), in key order;
// none past bound, if given. Each is one range of the part's index,
// delivered in its order, its filters on the rows read. Text compares
// byte by byte (textOps), as the indexes order it.
func (r reader) partQuery(s UserSearch, st searchStates, part int, prefix string, after, bound *searchCursor, tie bool, n int) *bun.SelectQuery {
	ops := r.textOps()
	upper, bounded := prefixEnd(prefix)
	q, col, pk := r.partRange(s, part, prefix, tie)
	switch part {
	case partEmail:
		q = q.Distinct().ColumnExpr("e.user_pk AS pk, e.email AS k").Join("JOIN users AS u ON u.pk = e.user_pk")
		// A user is found by the least of their matching emails.
		cond, args := within("e2.email", prefix, upper, bounded, ops)
		q = q.Where("NOT EXISTS (SELECT 1 FROM user_emails AS e2 WHERE e2.user_pk = e.user_pk AND "+cond+" AND e2.email "+ops.lt+" e.email)", args...)
	case partDisplayName:
		q = q.ColumnExpr("u.pk, u.display_name_folded AS k")
	default:
		q = q.ColumnExpr("u.pk, u.user_name_folded AS k")
	}
	switch part {
	case partUserName:
		if st.statuses != nil {
			q = q.Where("u.status IN (?)", bun.List(st.statuses))
		}
	case partDeletedUserName:
	default:
		where, args := st.where()
		q = q.Where(where, args...)
		// The users an earlier part found are not found again.
		cond, args := within("u.user_name_folded", prefix, upper, bounded, ops)
		q = q.Where("NOT ("+cond+")", args...)
		if part == partEmail {
			cond, args := within("u.display_name_folded", prefix, upper, bounded, ops)
			q = q.Where("(u.display_name_folded IS NULL OR NOT ("+cond+"))", args...)
		}
	}
	q = orgUnitScope(s.OrgUnit)(q)
	if s.LinkedTo != 0 {
		// Filtered as the states are, on the rows the range reads.
		q = q.Where("EXISTS (SELECT 1 FROM user_links AS l WHERE l.connector_id = ? AND l.user_pk = u.pk)", s.LinkedTo)
	}
	switch {
	case bound == nil:
	case part == partUserName:
		q = q.Where(col+" "+ops.le+" ?", bound.key)
	default:
		cond, args := r.keyUpTo(col, pk, *bound, ops)
		q = q.Where(cond, args...)
	}
	if tie {
		return q.Where(col+" = ? AND "+pk+" > ?", after.key, after.pk).OrderExpr(pk).Limit(int64(n))
	}
	if after.pk >= 0 {
		q = q.Where(col+" "+ops.gt+" ?", after.key)
	}
	return q.OrderExpr(partOrder(part, col, pk, ops)).Limit(int64(n))
}

// prefixEnd is the least string above every string that starts with
// prefix (its last character's successor), false when there is none. In
// UTF-8, byte order is code point order, so s starts with prefix exactly
// when prefix <= s < end.
func prefixEnd(prefix string) (string, bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == utf8.RuneError && size == 1:
			continue // not UTF-8: a folded key never holds it
		case r == 0xD7FF:
			return prefix + string(rune(0xE000)), true // over the surrogates
		case r < utf8.MaxRune:
			return prefix + string(r+1), true
		}
	}
	return "", false
}
