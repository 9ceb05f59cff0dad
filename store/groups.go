package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Group is a group row. Attrs is the SCIM document without id, externalId,
// meta and members: members are rows (see [Member]), never a JSON array.
type Group struct {
	bun.BaseModel `bun:"table:groups,alias:g"`

	PK                int64          `bun:"pk,pk,autoincrement"`
	TenantID          int64          `bun:"tenant_id"`
	ID                string         `bun:"id"`
	DisplayName       string         `bun:"display_name"`
	DisplayNameFolded string         `bun:"display_name_folded"`
	Attrs             map[string]any `bun:"attrs,type:jsonb"`
	Version           int64          `bun:"version"`
	CreatedAt         time.Time      `bun:"created_at"`
	UpdatedAt         time.Time      `bun:"updated_at"`
	// ManagedBy is the connector that writes the group by SCIM (it created
	// or adopted it); 0 for a group rules created on demand, which the
	// first connector to push a group of its name adopts.
	ManagedBy int64 `bun:"managed_by,nullzero"`

	// ExternalID is the reading connector's external ID for this group.
	ExternalID string `bun:"external_id,scanonly"`
}

// Group returns a group of the tenant by SCIM id, with connectorID's
// external ID. It does not read members.
func (r reader) Group(ctx context.Context, tenantID, connectorID int64, id string) (Group, error) {
	if !ValidID(id) {
		return Group{}, ErrNotFound
	}
	var g Group
	err := r.locked(r.selectGroups(&g, connectorID), "g").
		Where("g.tenant_id = ? AND g.id = ?", tenantID, id).
		Scan(ctx)
	return g, mapError(err)
}

// Groups lists the groups of q.TenantID that match q.Filter, one page of
// them, with the total number of matches. It does not read members.
func (r reader) Groups(ctx context.Context, q Query) (Page[Group], error) {
	where, args, err := r.translate(groupsTable, q)
	if err != nil {
		return Page[Group]{}, err
	}
	base, cols := r.groupsBase(q, where, args)
	return page(ctx, r, groupsTable, q, cols, resultKey(groupsTable, q, where, args), base, func(g Group) int64 { return g.PK })
}

// groupsBase returns a builder of SELECTs over the tenant's groups that
// match the translated filter, and the columns of a page of them.
func (r reader) groupsBase(q Query, where string, args []any) (func(cols string) *bun.SelectQuery, string) {
	join, external := r.externalIDs(groupsTable, q, where, "group_external_ids", "group_pk")
	table := r.pageTable("groups", "g", q, where)
	return func(cols string) *bun.SelectQuery {
		sel := r.idb.NewSelect().TableExpr(table).ColumnExpr(cols).Where(r.tenantIs("g"), q.TenantID)
		if join != "" {
			sel = sel.Join(join)
		}
		if where != "" {
			sel = sel.Where(where, args...)
		}
		return sel
	}, "g.*, " + external
}

func (r reader) selectGroups(model any, connectorID int64) *bun.SelectQuery {
	return r.idb.NewSelect().Model(model).
		ColumnExpr("g.*, x.value AS external_id").
		Join("LEFT JOIN group_external_ids AS x ON x.group_pk = g.pk AND x.connector_id = ?", connectorID)
}

// InsertGroup creates g, giving it a new id, version 1 and timestamps. A
// displayName already taken in the tenant (in any case) is a
// [*ConflictError].
func (tx *Tx) InsertGroup(ctx context.Context, g *Group) error {
	g.ID = uuid.NewString()
	g.DisplayNameFolded = Fold(g.DisplayName)
	g.Version = 1
	g.CreatedAt = now()
	g.UpdatedAt = g.CreatedAt
	_, err := tx.idb.NewInsert().Model(g).Returning("pk").Exec(ctx)
	return mapError(err)
}

// UpdateGroup writes g over the stored row if the row is still at
// g.Version, and moves g to the next version; see [Tx.UpdateUser].
func (tx *Tx) UpdateGroup(ctx context.Context, g *Group) error {
	g.DisplayNameFolded = Fold(g.DisplayName)
	g.UpdatedAt = now()
	res, err := tx.idb.NewUpdate().Model(g).
		Column("display_name", "display_name_folded", "attrs", "managed_by", "updated_at").
		Set("version = version + 1").
		Where("pk = ? AND version = ?", g.PK, g.Version).
		Exec(ctx)
	if err := checkOne(res, err, ErrStale); err != nil {
		return err
	}
	g.Version++
	return nil
}

// GroupNamed returns the tenant's group whose displayName is name in any
// case, or [ErrNotFound].
func (r reader) GroupNamed(ctx context.Context, tenantID int64, name string) (Group, error) {
	var g Group
	err := r.selectGroups(&g, 0).
		Where("g.tenant_id = ? AND g.display_name_folded = ?", tenantID, Fold(name)).Scan(ctx)
	return g, mapError(err)
}

// EnsureGroup returns the tenant's group named name (any case), creating
// it, managed by no connector, if missing: a rule's grant on demand. Two
// writers creating it at once get the same group.
func (tx *Tx) EnsureGroup(ctx context.Context, tenantID int64, name string) (Group, error) {
	at := now()
	g := Group{TenantID: tenantID, ID: uuid.NewString(), DisplayName: name, DisplayNameFolded: Fold(name),
		Attrs: map[string]any{"displayName": name}, Version: 1, CreatedAt: at, UpdatedAt: at}
	if _, err := tx.idb.NewInsert().Model(&g).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return Group{}, mapError(err)
	}
	return tx.GroupNamed(ctx, tenantID, name)
}

// DeleteGroup deletes a group with its memberships, the grants of it and
// its external IDs.
func (tx *Tx) DeleteGroup(ctx context.Context, pk int64) error {
	if _, err := tx.idb.NewDelete().Model((*userGrant)(nil)).Where("kind = ? AND target_pk = ?", GrantGroup, pk).Exec(ctx); err != nil {
		return mapError(err)
	}
	res, err := tx.idb.NewDelete().Model((*Group)(nil)).Where("pk = ?", pk).Exec(ctx)
	return checkOne(res, err, ErrNotFound)
}

// SetGroupExternalID sets the connector's external ID for a group; "" removes it.
func (tx *Tx) SetGroupExternalID(ctx context.Context, connectorID, groupPK int64, value string) error {
	return tx.setExternalID(ctx, "group_external_ids", "group_pk", connectorID, groupPK, value)
}
