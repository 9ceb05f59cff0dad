package store

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// AuditEvent records one applied change: who (source, connector) did what
// (action) to which resource, and the detail (before and after).
//
// Events are append-only: the database refuses to update or delete them
// (migration 0007), with one exception, a person's erase. For it, an
// event's personal values live apart from the rest, in Personal: the
// detail keys in [personalKeys] are moved there when the event is
// appended, and detail keeps in their place what changed without the
// values ("changed", the names of the attributes that differ; "match"
// without its value). [DB.AuditEvents] puts them back together; once
// erased ([Tx.EraseAudit]) only the rest is left.
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
	// Personal is the part of the detail an erase removes; nil once erased
	// (or when the event had none). Writers put everything in Detail.
	Personal map[string]any `bun:"personal,type:jsonb,nullzero"`
}

// personalKeys are the detail keys that carry a person's values: the
// resource's attributes before and after, the mapped attribute changes
// (with their before and after), the match (with the value matched on) and
// who signed in (a login's identity: issuer, subject, email).
var personalKeys = []string{"before", "after", "changes", "match", "identity"}

// split moves the personal keys of e.Detail into e.Personal, leaving a
// detail that says what changed but not to what. e.Detail is replaced,
// not modified: the caller's map stays as it was.
func (e *AuditEvent) split() {
	var personal map[string]any
	for _, k := range personalKeys {
		if v, ok := e.Detail[k]; ok && !isNil(v) {
			if personal == nil {
				personal = map[string]any{}
			}
			personal[k] = v
		}
	}
	if personal == nil {
		return
	}
	// As JSON, the values can be looked into whatever Go types they were.
	raw, err := json.Marshal(personal)
	if err != nil || json.Unmarshal(raw, &personal) != nil {
		return // unmarshalable detail: AppendAudit's insert reports it
	}
	detail := maps.Clone(e.Detail)
	for _, k := range personalKeys {
		delete(detail, k)
	}
	if m, ok := personal["match"].(map[string]any); ok {
		m = maps.Clone(m)
		delete(m, "value")
		detail["match"] = m
	}
	if changed := changedAttributes(personal); len(changed) > 0 {
		detail["changed"] = changed
	}
	e.Detail, e.Personal = detail, personal
}

