package store

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// States of a [HeldWrite].
const (
	HeldPending  = "pending"
	HeldApproved = "approved"
	HeldRejected = "rejected"
)

// HeldWrite is a write the deletion guard held (migration 0019): what it
// would have written, kept so that it can be applied later. Op is
// "replace", with the resource's resulting Document and ExternalID, or
// "delete"; Version is the resource's version it was planned on.
type HeldWrite struct {
	bun.BaseModel `bun:"table:held_writes,alias:h"`

	ID           int64          `bun:"id,pk,autoincrement" json:"id"`
	TenantID     int64          `bun:"tenant_id" json:"-"`
	ConnectorID  int64          `bun:"connector_id" json:"-"`
	Source       string         `bun:"source" json:"source"`
	ResourceType string         `bun:"resource_type" json:"resourceType"`
	ResourceID   string         `bun:"resource_id" json:"resourceId"`
	UserName     string         `bun:"user_name" json:"userName,omitempty"`
	Op           string         `bun:"op" json:"op"`
	Version      int64          `bun:"version" json:"version"`
	Document     map[string]any `bun:"document,type:jsonb,nullzero" json:"document,omitempty"`
	ExternalID   string         `bun:"external_id" json:"externalId,omitempty"`
	State        string         `bun:"state" json:"state"`
	// Attempts counts the times the write came (an identity provider
	// retries a held write).
	Attempts  int        `bun:"attempts" json:"attempts"`
	CreatedAt time.Time  `bun:"created_at" json:"createdAt"`
	UpdatedAt time.Time  `bun:"updated_at" json:"updatedAt"`
	DecidedBy string     `bun:"decided_by" json:"decidedBy,omitempty"`
	DecidedAt *time.Time `bun:"decided_at" json:"decidedAt,omitempty"`
	// Outcome says what an approval did ("applied", "deactivated", "gone")
	// or why a rejection was made.
	Outcome string `bun:"outcome" json:"outcome,omitempty"`
}

// LockConnector serialises the deletion guard's check per connector: on
// PostgreSQL it locks the connector's row until the transaction ends, so
// that two replicas cannot both pass the threshold; SQLite's one writer
// already does.
func (tx *Tx) LockConnector(ctx context.Context, connectorID int64) error {
	if tx.dialect != Postgres {
		return nil
	}
	_, err := tx.idb.NewRaw("SELECT id FROM connectors WHERE id = ? FOR UPDATE", connectorID).Exec(ctx)
	return mapError(err)
}

// GuardEvents counts the connector's deactivations and deletions at or
// after since (index guard_events_connector_at).
func (r reader) GuardEvents(ctx context.Context, connectorID int64, since time.Time) (int, error) {
	n, err := r.idb.NewSelect().TableExpr("guard_events").
		Where("connector_id = ? AND at >= ?", connectorID, since.UTC()).Count(ctx)
	return int(n), mapError(err)
}

// AddGuardEvents records n deactivations or deletions of the connector
// at at, and prunes its events before prune, which no window counts.
func (tx *Tx) AddGuardEvents(ctx context.Context, connectorID int64, n int, at, prune time.Time) error {
	if _, err := tx.idb.NewDelete().TableExpr("guard_events").
		Where("connector_id = ? AND at < ?", connectorID, prune.UTC()).Exec(ctx); err != nil {
		return mapError(err)
	}
	if n <= 0 {
		return nil
	}
	type event struct {
		bun.BaseModel `bun:"table:guard_events"`
		ConnectorID   int64     `bun:"connector_id"`
		At            time.Time `bun:"at"`
	}
	rows := make([]event, n)
	for i := range rows {
		rows[i] = event{ConnectorID: connectorID, At: at.UTC()}
	}
	_, err := tx.idb.NewInsert().Model(&rows).Exec(ctx)
	return mapError(err)
}

