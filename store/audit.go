package store

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// AuditEvent records one applied change: who (source, connector) did what
// (action) to which resource, and the detail (before and after).
type AuditEvent struct {
	bun.BaseModel `bun:"table:audit_events"`

	ID           int64          `bun:"id,pk,autoincrement"`
	TenantID     int64          `bun:"tenant_id"`
	At           time.Time      `bun:"at"`
	Source       string         `bun:"source"`
	ConnectorID  int64          `bun:"connector_id,nullzero"`
	Action       string         `bun:"action"`
	ResourceType string         `bun:"resource_type"`
	ResourceID   string         `bun:"resource_id"`
	Detail       map[string]any `bun:"detail,type:jsonb"`
}

// AppendAudit appends an event. Events are never updated or deleted.
func (tx *Tx) AppendAudit(ctx context.Context, e *AuditEvent) error {
	e.At = now()
	_, err := tx.idb.NewInsert().Model(e).Returning("id").Exec(ctx)
	return mapError(err)
}

// AppendAudits appends events, a thousand per statement.
func (tx *Tx) AppendAudits(ctx context.Context, events []AuditEvent) error {
	at := now()
	for i := range events {
		events[i].At = at
	}
	for part := range slices.Chunk(events, chunk) {
		if _, err := tx.idb.NewInsert().Model(&part).Exec(ctx); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// AuditEvents lists a tenant's events for one resource, oldest first.
func (r reader) AuditEvents(ctx context.Context, tenantID int64, resourceID string) ([]AuditEvent, error) {
	var events []AuditEvent
	err := r.idb.NewSelect().Model(&events).
		Where("tenant_id = ? AND resource_id = ?", tenantID, resourceID).
		OrderExpr("id").Scan(ctx)
	return events, mapError(err)
}
