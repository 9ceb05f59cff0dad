package store

import (
	"context"
	"database/sql"
	"slices"

	"github.com/uptrace/bun"
)

// Member types, as SCIM's members.type names them.
const (
	MemberUser  = "User"
	MemberGroup = "Group"
)

// Member is one member of a group: a user or a nested group.
type Member struct {
	Type    string `bun:"type"`
	PK      int64  `bun:"pk"`
	ID      string `bun:"id"`
	Display string `bun:"display"`
	// Local is true for a local user (see [User.Local]), as
	// [reader.LookupMembers] reads it.
	Local bool `bun:"local" json:",omitempty"`
}

// MemberRef is a member as a client names it: a SCIM id and, optionally,
// its type ("" means either).
type MemberRef struct {
	ID   string
	Type string
}

// chunk bounds the ids in one IN list or the rows in one INSERT.
const chunk = 1000

// ResolveMembers finds the users and groups of the tenant that refs name.
// If any ref names nothing, it returns a [*UnknownMembersError] listing every
// such id. Duplicate refs resolve once.
func (r reader) ResolveMembers(ctx context.Context, tenantID int64, refs []MemberRef) ([]Member, error) {
	found, unknown, err := r.LookupMembers(ctx, tenantID, refs)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, &UnknownMembersError{IDs: unknown}
	}
	return found, nil
}

