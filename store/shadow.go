package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Connector modes (connectors.mode, migration 0022).
const (
	// ModeLive writes what the connector's plans say.
	ModeLive = "live"
	// ModeShadow plans as live would and writes the plans and the
	// resources they would leave to the connector's shadow store instead.
	ModeShadow = "shadow"
)

// ShadowResource is a user or group as a shadow connector would have left
// it: one it created in shadow (RealPK 0), or a real one it changed or
// deleted (RealPK its row).
type ShadowResource struct {
	bun.BaseModel `bun:"table:shadow_resources,alias:s"`

	PK                int64     `bun:"pk,pk,autoincrement"`
	ConnectorID       int64     `bun:"connector_id"`
	Kind              string    `bun:"kind"` // "User" or "Group"
	ID                string    `bun:"id"`
	RealPK            int64     `bun:"real_pk,nullzero"`
	Deleted           bool      `bun:"deleted"`
	UserNameFolded    string    `bun:"user_name_folded,nullzero"`
	ExternalID        string    `bun:"external_id,nullzero"`
	DisplayNameFolded string    `bun:"display_name_folded,nullzero"`
	Doc               ShadowDoc `bun:"doc,type:jsonb"`
	UpdatedAt         time.Time `bun:"updated_at"`
}

// ShadowDoc is a shadow resource's content: the user or group with its
// external ID, and what planning reads of it (a user's grants and
// attribute sources, a group's direct members).
type ShadowDoc struct {
	User    *User                      `json:"user,omitempty"`
	Group   *Group                     `json:"group,omitempty"`
	Grants  []Grant                    `json:"grants,omitempty"`
	Sources map[string]AttributeSource `json:"sources,omitempty"`
	Members []Member                   `json:"members,omitempty"`
}

// ResourcePK is the primary key planning knows the resource by: the real
// row's, or for one the connector created in shadow, its shadow row's
// negated (real keys are positive, so the two never meet).
func (s ShadowResource) ResourcePK() int64 {
	if s.RealPK != 0 {
		return s.RealPK
	}
	return -s.PK
}

// loaded fills in what the document does not keep: the resource's pk.
func (s ShadowResource) loaded() ShadowResource {
	if s.Doc.User != nil {
		s.Doc.User.PK = s.ResourcePK()
	}
	if s.Doc.Group != nil {
		s.Doc.Group.PK = s.ResourcePK()
	}
	return s
}

// ShadowPlan is one plan a shadow connector made, or the error that
// stopped it: its shadow log.
type ShadowPlan struct {
	bun.BaseModel `bun:"table:shadow_plans,alias:sp"`

	ID          int64     `bun:"id,pk,autoincrement"`
	TenantID    int64     `bun:"tenant_id"`
	ConnectorID int64     `bun:"connector_id"`
	At          time.Time `bun:"at"`
	Kind        string    `bun:"kind"`
	Op          string    `bun:"op"`
	// Action is the plan's (reconcile.Plan.Action); "error" when it failed.
	Action     string `bun:"action"`
	ResourceID string `bun:"resource_id,nullzero"`
	// Conflict names the attribute of a uniqueness conflict with other
	// data (a userName another user holds); Error is a failure's message.
	Conflict string          `bun:"conflict,nullzero"`
	Error    string          `bun:"error,nullzero"`
	Summary  json.RawMessage `bun:"summary,type:jsonb,nullzero"`
}

// Shadow returns the shadow resource of a connector by kind and SCIM id,
// or [ErrNotFound].
func (r reader) Shadow(ctx context.Context, connectorID int64, kind, id string) (ShadowResource, error) {
	return r.shadowWhere(ctx, "s.connector_id = ? AND s.kind = ? AND s.id = ?", connectorID, kind, id)
}

// ShadowOf returns the shadow resource of a connector that stands for a
// resource pk as planning knows it (see [ShadowResource.ResourcePK]), or
// [ErrNotFound].
func (r reader) ShadowOf(ctx context.Context, connectorID int64, kind string, pk int64) (ShadowResource, error) {
	if pk < 0 {
		return r.shadowWhere(ctx, "s.connector_id = ? AND s.kind = ? AND s.pk = ? AND s.real_pk IS NULL", connectorID, kind, -pk)
	}
	return r.shadowWhere(ctx, "s.connector_id = ? AND s.kind = ? AND s.real_pk = ?", connectorID, kind, pk)
}

// ShadowUserNamed returns a connector's live shadow user whose userName
// folds to folded, or [ErrNotFound].
func (r reader) ShadowUserNamed(ctx context.Context, connectorID int64, folded string) (ShadowResource, error) {
	return r.shadowWhere(ctx, "s.connector_id = ? AND s.user_name_folded = ? AND NOT s.deleted", connectorID, folded)
}

// ShadowGroupNamed returns a connector's live shadow group whose
// displayName folds to folded, or [ErrNotFound].
func (r reader) ShadowGroupNamed(ctx context.Context, connectorID int64, folded string) (ShadowResource, error) {
	return r.shadowWhere(ctx, "s.connector_id = ? AND s.kind = 'Group' AND s.display_name_folded = ? AND NOT s.deleted", connectorID, folded)
}

// ShadowsByExternalID returns a connector's live shadow resources of a kind
// with the given external ID.
func (r reader) ShadowsByExternalID(ctx context.Context, connectorID int64, kind, externalID string) ([]ShadowResource, error) {
	var out []ShadowResource
	err := r.idb.NewSelect().Model(&out).
		Where("s.connector_id = ? AND s.kind = ? AND s.external_id = ? AND NOT s.deleted", connectorID, kind, externalID).
		OrderExpr("s.pk").Scan(ctx)
	for i := range out {
		out[i] = out[i].loaded()
	}
	return out, mapError(err)
}

