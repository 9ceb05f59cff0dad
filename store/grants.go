package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Grant kinds: what a grant gives a user.
const (
	GrantOrgUnit = "orgUnit"
	GrantGroup   = "group"
	GrantRole    = "role"
)

// Grant is one org unit, group or role a user holds, with who granted it:
// a connector's rule (ConnectorID, Rule), or a source by hand (Rule "").
type Grant struct {
	Kind     string `bun:"kind"`
	TargetPK int64  `bun:"target_pk"`
	// Target is the org unit's path, the group's displayName or the
	// role's name (read only).
	Target string `bun:"target,scanonly"`
	// GroupPK is, for a role granted together with a group, that group.
	GroupPK     int64     `bun:"group_pk"`
	Source      string    `bun:"source"`
	ConnectorID int64     `bun:"connector_id"`
	Rule        string    `bun:"rule"`
	GrantedAt   time.Time `bun:"granted_at"`
}

// Same reports whether g and o are the same grant: same target, same
// grantor.
func (g Grant) Same(o Grant) bool {
	return g.Kind == o.Kind && g.TargetPK == o.TargetPK && g.ConnectorID == o.ConnectorID && g.Rule == o.Rule
}

type userGrant struct {
	bun.BaseModel `bun:"table:user_grants"`
	UserPK        int64 `bun:"user_pk"`
	Grant
}

