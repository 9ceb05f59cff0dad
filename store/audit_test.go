package store_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestAuditAppendOnly: the database refuses every update and delete of an
// audit event, whoever sends it, except erase's one change (the personal
// values dropped); and an event reads back as written until then.
func TestAuditAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		tenant, connector := f.tenant, f.connector
		detail := map[string]any{
			"before": map[string]any{"userName": "ann", "title": "Nurse"},
			"after":  map[string]any{"userName": "ann", "title": "Surgeon"},
			"fired":  []any{"radiology"},
			"match":  map[string]any{"by": "email", "value": "ann@example.com", "userId": "u-1", "linked": true},
		}
		e := &store.AuditEvent{TenantID: tenant.ID, Source: "scim", ConnectorID: connector.ID, Action: "replace",
			ResourceType: "User", ResourceID: "u-1", Detail: detail}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, e) }); err != nil {
			t.Fatal(err)
		}
		events, err := db.AuditEvents(ctx, tenant.ID, "u-1")
		if err != nil || len(events) != 1 || !reflect.DeepEqual(events[0].Detail, detail) {
			t.Fatalf("read back: %v %#v, want %#v", err, events, detail)
		}

		id := e.ID
		for _, stmt := range []string{
			"UPDATE audit_events SET action = 'create' WHERE id = ?",
			"UPDATE audit_events SET detail = '{}' WHERE id = ?",
			"UPDATE audit_events SET personal = '{}' WHERE id = ?",
			"UPDATE audit_events SET personal = NULL, resource_id = 'u-2' WHERE id = ?",
			"DELETE FROM audit_events WHERE id = ?",
		} {
			stmt = strings.ReplaceAll(stmt, "?", itoa(id))
			if _, err := db.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want refused as append-only", stmt, err)
			}
		}
		if db.Dialect() == store.Postgres {
			if _, err := db.Exec(ctx, "TRUNCATE audit_events"); err == nil {
				t.Error("TRUNCATE audit_events: accepted")
			}
		}

		var n int
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			n, err = tx.EraseAudit(ctx, tenant.ID, "u-1")
			return err
		})
		if err != nil || n != 1 {
			t.Fatalf("erase: %d, %v", n, err)
		}
		raw, err := db.QueryString(ctx, "SELECT detail FROM audit_events WHERE id = "+itoa(id))
		if err != nil {
			t.Fatal(err)
		}
		for _, value := range []string{"Nurse", "Surgeon", "ann@example.com", `"ann"`} {
			if strings.Contains(raw, value) {
				t.Errorf("erased event still holds %s: %s", value, raw)
			}
		}
		events, _ = db.AuditEvents(ctx, tenant.ID, "u-1")
		want := map[string]any{
			"fired":   []any{"radiology"},
			"changed": []any{"title"},
			"match":   map[string]any{"by": "email", "userId": "u-1", "linked": true},
		}
		if len(events) != 1 || !reflect.DeepEqual(events[0].Detail, want) || events[0].Action != "replace" {
			t.Errorf("erased event: %#v, want detail %#v", events, want)
		}
		// Erased once, it cannot change again.
		if _, err := db.Exec(ctx, "UPDATE audit_events SET personal = NULL WHERE id = "+itoa(id)); err == nil {
			t.Error("a second erase of the same event: accepted")
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