// changedAttributes names, in order, the attributes whose value differs
// between before and after, and those the mapped changes name.
func changedAttributes(personal map[string]any) []string {
	before, _ := personal["before"].(map[string]any)
	after, _ := personal["after"].(map[string]any)
	var names []string
	for _, attrs := range []map[string]any{before, after} {
		for k := range attrs {
			if !reflect.DeepEqual(before[k], after[k]) {
				names = append(names, k)
			}
		}
	}
	changes, _ := personal["changes"].([]any)
	for _, c := range changes {
		if m, ok := c.(map[string]any); ok {
			if a, ok := m["attribute"].(string); ok {
				names = append(names, a)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// join puts an event read back together, as its writer gave it.
func (e *AuditEvent) join() {
	if e.Personal == nil {
		return // none, or erased
	}
	for k, v := range e.Personal {
		e.Detail[k] = v
	}
	delete(e.Detail, "changed")
	e.Personal = nil
}

// AppendAudit appends an event. Events are never updated or deleted.
func (tx *Tx) AppendAudit(ctx context.Context, e *AuditEvent) error {
	e.At = now()
	row := *e
	row.split()
	_, err := tx.idb.NewInsert().Model(&row).Returning("id").Exec(ctx)
	e.ID = row.ID
	return mapError(err)
}

// AppendAudits appends events, a thousand per statement.
func (tx *Tx) AppendAudits(ctx context.Context, events []AuditEvent) error {
	at := now()
	rows := slices.Clone(events)
	for i := range rows {
		events[i].At = at
		rows[i].At = at
		rows[i].split()
	}
	for part := range slices.Chunk(rows, chunk) {
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
	for i := range events {
		events[i].join()
	}
	return events, mapError(err)
}

// EraseAudit removes the personal values from the tenant's events about
// one resource, the one change the database lets anyone make to an event,
// and says how many it erased. The events themselves stay: who did what,
// when, and which attributes changed.
func (tx *Tx) EraseAudit(ctx context.Context, tenantID int64, resourceID string) (int, error) {
	res, err := tx.idb.NewUpdate().Model((*AuditEvent)(nil)).
		Set("personal = NULL").
		Where("tenant_id = ? AND resource_id = ? AND personal IS NOT NULL", tenantID, resourceID).
		Exec(ctx)
	if err != nil {
		return 0, mapError(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// AuditSearch asks for a page of a tenant's audit log ([reader.AuditLog]),
// newest first. Zero fields do not narrow it.
type AuditSearch struct {
	TenantID int64
	// ResourceID keeps the events about one resource: a user's SCIM id.
	ResourceID string
	// ConnectorID keeps the events one connector made.
	ConnectorID int64
	// Source keeps the events of one source (scim, oidc, csv, admin, cli,
	// activation).
	Source string
	// Since keeps the events at or after it, Until those before it.
	Since, Until time.Time
	// Before is the position of the last event of the page before: the
	// page starts after it. Zero: the newest events.
	Before AuditPosition
	// Limit is the most events returned; 0 means 100.
	Limit int
}

// AuditPosition is an event's place in the audit log, which is ordered by
// time, and events of one time by ID.
type AuditPosition struct {
	At time.Time
	ID int64
}

// Position is e's place in the audit log, the Before of the next page.
func (e AuditEvent) Position() AuditPosition { return AuditPosition{e.At, e.ID} }

// AuditLog returns a page of the tenant's audit log, newest first. Each
// narrowing reads an index ending in (at, id) (migration 0028): a page
// reads its rows in order and stops at its end.
func (r reader) AuditLog(ctx context.Context, s AuditSearch) ([]AuditEvent, error) {
	if s.Limit <= 0 {
		s.Limit = 100
	}
	var events []AuditEvent
	q := r.idb.NewSelect().Model(&events).Where("tenant_id = ?", s.TenantID)
	if s.ResourceID != "" {
		q = q.Where("resource_id = ?", s.ResourceID)
	}
	if s.ConnectorID != 0 {
		q = q.Where("connector_id = ?", s.ConnectorID)
	}
	if s.Source != "" {
		q = q.Where("source = ?", s.Source)
	}
	if !s.Since.IsZero() {
		q = q.Where("at >= ?", s.Since.UTC())
	}
	if !s.Until.IsZero() {
		q = q.Where("at < ?", s.Until.UTC())
	}
	if s.Before.ID != 0 {
		q = q.Where("(at, id) < (?, ?)", s.Before.At.UTC(), s.Before.ID)
	}
	err := q.OrderExpr("at DESC, id DESC").Limit(int64(s.Limit)).Scan(ctx)
	for i := range events {
		events[i].join()
	}
	return events, mapError(err)
}

// UserNames returns the userNames of the tenant's users with the SCIM ids,
// deleted users' too, by id; an id that names no user is left out. One
// query per thousand ids.
func (r reader) UserNames(ctx context.Context, tenantID int64, ids []string) (map[string]string, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !ValidID(id) })
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]string, len(ids))
	for part := range slices.Chunk(ids, chunk) {
		var rows []struct {
			ID       string `bun:"id"`
			UserName string `bun:"user_name"`
		}
		err := r.idb.NewSelect().TableExpr("users").Column("id", "user_name").
			Where("tenant_id = ? AND id IN (?)", tenantID, bun.List(part)).Scan(ctx, &rows)
		if err != nil {
			return nil, mapError(err)
		}
		for _, u := range rows {
			out[u.ID] = u.UserName
		}
	}
	return out, nil
}