// ShadowCounts returns how many real resources of a kind a connector's
// shadow store shadows, and how many of its shadows are not deleted.
func (r reader) ShadowCounts(ctx context.Context, connectorID int64, kind string) (shadowed, live int, err error) {
	err = r.idb.NewSelect().Model((*ShadowResource)(nil)).
		ColumnExpr("COALESCE(SUM(CASE WHEN s.real_pk IS NOT NULL THEN 1 ELSE 0 END), 0)").
		ColumnExpr("COALESCE(SUM(CASE WHEN s.deleted THEN 0 ELSE 1 END), 0)").
		Where("s.connector_id = ? AND s.kind = ?", connectorID, kind).Scan(ctx, &shadowed, &live)
	return shadowed, live, mapError(err)
}

// ShadowedAmong returns which of the real resource pks given a connector's
// shadow store shadows.
func (r reader) ShadowedAmong(ctx context.Context, connectorID int64, kind string, pks []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(pks) == 0 {
		return out, nil
	}
	var found []int64
	err := r.idb.NewSelect().Model((*ShadowResource)(nil)).Column("s.real_pk").
		Where("s.connector_id = ? AND s.kind = ? AND s.real_pk IN (?)", connectorID, kind, bun.List(pks)).Scan(ctx, &found)
	for _, pk := range found {
		out[pk] = true
	}
	return out, mapError(err)
}

// Shadow attributes [reader.LiveShadows] can select by: the lookups IdPs make.
var shadowColumns = map[string]string{"id": "s.id", "externalid": "s.external_id",
	"username": "s.user_name_folded", "displayname": "s.display_name_folded"}

// LiveShadows returns a connector's shadows of a kind that are not
// deleted, in the order they were first written, at most limit: all of
// them with attr "", else those whose attr ("id", "externalId", "userName",
// "displayName", by its indexed column; userName and displayName in any
// case) equals value. ok is false for an attribute it cannot select by.
func (r reader) LiveShadows(ctx context.Context, connectorID int64, kind, attr, value string, limit int) (out []ShadowResource, ok bool, err error) {
	q := r.idb.NewSelect().Model(&out).Where("s.connector_id = ? AND s.kind = ? AND NOT s.deleted", connectorID, kind)
	if attr != "" {
		col, known := shadowColumns[strings.ToLower(attr)]
		if !known {
			return nil, false, nil
		}
		if col == "s.user_name_folded" || col == "s.display_name_folded" {
			value = Fold(value)
		}
		q = q.Where("? = ?", bun.Safe(col), value)
	}
	err = q.OrderExpr("s.pk").Limit(int64(max(limit, 0))).Scan(ctx)
	for i := range out {
		out[i] = out[i].loaded()
	}
	return out, true, mapError(err)
}

func (r reader) shadowWhere(ctx context.Context, where string, args ...any) (ShadowResource, error) {
	var s ShadowResource
	if err := r.idb.NewSelect().Model(&s).Where(where, args...).Limit(1).Scan(ctx); err != nil {
		return s, mapError(err)
	}
	return s.loaded(), nil
}

// ShadowPlans returns a connector's shadow plans in order, from the one
// after id after, at most limit of them (a page: pass the last id as
// after for the next).
func (r reader) ShadowPlans(ctx context.Context, connectorID, after int64, limit int) ([]ShadowPlan, error) {
	var out []ShadowPlan
	err := r.idb.NewSelect().Model(&out).Where("sp.connector_id = ? AND sp.id > ?", connectorID, after).
		OrderExpr("sp.id").Limit(int64(max(limit, 1))).Scan(ctx)
	return out, mapError(err)
}

// SetMode sets a connector's mode, [ModeLive] or [ModeShadow].
func (tx *Tx) SetMode(ctx context.Context, connectorID int64, mode string) error {
	if mode != ModeLive && mode != ModeShadow {
		return fmt.Errorf("set mode: %q is neither %s nor %s", mode, ModeLive, ModeShadow)
	}
	_, err := tx.idb.NewUpdate().Model((*Connector)(nil)).Set("mode = ?", mode).Where("id = ?", connectorID).Exec(ctx)
	return mapError(err)
}

// SaveShadow writes a shadow resource: a new one (PK 0, which it sets),
// or the one of that PK again.
func (tx *Tx) SaveShadow(ctx context.Context, s *ShadowResource) error {
	if s.Doc.User != nil {
		s.Doc.User.PasswordHash = "" // never kept, as no read shows it
	}
	if s.PK == 0 {
		_, err := tx.idb.NewInsert().Model(s).Returning("pk").Exec(ctx)
		return mapError(err)
	}
	_, err := tx.idb.NewUpdate().Model(s).WherePK().Exec(ctx)
	return mapError(err)
}

// AppendShadowPlan appends a plan to its connector's shadow log.
func (tx *Tx) AppendShadowPlan(ctx context.Context, p *ShadowPlan) error {
	_, err := tx.idb.NewInsert().Model(p).Returning("id").Exec(ctx)
	return mapError(err)
}

// ClearShadow empties a connector's shadow store and log and reports how
// many plans the log held.
func (tx *Tx) ClearShadow(ctx context.Context, connectorID int64) (int64, error) {
	if _, err := tx.idb.NewDelete().Model((*ShadowResource)(nil)).Where("connector_id = ?", connectorID).Exec(ctx); err != nil {
		return 0, mapError(err)
	}
	res, err := tx.idb.NewDelete().Model((*ShadowPlan)(nil)).Where("connector_id = ?", connectorID).Exec(ctx)
	if err != nil {
		return 0, mapError(err)
	}
	n, err := res.RowsAffected()
	return n, err
}