// OrgUnit is a unit of a tenant's tree, named by its path from the root
// ("Medicine/Radiology").
type OrgUnit struct {
	bun.BaseModel `bun:"table:org_units"`
	PK            int64     `bun:"pk,pk,autoincrement"`
	TenantID      int64     `bun:"tenant_id"`
	Path          string    `bun:"path"`
	PathFolded    string    `bun:"path_folded"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Role is a role of a tenant.
type Role struct {
	bun.BaseModel `bun:"table:roles"`
	PK            int64     `bun:"pk,pk,autoincrement"`
	TenantID      int64     `bun:"tenant_id"`
	Name          string    `bun:"name"`
	NameFolded    string    `bun:"name_folded"`
	CreatedAt     time.Time `bun:"created_at"`
}

// OrgUnit returns the tenant's unit at path (any case), or [ErrNotFound].
func (r reader) OrgUnit(ctx context.Context, tenantID int64, path string) (OrgUnit, error) {
	var u OrgUnit
	err := r.idb.NewSelect().Model(&u).Where("tenant_id = ? AND path_folded = ?", tenantID, Fold(path)).Scan(ctx)
	return u, mapError(err)
}

// Role returns the tenant's role named name (any case), or [ErrNotFound].
func (r reader) Role(ctx context.Context, tenantID int64, name string) (Role, error) {
	var ro Role
	err := r.idb.NewSelect().Model(&ro).Where("tenant_id = ? AND name_folded = ?", tenantID, Fold(name)).Scan(ctx)
	return ro, mapError(err)
}

// EnsureOrgUnit returns the tenant's unit at path, creating it and any
// missing unit above it.
func (tx *Tx) EnsureOrgUnit(ctx context.Context, tenantID int64, path string) (OrgUnit, error) {
	var u OrgUnit
	parts := strings.Split(path, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		u = OrgUnit{TenantID: tenantID, Path: p, PathFolded: Fold(p), CreatedAt: now()}
		if _, err := tx.idb.NewInsert().Model(&u).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return OrgUnit{}, mapError(err)
		}
	}
	return tx.OrgUnit(ctx, tenantID, path)
}

// EnsureRole returns the tenant's role named name, creating it if missing.
func (tx *Tx) EnsureRole(ctx context.Context, tenantID int64, name string) (Role, error) {
	ro, err := tx.Role(ctx, tenantID, name)
	if !errors.Is(err, ErrNotFound) {
		return ro, err
	}
	ro = Role{TenantID: tenantID, Name: name, NameFolded: Fold(name), CreatedAt: now()}
	_, err = tx.idb.NewInsert().Model(&ro).Returning("pk").Exec(ctx)
	return ro, mapError(err)
}

// UserGrants returns the grants a user holds, with their targets' names,
// org units first, then groups, then roles.
func (r reader) UserGrants(ctx context.Context, userPK int64) ([]Grant, error) {
	byUser, err := r.GrantsOf(ctx, []int64{userPK})
	return byUser[userPK], err
}

// GrantsOf returns the grants of each of the users, with their targets'
// names, org units first, then groups, then roles: one query per thousand
// users.
func (r reader) GrantsOf(ctx context.Context, userPKs []int64) (map[int64][]Grant, error) {
	out := map[int64][]Grant{}
	for part := range slices.Chunk(userPKs, chunk) {
		var rows []userGrant
		err := r.idb.NewSelect().TableExpr("user_grants AS ug").
			ColumnExpr("ug.user_pk, ug.kind, ug.target_pk, ug.group_pk, ug.source, ug.connector_id, ug.rule, ug.granted_at").
			ColumnExpr("COALESCE(o.path, g.display_name, ro.name, '') AS target").
			Join("LEFT JOIN org_units AS o ON ug.kind = 'orgUnit' AND o.pk = ug.target_pk").
			Join("LEFT JOIN groups AS g ON ug.kind = 'group' AND g.pk = ug.target_pk").
			Join("LEFT JOIN roles AS ro ON ug.kind = 'role' AND ro.pk = ug.target_pk").
			Where("ug.user_pk IN (?)", bun.List(part)).
			OrderExpr("ug.user_pk, CASE ug.kind WHEN 'orgUnit' THEN 0 WHEN 'group' THEN 1 ELSE 2 END, target, ug.connector_id, ug.rule").
			Scan(ctx, &rows)
		if err != nil {
			return nil, mapError(err)
		}
		for _, g := range rows {
			out[g.UserPK] = append(out[g.UserPK], g.Grant)
		}
	}
	return out, nil
}

// AddGrant records g for a user. A group grant also makes the user a
// member of the group (one that it was not directly given).
func (tx *Tx) AddGrant(ctx context.Context, userPK int64, g Grant) error {
	if g.GrantedAt.IsZero() {
		g.GrantedAt = now()
	}
	row := userGrant{UserPK: userPK, Grant: g}
	if _, err := tx.idb.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return mapError(err)
	}
	if g.Kind != GrantGroup {
		return nil
	}
	_, err := tx.idb.NewRaw("INSERT INTO group_users (group_pk, user_pk, direct) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		g.TargetPK, userPK, false).Exec(ctx)
	return mapError(err)
}

// RemoveGrant revokes exactly g. Revoking a group grant ends the
// membership only when nothing else holds it: no other grant, and not
// given directly.
func (tx *Tx) RemoveGrant(ctx context.Context, userPK int64, g Grant) error {
	_, err := tx.idb.NewDelete().Model((*userGrant)(nil)).
		Where("user_pk = ? AND kind = ? AND target_pk = ? AND connector_id = ? AND rule = ?",
			userPK, g.Kind, g.TargetPK, g.ConnectorID, g.Rule).Exec(ctx)
	if err != nil || g.Kind != GrantGroup {
		return mapError(err)
	}
	_, err = tx.idb.NewRaw(`DELETE FROM group_users WHERE group_pk = ? AND user_pk = ? AND NOT direct
		AND NOT EXISTS (SELECT 1 FROM user_grants WHERE user_pk = ? AND kind = 'group' AND target_pk = ?)`,
		g.TargetPK, userPK, userPK, g.TargetPK).Exec(ctx)
	return mapError(err)
}

// Link records that connectorID manages a user; it is a no-op if it does.
func (tx *Tx) Link(ctx context.Context, connectorID, userPK int64) error {
	_, err := tx.idb.NewRaw("INSERT INTO user_links (connector_id, user_pk, linked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		connectorID, userPK, now()).Exec(ctx)
	return mapError(err)
}

// Linked reports whether connectorID manages a user.
func (r reader) Linked(ctx context.Context, connectorID, userPK int64) (bool, error) {
	n, err := r.idb.NewSelect().TableExpr("user_links").
		Where("connector_id = ? AND user_pk = ?", connectorID, userPK).Count(ctx)
	return n > 0, mapError(err)
}

// AttributeSource says who last set one of a user's mapped attributes.
type AttributeSource struct {
	bun.BaseModel `bun:"table:user_attribute_sources"`
	UserPK        int64     `bun:"user_pk" json:"-"`
	Attribute     string    `bun:"attribute" json:"attribute"`
	Source        string    `bun:"source" json:"source"`
	ConnectorID   int64     `bun:"connector_id" json:"connectorId,omitempty"`
	Rule          string    `bun:"rule" json:"rule,omitempty"`
	SetAt         time.Time `bun:"set_at" json:"setAt"`
}

// AttributeSources returns who set each of a user's attributes, by name.
func (r reader) AttributeSources(ctx context.Context, userPK int64) (map[string]AttributeSource, error) {
	var rows []AttributeSource
	if err := r.idb.NewSelect().Model(&rows).Where("user_pk = ?", userPK).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	out := make(map[string]AttributeSource, len(rows))
	for _, a := range rows {
		out[a.Attribute] = a
	}
	return out, nil
}

// SetAttributeSources records who set each of as, replacing what was
// recorded for those attributes.
func (tx *Tx) SetAttributeSources(ctx context.Context, userPK int64, as []AttributeSource) error {
	if len(as) == 0 {
		return nil
	}
	at := now()
	for i := range as {
		as[i].UserPK = userPK
		if as[i].SetAt.IsZero() {
			as[i].SetAt = at
		}
	}
	_, err := tx.idb.NewInsert().Model(&as).
		On("CONFLICT (user_pk, attribute) DO UPDATE").
		Set("source = EXCLUDED.source, connector_id = EXCLUDED.connector_id, rule = EXCLUDED.rule, set_at = EXCLUDED.set_at").
		Exec(ctx)
	return mapError(err)
}

// UsersByExternalID returns up to two users of the tenant that connectorID
// knows by the external ID value: more than one is an ambiguous match.
func (r reader) UsersByExternalID(ctx context.Context, tenantID, connectorID int64, value string) ([]User, error) {
	var us []User
	err := r.selectUsers(&us, connectorID).
		Where("u.tenant_id = ? AND u.pk IN (SELECT user_pk FROM user_external_ids WHERE connector_id = ? AND value = ?)", tenantID, connectorID, value).
		OrderExpr("u.pk").Limit(2).Scan(ctx)
	return us, mapError(err)
}

// UserByUserName returns the tenant's user whose userName is userName in
// any case, or [ErrNotFound].
func (r reader) UserByUserName(ctx context.Context, tenantID, connectorID int64, userName string) (User, error) {
	var u User
	err := r.selectUsers(&u, connectorID).
		Where("u.tenant_id = ? AND u.user_name_folded = ?", tenantID, Fold(userName)).Scan(ctx)
	return u, mapError(err)
}

// UsersByEmail returns up to two users of the tenant with email among
// their emails (any case): more than one is an ambiguous match. With
// unmanaged, users connectorID manages are left out (what the connector's
// own create may match). It is an index lookup on user_emails, which
// triggers keep in step with attrs.
func (r reader) UsersByEmail(ctx context.Context, tenantID, connectorID int64, email string, unmanaged bool) ([]User, error) {
	var us []User
	q := r.selectUsers(&us, connectorID).
		Where("u.tenant_id = ? AND u.pk IN (SELECT user_pk FROM user_emails WHERE tenant_id = ? AND email = ?)", tenantID, tenantID, Fold(email))
	if unmanaged {
		q = q.Where("NOT EXISTS (SELECT 1 FROM user_links AS l WHERE l.user_pk = u.pk AND l.connector_id = ?)", connectorID)
	}
	err := q.OrderExpr("u.pk").Limit(2).Scan(ctx)
	return us, mapError(err)
}

// ManagedUsers returns those of the tenant's users pks that connectorID
// manages, with its external IDs, in pk order: one query per thousand.
func (r reader) ManagedUsers(ctx context.Context, tenantID, connectorID int64, pks []int64) ([]User, error) {
	var out []User
	for part := range slices.Chunk(pks, chunk) {
		var us []User
		err := r.selectUsers(&us, connectorID).
			Where("u.tenant_id = ? AND u.pk IN (?)", tenantID, bun.List(part)).
			Where("EXISTS (SELECT 1 FROM user_links AS l WHERE l.user_pk = u.pk AND l.connector_id = ?)", connectorID).
			OrderExpr("u.pk").Scan(ctx)
		if err != nil {
			return nil, mapError(err)
		}
		out = append(out, us...)
	}
	return out, nil
}

// UserNameTaken reports whether the tenant has a live user named userName
// in any case.
func (r reader) UserNameTaken(ctx context.Context, tenantID int64, userName string) (bool, error) {
	n, err := r.idb.NewSelect().TableExpr("users AS u").
		Where("u.tenant_id = ? AND u.user_name_folded = ? AND "+live, tenantID, Fold(userName)).Count(ctx)
	return n > 0, mapError(err)
}

// orgUnitScope limits a user list to the users holding a unit at or below
// path: what an admin of that unit may see (an empty path is no limit).
func orgUnitScope(path string) func(*bun.SelectQuery) *bun.SelectQuery {
	return func(q *bun.SelectQuery) *bun.SelectQuery {
		if path == "" {
			return q
		}
		f := Fold(path)
		return q.Where(`EXISTS (SELECT 1 FROM user_grants AS sg JOIN org_units AS so ON so.pk = sg.target_pk
			WHERE sg.user_pk = u.pk AND sg.kind = 'orgUnit' AND (so.path_folded = ? OR so.path_folded LIKE ? ESCAPE '\'))`,
			f, escapeLike(f)+"/%")
	}
}

