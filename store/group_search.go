package store

import (
	"context"
	"strings"
)

// GroupSearch is what the admin list of groups asks: a prefix of the
// displayName, and a keyset page in the order of the names.
type GroupSearch struct {
	TenantID int64
	// Q finds groups whose displayName starts with it, in any case ("" all).
	Q string
	// After is the folded displayName of the last group of the previous
	// page (keyset: the folded name is unique in a tenant).
	After string
	Limit int
}

// nameOrder is the byte order of the folded group names that the index
// groups_tenant_name_bytes holds on PostgreSQL (migration 0029), whatever
// the database's collation; SQLite compares text as bytes already.
func (r reader) nameOrder() string {
	if r.dialect == Postgres {
		return `g.display_name_folded COLLATE "C"`
	}
	return "g.display_name_folded"
}

// SearchGroups answers s in the byte order of the folded names: one range
// of the index on (tenant_id, folded name), from the prefix (or the page's
// cursor) to the prefix's end. It does not read members.
func (r reader) SearchGroups(ctx context.Context, s GroupSearch) ([]Group, error) {
	limit := s.Limit
	if limit <= 0 {
		limit = 100
	}
	name := r.nameOrder()
	var gs []Group
	q := r.idb.NewSelect().Model(&gs).ColumnExpr("g.*").Where("g.tenant_id = ?", s.TenantID)
	if prefix := Fold(strings.TrimSpace(s.Q)); prefix != "" {
		// Every name starting with prefix sorts from prefix up to prefix
		// followed by the highest code point, in bytes.
		q = q.Where(name+" >= ? AND "+name+" < ?", prefix, prefix+"\U0010FFFF")
	}
	if s.After != "" {
		q = q.Where(name+" > ?", s.After)
	}
	err := q.OrderExpr(name).Limit(int64(limit)).Scan(ctx)
	return gs, mapError(err)
}

// MemberCounts counts the members (live users and nested groups) of each
// group, each count stopping at most: a count reads the group's rows of
// the membership keys (index only), and a group may hold 100,000 of them. A count
// of more than most is most+1.
func (r reader) MemberCounts(ctx context.Context, groupPKs []int64, most int) (map[int64]int, error) {
	out := make(map[int64]int, len(groupPKs))
	for _, pk := range groupPKs {
		var n int
		// A soft delete takes the user out of every group (SoftDeleteUser):
		// the rows are the live users', counted from the key alone.
		err := r.idb.NewRaw(`SELECT count(*) FROM (SELECT 1 FROM group_users WHERE group_pk = ? LIMIT ?) AS c`,
			pk, most+1).Scan(ctx, &n)
		if err != nil {
			return nil, mapError(err)
		}
		if n <= most {
			var k int
			err := r.idb.NewRaw(`SELECT count(*) FROM (SELECT 1 FROM group_groups WHERE group_pk = ? LIMIT ?) AS c`,
				pk, most+1-n).Scan(ctx, &k)
			if err != nil {
				return nil, mapError(err)
			}
			n += k
		}
		out[pk] = n
	}
	return out, nil
}

// GroupMember is a member of a group as the admin API pages them.
type GroupMember struct {
	Type        string `bun:"type"`
	PK          int64  `bun:"pk"`
	ID          string `bun:"id"`
	UserName    string `bun:"user_name"`
	DisplayName string `bun:"display_name"`
	Status      string `bun:"status"`
}

// MemberPage asks for a page of a group's members: its live users, then
// its nested groups, each in key order, after the member (AfterType,
// AfterPK) of the previous page.
type MemberPage struct {
	GroupPK int64
	// AfterType and AfterPK are the last member of the previous page
	// (MemberUser or MemberGroup, and its key); "" starts at the first.
	AfterType string
	AfterPK   int64
	Limit     int
	// OrgUnit limits the users to those holding that unit or one below
	// it ("" all); nested groups belong to the tenant and are all listed.
	OrgUnit string
}

// GroupMembers reads a page of a group's members from the membership
// tables' primary keys, (group_pk, user_pk) and (group_pk, member_pk): a
// range from the cursor, whatever the group's size, one page in memory.
func (r reader) GroupMembers(ctx context.Context, p MemberPage) ([]GroupMember, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []GroupMember
	if p.AfterType != MemberGroup {
		q := r.idb.NewSelect().TableExpr("group_users AS m").
			ColumnExpr("'User' AS type, u.pk, u.id, u.user_name, COALESCE(u.display_name, '') AS display_name, u.status").
			Join("JOIN users AS u ON u.pk = m.user_pk").
			Where("m.group_pk = ? AND m.user_pk > ? AND "+live, p.GroupPK, p.AfterPK)
		q = orgUnitScope(p.OrgUnit)(q)
		if err := q.OrderExpr("m.user_pk").Limit(int64(limit)).Scan(ctx, &out); err != nil {
			return nil, mapError(err)
		}
		if len(out) == limit {
			return out, nil
		}
		p.AfterPK = 0
	}
	var gs []GroupMember
	err := r.idb.NewSelect().TableExpr("group_groups AS m").
		ColumnExpr("'Group' AS type, g.pk, g.id, '' AS user_name, g.display_name, '' AS status").
		Join("JOIN groups AS g ON g.pk = m.member_pk").
		Where("m.group_pk = ? AND m.member_pk > ?", p.GroupPK, p.AfterPK).
		OrderExpr("m.member_pk").Limit(int64(limit-len(out))).Scan(ctx, &gs)
	if err != nil {
		return nil, mapError(err)
	}
	return append(out, gs...), nil
}
