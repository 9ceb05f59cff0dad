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
}

// StatusDeleted is the state of a soft-deleted user, as a search asks it.
const StatusDeleted = "deleted"

// ErrBadCursor is a search's After that no page of that search returned.
var ErrBadCursor = fmt.Errorf("store: not a cursor of this search")

// SearchUsers answers a page of s and the cursor of the next page ("" when
// the page was not full).
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
// of the page's last user.
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

// listUsers is a search without Q: creation order.
func (r reader) listUsers(ctx context.Context, s UserSearch, st searchStates, limit int) ([]User, string, error) {
	var after int64
	if s.After != "" {
		var err error
		if after, err = strconv.ParseInt(s.After, 10, 64); err != nil || after < 0 {
			return nil, "", ErrBadCursor
		}
	}
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
	if err := q.OrderExpr(order).Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, "", mapError(err)
	}
	next := ""
	if len(us) == limit {
		next = strconv.FormatInt(us[len(us)-1].PK, 10)
	}
	return us, next, nil
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
	for part = from.part; part <= partEmail && len(hits) < limit; part++ {
		if (part == partUserName && !st.live) || (part == partDeletedUserName && !st.deleted) {
			continue
		}
		after := searchCursor{pk: -1}
		if part == from.part {
			after = from
		}
		got, err := r.searchPart(ctx, s, st, part, prefix, after, limit-len(hits))
		if err != nil {
			return nil, "", err
		}
		hits = append(hits, got...)
		if len(hits) == limit {
			break
		}
	}
	if len(hits) == 0 {
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
	if len(hits) == limit {
		last := hits[len(hits)-1]
		next = searchCursor{part, last.Key, last.PK}.String()
	}
	return us, next, nil
}

// searchPart reads at most n users of part after the cursor: those of
// the cursor's key after its pk, then those of the keys after it.
func (r reader) searchPart(ctx context.Context, s UserSearch, st searchStates, part int, prefix string, after searchCursor, n int) ([]searchHit, error) {
	var hits []searchHit
	// A live user's userName is unique among them: no tie to read.
	if after.pk >= 0 && part != partUserName {
		if err := r.partQuery(s, st, part, prefix, &after, true, n).Scan(ctx, &hits); err != nil {
			return nil, mapError(err)
		}
		if len(hits) == n {
			return hits, nil
		}
	}
	var more []searchHit
	if err := r.partQuery(s, st, part, prefix, &after, false, n-len(hits)).Scan(ctx, &more); err != nil {
		return nil, mapError(err)
	}
	return append(hits, more...), nil
}

// partQuery is the statement of a search part: with tie, the users of the
// cursor's key after its pk, in pk order; else the users of the keys
// after the cursor's (or from the prefix on, without one), in key order.
// Each is one range of the part's index, delivered in its order. Text
// compares byte by byte (PostgreSQL's text_pattern_ops operators), as
// the indexes order it, whatever the database's collation.
func (r reader) partQuery(s UserSearch, st searchStates, part int, prefix string, after *searchCursor, tie bool, n int) *bun.SelectQuery {
	gt, ge, lt, by := ">", ">=", "<", ""
	if r.dialect == Postgres {
		gt, ge, lt, by = "~>~", "~>=~", "~<~", " USING ~<~"
	}
	upper, bounded := prefixEnd(prefix)
	// within is the condition that col starts with the prefix.
	within := func(col string) (string, []any) {
		if !bounded {
			return col + " " + ge + " ?", []any{prefix}
		}
		return col + " " + ge + " ? AND " + col + " " + lt + " ?", []any{prefix, upper}
	}
	var col, pk string
	q := r.idb.NewSelect()
	switch part {
	case partEmail:
		col, pk = "e.email", "e.user_pk"
		q = q.Distinct().ColumnExpr("e.user_pk AS pk, e.email AS k").TableExpr("user_emails AS e").
			Join("JOIN users AS u ON u.pk = e.user_pk").Where("e.tenant_id = ?", s.TenantID)
		// A user is found by the least of their matching emails.
		cond, args := within("e2.email")
		q = q.Where("NOT EXISTS (SELECT 1 FROM user_emails AS e2 WHERE e2.user_pk = e.user_pk AND "+cond+" AND e2.email "+lt+" e.email)", args...)
	case partDisplayName:
		col, pk = "u.display_name_folded", "u.pk"
		q = q.ColumnExpr("u.pk, u.display_name_folded AS k").TableExpr("users AS u").Where("u.tenant_id = ?", s.TenantID)
	default:
		col, pk = "u.user_name_folded", "u.pk"
		q = q.ColumnExpr("u.pk, u.user_name_folded AS k").TableExpr("users AS u").Where("u.tenant_id = ?", s.TenantID)
	}
	switch part {
	case partUserName:
		q = q.Where("u.deleted_at IS NULL")
		if st.statuses != nil {
			q = q.Where("u.status IN (?)", bun.List(st.statuses))
		}
	case partDeletedUserName:
		q = q.Where("u.deleted_at IS NOT NULL")
	default:
		where, args := st.where()
		q = q.Where(where, args...)
		// The users an earlier part found are not found again.
		cond, args := within("u.user_name_folded")
		q = q.Where("NOT ("+cond+")", args...)
		if part == partEmail {
			cond, args := within("u.display_name_folded")
			q = q.Where("(u.display_name_folded IS NULL OR NOT ("+cond+"))", args...)
		}
	}
	q = orgUnitScope(s.OrgUnit)(q)
	if s.LinkedTo != 0 {
		// Filtered as the states are, on the rows the range reads.
		q = q.Where("EXISTS (SELECT 1 FROM user_links AS l WHERE l.connector_id = ? AND l.user_pk = u.pk)", s.LinkedTo)
	}
	if tie {
		return q.Where(col+" = ? AND "+pk+" > ?", after.key, after.pk).OrderExpr(pk).Limit(int64(n))
	}
	if after.pk >= 0 {
		cond, args := within(col)
		q = q.Where(cond, args...).Where(col+" "+gt+" ?", after.key)
	} else {
		cond, args := within(col)
		q = q.Where(cond, args...)
	}
	if part == partUserName {
		// Unique among live users: the key alone orders them.
		return q.OrderExpr(col + by).Limit(int64(n))
	}
	return q.OrderExpr(col + by + ", " + pk).Limit(int64(n))
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