// LookupMembers finds the users and groups of the tenant that refs name,
// in a query per thousand ids, and lists the ids that name nothing.
func (r reader) LookupMembers(ctx context.Context, tenantID int64, refs []MemberRef) ([]Member, []string, error) {
	want := map[string]string{} // id -> type wanted
	var unknown []string
	for _, ref := range refs {
		if !ValidID(ref.ID) {
			unknown = append(unknown, ref.ID)
			continue
		}
		want[ref.ID] = ref.Type
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	found := make([]Member, 0, len(ids))
	for part := range slices.Chunk(ids, chunk) {
		var ms []Member
		err := r.idb.NewSelect().
			TableExpr("users AS u").
			ColumnExpr(`'User' AS type, pk, id, COALESCE(display_name, user_name) AS display, u."local"`).
			Where("u.tenant_id = ? AND u.id IN (?) AND "+live, tenantID, bun.List(part)).
			UnionAll(r.idb.NewSelect().
				TableExpr("groups").
				ColumnExpr(`'Group' AS type, pk, id, display_name AS display, false AS "local"`).
				Where("tenant_id = ? AND id IN (?)", tenantID, bun.List(part))).
			Scan(ctx, &ms)
		if err != nil {
			return nil, nil, mapError(err)
		}
		found = append(found, ms...)
	}
	seen := map[string]bool{}
	out := found[:0]
	for _, m := range found {
		if t := want[m.ID]; t != "" && t != m.Type {
			continue
		}
		seen[m.ID] = true
		out = append(out, m)
	}
	for _, id := range ids {
		if !seen[id] {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(unknown)
	return out, slices.Compact(unknown), nil
}

// EachMember calls fn for every member of a group, users first, each in
// the order they were created, streaming rows so that a group of any size
// is never held in memory at once. fn's error stops the walk and is returned.
func (r reader) EachMember(ctx context.Context, groupPK int64, fn func(Member) error) error {
	rows, err := r.idb.QueryContext(ctx, `
		SELECT 'User', u.pk, u.id, COALESCE(u.display_name, u.user_name)
		FROM group_users AS m JOIN users AS u ON u.pk = m.user_pk
		WHERE m.group_pk = ? AND u.deleted_at IS NULL
		UNION ALL
		SELECT 'Group', g.pk, g.id, g.display_name
		FROM group_groups AS m JOIN groups AS g ON g.pk = m.member_pk
		WHERE m.group_pk = ?
		ORDER BY 1 DESC, 2`, groupPK, groupPK)
	if err != nil {
		return mapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Type, &m.PK, &m.ID, &m.Display); err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return mapError(rows.Err())
}

type groupUser struct {
	bun.BaseModel `bun:"table:group_users"`
	GroupPK       int64 `bun:"group_pk"`
	UserPK        int64 `bun:"user_pk"`
	// Direct is a membership the group was given, not one a grant holds.
	Direct bool `bun:"direct"`
}

type groupGroup struct {
	bun.BaseModel `bun:"table:group_groups"`
	GroupPK       int64 `bun:"group_pk"`
	MemberPK      int64 `bun:"member_pk"`
}

// ReplaceMembers makes ms the group's exact list of direct members. Users
// a rule grants the group keep their membership (see [Tx.RemoveGrant]).
// It changes only what differs, and returns how many memberships it
// changed: 0 when ms are the members the group holds directly, in any
// order (RFC 7644 §3.5.2.1: such a write changes nothing).
func (tx *Tx) ReplaceMembers(ctx context.Context, groupPK int64, ms []Member) (int64, error) {
	users, groups := memberPKs(ms)
	// notIn keeps the rows of the new list; an empty list keeps none.
	notIn := func(col string, pks []int64) (string, []any) {
		if len(pks) == 0 {
			return "", nil
		}
		return " AND " + col + " NOT IN (?)", []any{bun.List(pks)}
	}
	var changed int64
	exec := func(query string, args ...any) error {
		res, err := tx.idb.NewRaw(query, args...).Exec(ctx)
		return count(res, err, &changed)
	}
	keepUsers, userArgs := notIn("user_pk", users)
	if err := exec(`DELETE FROM group_users WHERE group_pk = ? AND NOT `+granted+keepUsers, append([]any{groupPK}, userArgs...)...); err != nil {
		return 0, err
	}
	if err := exec(`UPDATE group_users SET direct = ? WHERE group_pk = ? AND direct`+keepUsers, append([]any{false, groupPK}, userArgs...)...); err != nil {
		return 0, err
	}
	keepGroups, groupArgs := notIn("member_pk", groups)
	if err := exec(`DELETE FROM group_groups WHERE group_pk = ?`+keepGroups, append([]any{groupPK}, groupArgs...)...); err != nil {
		return 0, err
	}
	added, err := tx.AddMembers(ctx, groupPK, ms)
	return changed + added, err
}

// DirectMembers returns the members a group holds directly (given by a
// group write, not only by a rule's grant), users then groups, each by
// key, with their type and key only.
func (r reader) DirectMembers(ctx context.Context, groupPK int64) ([]Member, error) {
	var ms []Member
	err := r.idb.NewRaw(`
		SELECT 'User' AS type, user_pk AS pk FROM group_users WHERE group_pk = ? AND direct
		UNION ALL
		SELECT 'Group', member_pk FROM group_groups WHERE group_pk = ?
		ORDER BY 1 DESC, 2`, groupPK, groupPK).Scan(ctx, &ms)
	return ms, mapError(err)
}

// LocalMembers returns the local users the group holds, directly or by a
// rule's grant (their key, id and userName).
//
// It starts from the tenant's local users (users_tenant_local, a few) and
// probes the group's membership of each, so that its cost does not grow
// with the group.
func (r reader) LocalMembers(ctx context.Context, tenantID, groupPK int64) ([]User, error) {
	var us []User
	err := r.idb.NewSelect().Model(&us).ColumnExpr(`u.pk, u.id, u.user_name, u."local"`).
		Where(`u.tenant_id = ? AND u."local" AND `+live, tenantID).
		Where("EXISTS (SELECT 1 FROM group_users AS m WHERE m.group_pk = ? AND m.user_pk = u.pk)", groupPK).
		OrderExpr("u.pk").Scan(ctx)
	return us, mapError(err)
}

// memberPKs splits members into the keys of the users and of the groups.
func memberPKs(ms []Member) (users, groups []int64) {
	for _, m := range ms {
		if m.Type == MemberUser {
			users = append(users, m.PK)
		} else {
			groups = append(groups, m.PK)
		}
	}
	return users, groups
}

// granted is true for a group_users row that a rule's grant holds.
const granted = `EXISTS (SELECT 1 FROM user_grants AS ug
	WHERE ug.user_pk = group_users.user_pk AND ug.kind = 'group' AND ug.target_pk = group_users.group_pk)`

// RemoveMembers removes ms from the group; ones it does not hold are
// no-ops, and users a rule grants the group stay members (no longer
// direct). It returns how many memberships it changed. Two statements per
// thousand members, whatever the group's size.
func (tx *Tx) RemoveMembers(ctx context.Context, groupPK int64, ms []Member) (int64, error) {
	users, groups := memberPKs(ms)
	var changed int64
	exec := func(q *bun.RawQuery) error {
		res, err := q.Exec(ctx)
		return count(res, err, &changed)
	}
	for part := range slices.Chunk(users, chunk) {
		if err := exec(tx.idb.NewRaw(`DELETE FROM group_users WHERE group_pk = ? AND user_pk IN (?) AND NOT `+granted,
			groupPK, bun.List(part))); err != nil {
			return 0, err
		}
		if err := exec(tx.idb.NewRaw(`UPDATE group_users SET direct = ? WHERE group_pk = ? AND user_pk IN (?) AND direct`,
			false, groupPK, bun.List(part))); err != nil {
			return 0, err
		}
	}
	for part := range slices.Chunk(groups, chunk) {
		if err := exec(tx.idb.NewRaw(`DELETE FROM group_groups WHERE group_pk = ? AND member_pk IN (?)`,
			groupPK, bun.List(part))); err != nil {
			return 0, err
		}
	}
	return changed, nil
}

// count adds the rows a statement touched to n.
func count(res sql.Result, err error, n *int64) error {
	if err != nil {
		return mapError(err)
	}
	k, err := res.RowsAffected()
	*n += k
	return err
}

// AddMembers adds ms to the group; members it already holds directly are
// left as they are. It returns how many memberships it changed, and costs
// one statement per thousand members, whatever the group's size.
func (tx *Tx) AddMembers(ctx context.Context, groupPK int64, ms []Member) (int64, error) {
	var users []groupUser
	var groups []groupGroup
	for _, m := range ms {
		switch m.Type {
		case MemberUser:
			users = append(users, groupUser{GroupPK: groupPK, UserPK: m.PK, Direct: true})
		case MemberGroup:
			groups = append(groups, groupGroup{GroupPK: groupPK, MemberPK: m.PK})
		}
	}
	var changed int64
	for part := range slices.Chunk(users, chunk) {
		res, err := tx.idb.NewInsert().Model(&part).On("CONFLICT (group_pk, user_pk) DO UPDATE").
			Set("direct = EXCLUDED.direct").Where("NOT group_user.direct").Exec(ctx)
		if err := count(res, err, &changed); err != nil {
			return 0, err
		}
	}
	for part := range slices.Chunk(groups, chunk) {
		res, err := tx.idb.NewInsert().Model(&part).On("CONFLICT DO NOTHING").Exec(ctx)
		if err := count(res, err, &changed); err != nil {
			return 0, err
		}
	}
	return changed, nil
}

// PushedGroups returns, for each of the users, the groups a group write
// gave it (what an identity provider pushed, or an admin set), leaving out
// the memberships that only a rule's grant holds: what rules read as the
// user's groups, so that a rule granting a group cannot keep its own grant
// alive once the provider takes the user out.
func (r reader) PushedGroups(ctx context.Context, userPKs []int64) (map[int64][]GroupRef, error) {
	return r.userGroups(ctx, userPKs, true)
}

// userGroups reads [reader.UserGroups], or with pushed [reader.PushedGroups],
// in a query per thousand users.
func (r reader) userGroups(ctx context.Context, userPKs []int64, pushed bool) (map[int64][]GroupRef, error) {
	out := map[int64][]GroupRef{}
	for part := range slices.Chunk(userPKs, chunk) {
		var refs []GroupRef
		q := r.idb.NewSelect().
			TableExpr("group_users AS m").
			ColumnExpr("m.user_pk, g.id, g.display_name").
			Join("JOIN groups AS g ON g.pk = m.group_pk").
			Where("m.user_pk IN (?)", bun.List(part))
		if pushed {
			q = q.Where("m.direct")
		}
		if err := q.OrderExpr("g.display_name_folded, g.pk").Scan(ctx, &refs); err != nil {
			return nil, mapError(err)
		}
		for _, ref := range refs {
			out[ref.UserPK] = append(out[ref.UserPK], ref)
		}
	}
	return out, nil
}

// GroupUserPKs lists the users a group holds, by internal key; with
// pushed, only those a group write gave it (see [reader.PushedGroups]).
func (r reader) GroupUserPKs(ctx context.Context, groupPK int64, pushed bool) ([]int64, error) {
	var pks []int64
	q := r.idb.NewSelect().TableExpr("group_users AS m").Column("user_pk").Where("group_pk = ?", groupPK)
	if pushed {
		q = q.Where("m.direct")
	}
	err := q.OrderExpr("user_pk").Scan(ctx, &pks)
	return pks, mapError(err)
}