// UserInOrgUnit reports whether a user holds a unit at or below path.
func (r reader) UserInOrgUnit(ctx context.Context, userPK int64, path string) (bool, error) {
	q := r.idb.NewSelect().TableExpr("users AS u").Where("u.pk = ?", userPK)
	n, err := orgUnitScope(path)(q).Count(ctx)
	return n > 0, mapError(err)
}

// UsersInOrgUnit lists the tenant's users at or below the unit path, in
// creation order, at most limit of them after the user with pk after.
func (r reader) UsersInOrgUnit(ctx context.Context, tenantID int64, path string, after int64, limit int) ([]User, error) {
	var us []User
	q := r.selectUsers(&us, 0).Where(r.tenantIs("u"), tenantID).Where("u.pk > ?", after)
	err := orgUnitScope(path)(q).OrderExpr("u.tenant_id, u.pk").Limit(int64(limit)).Scan(ctx)
	return us, mapError(err)
}

// DeletedUsers lists the tenant's soft-deleted users, in creation order,
// at most limit of them after the user with pk after: what a restore may
// bring back. It reads the partial index users_tenant_deleted.
func (r reader) DeletedUsers(ctx context.Context, tenantID int64, after int64, limit int) ([]User, error) {
	var us []User
	err := r.selectAnyUsers(&us, 0).Where("u.tenant_id = ? AND u.deleted_at IS NOT NULL AND u.pk > ?", tenantID, after).
		OrderExpr("u.tenant_id, u.pk").Limit(int64(limit)).Scan(ctx)
	return us, mapError(err)
}