// LinkedUsers counts the connector's users (linked, not deleted), the
// base of the guard's percentage (index user_links_connector).
func (r reader) LinkedUsers(ctx context.Context, connectorID int64) (int, error) {
	n, err := r.idb.NewSelect().TableExpr("user_links AS l").Join("JOIN users AS u ON u.pk = l.user_pk").
		Where("l.connector_id = ? AND u.deleted_at IS NULL", connectorID).Count(ctx)
	return int(n), mapError(err)
}

// HoldWrite saves h pending, or, when the connector already holds a
// pending write of the same resource (a retry), replaces that one's
// write with h's and counts the attempt, keeping its id and place. It
// sets h's id, state and times, and reports whether h is new.
func (tx *Tx) HoldWrite(ctx context.Context, h *HeldWrite) (bool, error) {
	t := now()
	var cur HeldWrite
	err := tx.idb.NewSelect().Model(&cur).
		Where("connector_id = ? AND resource_type = ? AND resource_id = ? AND state = ?", h.ConnectorID, h.ResourceType, h.ResourceID, HeldPending).
		Scan(ctx)
	switch err = mapError(err); {
	case err == nil:
		h.ID, h.CreatedAt, h.Attempts, h.UpdatedAt, h.State = cur.ID, cur.CreatedAt, cur.Attempts+1, t, HeldPending
		_, err := tx.idb.NewUpdate().Model(h).Column("source", "user_name", "op", "version", "document", "external_id", "attempts", "updated_at").
			WherePK().Exec(ctx)
		return false, mapError(err)
	case !errors.Is(err, ErrNotFound):
		return false, err
	}
	h.State, h.Attempts, h.CreatedAt, h.UpdatedAt = HeldPending, 1, t, t
	_, err = tx.idb.NewInsert().Model(h).Returning("id").Exec(ctx)
	return true, mapError(err)
}

// PendingHeld counts the connector's pending held writes.
func (r reader) PendingHeld(ctx context.Context, connectorID int64) (int, error) {
	n, err := r.idb.NewSelect().Model((*HeldWrite)(nil)).
		Where("connector_id = ? AND state = ?", connectorID, HeldPending).Count(ctx)
	return int(n), mapError(err)
}

// RejectedWrite returns the connector's latest rejected write of a
// resource planned on version; [ErrNotFound] if there is none.
func (r reader) RejectedWrite(ctx context.Context, connectorID int64, resourceType, resourceID string, version int64) (HeldWrite, error) {
	var h HeldWrite
	err := r.idb.NewSelect().Model(&h).
		Where("connector_id = ? AND resource_type = ? AND resource_id = ? AND version = ? AND state = ?",
			connectorID, resourceType, resourceID, version, HeldRejected).
		OrderExpr("id DESC").Limit(1).Scan(ctx)
	return h, mapError(err)
}

// HeldWrites returns up to limit of the connector's held writes in state
// ("" any), in the order they were held, after the id after; ids, when
// not empty, narrows them to those.
func (r reader) HeldWrites(ctx context.Context, connectorID int64, state string, ids []int64, after int64, limit int) ([]HeldWrite, error) {
	var out []HeldWrite
	q := r.idb.NewSelect().Model(&out).Where("connector_id = ? AND id > ?", connectorID, after)
	if state != "" {
		q = q.Where("state = ?", state)
	}
	if len(ids) > 0 {
		q = q.Where("id IN (?)", bun.List(ids))
	}
	err := q.OrderExpr("id").Limit(int64(limit)).Scan(ctx)
	return out, mapError(err)
}

// DecideHeld ends a pending held write: state approved or rejected, by
// whom, with outcome. It reports false when the write was no longer
// pending (another administrator decided it first).
func (tx *Tx) DecideHeld(ctx context.Context, id int64, state, by, outcome string) (bool, error) {
	t := now()
	res, err := tx.idb.NewUpdate().Model((*HeldWrite)(nil)).Set("state = ?", state).Set("decided_by = ?", by).
		Set("decided_at = ?", t).Set("updated_at = ?", t).Set("outcome = ?", outcome).
		Where("id = ? AND state = ?", id, HeldPending).Exec(ctx)
	if err != nil {
		return false, mapError(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
