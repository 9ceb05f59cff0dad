package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	// After is the pk of the last user of the previous page (keyset).
	After int64
	Limit int
}

// StatusDeleted is the state of a soft-deleted user, as a search asks it.
const StatusDeleted = "deleted"

// SearchUsers answers s in creation order. Each part is an index range:
// the prefix on the folded userName, displayName and email indexes
// (text_pattern_ops on PostgreSQL), the partial index of deleted users,
// the (tenant, pk) order for the page, and for LinkedTo the range of
// user_links_connector (connector_id, user_pk) from the cursor. The caller
// checks the states.
func (r reader) SearchUsers(ctx context.Context, s UserSearch) ([]User, error) {
	var live, deleted []string
	for _, st := range s.Statuses {
		switch st {
		case StatusActive, StatusDisabled, StatusPending:
			live = append(live, st)
		case StatusDeleted:
			deleted = append(deleted, st)
		default:
			return nil, fmt.Errorf("store: search for users of status %q: there are active, disabled, pending and deleted", st)
		}
	}
	wantLive := len(live) > 0 || len(deleted) == 0
	if len(live) == 0 {
		live = []string{StatusActive, StatusDisabled, StatusPending}
	}
	slices.Sort(live)
	live = slices.Compact(live)

	var us []User
	// The page's order is (tenant, pk) from the tenant's index, but a
	// connector's users come in user_pk order from its links: a connector
	// is of one tenant, so pk order is the same order, and the links'
	// index gives it without a sort of all the connector's users.
	tenant, order := r.tenantIs("u"), "u.tenant_id, u.pk"
	if s.LinkedTo != 0 {
		tenant, order = "u.tenant_id = ?", "u.pk"
	}
	q := r.selectAnyUsers(&us, 0).Where(tenant, s.TenantID).Where("u.pk > ?", s.After)
	q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		if wantLive {
			q = q.WhereOr("u.deleted_at IS NULL AND u.status IN (?)", bun.List(live))
		}
		if len(deleted) > 0 {
			q = q.WhereOr("u.deleted_at IS NOT NULL")
		}
		return q
	})
	if s.Q != "" {
		prefix := escapeLike(Fold(strings.TrimSpace(s.Q))) + "%"
		var parts []string
		var args []any
		if wantLive {
			// The unique userName index is partial on live users.
			parts = append(parts, `SELECT pk FROM users WHERE tenant_id = ? AND deleted_at IS NULL AND user_name_folded LIKE ? ESCAPE '\'`)
			args = append(args, s.TenantID, prefix)
		}
		if len(deleted) > 0 {
			parts = append(parts, `SELECT pk FROM users WHERE tenant_id = ? AND deleted_at IS NOT NULL AND user_name_folded LIKE ? ESCAPE '\'`)
			args = append(args, s.TenantID, prefix)
		}
		parts = append(parts,
			`SELECT pk FROM users WHERE tenant_id = ? AND display_name_folded LIKE ? ESCAPE '\'`,
			`SELECT user_pk FROM user_emails WHERE tenant_id = ? AND email LIKE ? ESCAPE '\'`)
		args = append(args, s.TenantID, prefix, s.TenantID, prefix)
		q = q.Where("u.pk IN ("+strings.Join(parts, " UNION ")+")", args...)
	}
	if s.LinkedTo != 0 {
		q = q.Where("u.pk IN (SELECT l.user_pk FROM user_links AS l WHERE l.connector_id = ? AND l.user_pk > ?)", s.LinkedTo, s.After)
	}
	q = orgUnitScope(s.OrgUnit)(q)
	limit := s.Limit
	if limit <= 0 {
		limit = 100
	}
	err := q.OrderExpr(order).Limit(int64(limit)).Scan(ctx)
	return us, mapError(err)
}
