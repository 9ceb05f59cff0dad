package store_test

import (
	"context"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestMigrateWithOldData seeds a database as 0001 left it, then migrates it
// up to now and reads the rows back with today's code: the users a
// connector created keep belonging to it, emails match, and an inactive
// user is disabled.
func TestMigrateWithOldData(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.MigrateThrough(ctx, "0001"); err != nil {
			t.Fatal(err)
		}
		const (
			withExternalID = "11111111-1111-4111-8111-111111111111"
			createdOnly    = "22222222-2222-4222-8222-222222222222"
			byHand         = "33333333-3333-4333-8333-333333333333"
		)
		for _, stmt := range []string{
			`INSERT INTO tenants (name, created_at) VALUES ('acme', '2026-01-01 00:00:00+00')`,
			`INSERT INTO connectors (tenant_id, name, created_at) VALUES (1, 'okta', '2026-01-01 00:00:00+00')`,
			`INSERT INTO users (tenant_id, id, user_name, user_name_folded, active, attrs, version, created_at, updated_at) VALUES
				(1, '` + withExternalID + `', 'ann', 'ann', true, '{"userName":"ann","emails":[{"value":"Ann@Example.com"}]}', 1, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00'),
				(1, '` + createdOnly + `', 'bob', 'bob', false, '{"userName":"bob","active":false}', 1, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00'),
				(1, '` + byHand + `', 'cat', 'cat', true, '{"userName":"cat"}', 1, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')`,
			`INSERT INTO user_external_ids (connector_id, user_pk, value) VALUES (1, 1, '00u1')`,
			`INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail) VALUES
				(1, '2026-01-01 00:00:00+00', 'scim', 1, 'create', 'User', '` + createdOnly + `', '{}'),
				(1, '2026-01-01 00:00:00+00', 'admin', NULL, 'create', 'User', '` + byHand + `', '{}')`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("seed: %v\n%s", err, stmt)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			pk     int64
			linked bool
		}{{1, true}, {2, true}, {3, false}} {
			if linked, err := db.Linked(ctx, 1, c.pk); err != nil || linked != c.linked {
				t.Errorf("user %d linked to okta: %v (%v), want %v", c.pk, linked, err, c.linked)
			}
		}
		if us, err := db.UsersByEmail(ctx, 1, 1, "ann@example.COM", false); err != nil || len(us) != 1 || us[0].ID != withExternalID {
			t.Errorf("by email: %v %v", us, err)
		}
		for id, want := range map[string]string{withExternalID: store.StatusActive, createdOnly: store.StatusDisabled} {
			if u, err := db.User(ctx, 1, 1, id); err != nil || u.Status != want {
				t.Errorf("user %s: status %q (%v), want %q", id, u.Status, err, want)
			}
		}
	})
}
