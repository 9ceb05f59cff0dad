package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

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
		db := databaseOf(t, dsn, "0001")
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

// TestMigrateDuplicateGroupNames seeds groups as 0004 allowed them, one
// displayName taken twice in different cases, and migrates: the group a
// connector pushed keeps the name, the other is renamed with its id as a
// suffix and an audit event saying so, nothing else is lost, and from then
// on the name is unique.
func TestMigrateDuplicateGroupNames(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := databaseOf(t, dsn, "0004")
		const (
			byRule  = "11111111-1111-4111-8111-111111111111" // Engineering, created on demand first
			pushed  = "22222222-2222-4222-8222-222222222222" // engineering, then Okta's Group Push
			finance = "33333333-3333-4333-8333-333333333333" // Finance and FINANCE, both by hand
			FINANCE = "44444444-4444-4444-8444-444444444444"
			sales   = "55555555-5555-4555-8555-555555555555" // Entra's, by external ID
			ann     = "66666666-6666-4666-8666-666666666666"
			t0      = "'2026-01-01 00:00:00+00'"
		)
		group := func(id, name string) string {
			return `(1, '` + id + `', '` + name + `', '` + store.Fold(name) + `', '{"displayName":"` + name + `"}', 1, ` + t0 + `, ` + t0 + `)`
		}
		for _, stmt := range []string{
			`INSERT INTO tenants (name, created_at) VALUES ('acme', ` + t0 + `)`,
			`INSERT INTO connectors (tenant_id, name, created_at) VALUES (1, 'okta', ` + t0 + `), (1, 'entra', ` + t0 + `)`,
			`INSERT INTO groups (tenant_id, id, display_name, display_name_folded, attrs, version, created_at, updated_at) VALUES ` +
				group(byRule, "Engineering") + `, ` + group(pushed, "engineering") + `, ` +
				group(finance, "Finance") + `, ` + group(FINANCE, "FINANCE") + `, ` + group(sales, "Sales"),
			`INSERT INTO group_external_ids (connector_id, group_pk, value) VALUES (2, 5, 'entra-sales')`,
			`INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail) VALUES
				(1, ` + t0 + `, 'scim', 1, 'create', 'Group', '` + pushed + `', '{}')`,
			`INSERT INTO users (tenant_id, id, user_name, user_name_folded, active, attrs, version, created_at, updated_at) VALUES
				(1, '` + ann + `', 'ann', 'ann', true, '{"userName":"ann"}', 1, ` + t0 + `, ` + t0 + `)`,
			`INSERT INTO user_grants (user_pk, kind, target_pk, source, connector_id, rule, granted_at) VALUES (1, 'group', 1, 'scim', 1, 'engineering', ` + t0 + `)`,
			`INSERT INTO group_users (group_pk, user_pk, direct) VALUES (1, 1, false), (2, 1, true)`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("seed: %v\n%s", err, stmt)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			id, name  string
			version   int64
			managedBy int64
		}{
			{byRule, "Engineering (" + byRule + ")", 2, 0},
			{pushed, "engineering", 1, 1},
			{finance, "Finance", 1, 0},
			{FINANCE, "FINANCE (" + FINANCE + ")", 2, 0},
			{sales, "Sales", 1, 2},
		} {
			g, err := db.Group(ctx, 1, 0, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if g.DisplayName != c.name || g.Attrs["displayName"] != c.name || g.Version != c.version || g.ManagedBy != c.managedBy {
				t.Errorf("group %s: %q (attrs %q), version %d, managed by %d; want %q, version %d, managed by %d",
					c.id, g.DisplayName, g.Attrs["displayName"], g.Version, g.ManagedBy, c.name, c.version, c.managedBy)
			}
			events, err := db.AuditEvents(ctx, 1, c.id)
			if err != nil {
				t.Fatal(err)
			}
			renamed := slices.ContainsFunc(events, func(e store.AuditEvent) bool { return e.Action == "rename" && e.Source == "migration" })
			if renamed != (c.version == 2) {
				t.Errorf("group %s: audit events %+v, want a rename by the migration: %v", c.id, events, c.version == 2)
			}
		}
		if g, err := db.GroupNamed(ctx, 1, "ENGINEERING"); err != nil || g.ID != pushed {
			t.Errorf("Engineering names %s (%v), want the pushed group %s", g.ID, err, pushed)
		}
		grants, err := db.UserGrants(ctx, 1)
		if err != nil || len(grants) != 1 || grants[0].Target != "Engineering ("+byRule+")" {
			t.Errorf("ann's grants %+v (%v): want the renamed group's, kept", grants, err)
		}
		if groups, err := db.UserGroups(ctx, []int64{1}); err != nil || len(groups[1]) != 2 {
			t.Errorf("ann's groups %+v (%v), want both kept", groups, err)
		}
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.InsertGroup(ctx, &store.Group{TenantID: 1, DisplayName: "SALES", Attrs: map[string]any{}})
		})
		if ce := (*store.ConflictError)(nil); !errors.As(err, &ce) || ce.Attribute != "displayName" {
			t.Errorf("a second Sales: %v, want a displayName conflict", err)
		}
	})
}

// TestMigrateAuditEvents seeds audit events as they were written before
// 0007, values inside detail, then migrates: they read back as they were,
// their values now in the part an erase removes, and they are append-only.
func TestMigrateAuditEvents(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := databaseOf(t, dsn, "0006~") // every migration before 0007
		created := `{"before":null,"after":{"userName":"ann","title":"Nurse"},"match":{"by":"email","value":"ann@example.com","userId":"u-1","linked":false},"fired":["radiology"]}`
		replaced := `{"before":{"userName":"ann","title":"Nurse"},"after":{"userName":"ann","title":"Surgeon"},"changes":[{"attribute":"status","before":"active","after":"disabled","rule":"leavers"}]}`
		group := `{"members":3}`
		for _, stmt := range []string{
			`INSERT INTO tenants (name, created_at) VALUES ('acme', '2026-01-01 00:00:00+00')`,
			`INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail) VALUES
				(1, '2026-01-01 00:00:00+00', 'scim', NULL, 'create', 'User', 'u-1', '` + created + `'),
				(1, '2026-01-02 00:00:00+00', 'scim', NULL, 'replace', 'User', 'u-1', '` + replaced + `'),
				(1, '2026-01-02 00:00:00+00', 'scim', NULL, 'create', 'Group', 'g-1', '` + group + `')`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("seed: %v\n%s", err, stmt)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}

		events, err := db.AuditEvents(ctx, 1, "u-1")
		if err != nil || len(events) != 2 {
			t.Fatalf("events: %v %v", events, err)
		}
		for i, seeded := range []string{created, replaced} {
			var want map[string]any
			json.Unmarshal([]byte(seeded), &want)
			delete(want, "before") // null: unassigned, as the writer leaves it now
			if i == 1 {
				want["before"] = map[string]any{"userName": "ann", "title": "Nurse"}
			}
			if !reflect.DeepEqual(events[i].Detail, want) {
				t.Errorf("event %d after the migration:\n%#v\nwant %#v", i+1, events[i].Detail, want)
			}
		}
		if g, _ := db.AuditEvents(ctx, 1, "g-1"); len(g) != 1 || !reflect.DeepEqual(g[0].Detail, map[string]any{"members": float64(3)}) {
			t.Errorf("group event: %#v", g)
		}

		raw, err := db.QueryString(ctx, "SELECT detail FROM audit_events WHERE id = 2")
		if err != nil {
			t.Fatal(err)
		}
		var kept map[string]any
		json.Unmarshal([]byte(raw), &kept)
		if want := map[string]any{"changed": []any{"status", "title"}}; !reflect.DeepEqual(kept, want) {
			t.Errorf("event 2's detail after the migration: %s, want %v", raw, want)
		}
		raw, _ = db.QueryString(ctx, "SELECT detail FROM audit_events WHERE id = 1")
		json.Unmarshal([]byte(raw), &kept)
		if want := map[string]any{"changed": []any{"title", "userName"}, "fired": []any{"radiology"},
			"match": map[string]any{"by": "email", "userId": "u-1", "linked": false}}; !reflect.DeepEqual(kept, want) {
			t.Errorf("event 1's detail after the migration: %s, want %v", raw, want)
		}
		if _, err := db.Exec(ctx, "DELETE FROM audit_events WHERE id = 1"); err == nil {
			t.Error("DELETE of a migrated event: accepted")
		}
	})
}

// databaseOf opens dsn with the migrations through version applied, as a
// database of that age would have them, and closes it when the test ends.
func databaseOf(t *testing.T, dsn, version string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateThrough(ctx, version); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestMigrateLocalUsers seeds a user as 0016 left them, then migrates
// (0017): they read back not local, and SetUserLocal marks them.
func TestMigrateLocalUsers(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := databaseOf(t, dsn, "0016")
		for _, stmt := range []string{
			`INSERT INTO tenants (name, created_at) VALUES ('acme', '2026-01-01 00:00:00+00')`,
			`INSERT INTO users (tenant_id, id, user_name, user_name_folded, active, status, attrs, version, created_at, updated_at)
				VALUES (1, '6f1c2b9e-3d4a-4c1e-9a7b-2f0e8d5c1a34', 'Ann', 'ann', true, 'active', '{"userName":"Ann"}', 3, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("seed: %v\n%s", err, stmt)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		u, err := db.User(ctx, 1, 0, "6f1c2b9e-3d4a-4c1e-9a7b-2f0e8d5c1a34")
		if err != nil || u.Local || u.UserName != "Ann" || u.Version != 3 {
			t.Fatalf("migrated user: %+v %v, want Ann, not local, version 3", u, err)
		}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.SetUserLocal(ctx, u.PK, true) }); err != nil {
			t.Fatal(err)
		}
		if u, err = db.User(ctx, 1, 0, "6f1c2b9e-3d4a-4c1e-9a7b-2f0e8d5c1a34"); err != nil || !u.Local || u.Version != 4 {
			t.Fatalf("after SetUserLocal: %+v %v, want local, version 4", u, err)
		}
	})
}

// TestMigrationLock: on PostgreSQL a Migrate waits while another process
// holds the migration lock, until its context ends, and goes ahead once
// the holder releases it or its connection ends (a process killed
// mid-migration leaves no lock behind).
func TestMigrationLock(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	holder := storetest.Open(t, dsn)
	waiter := storetest.Open(t, dsn)
	unlock, err := holder.MigrationLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := waiter.Migrate(short); err == nil || !strings.Contains(err.Error(), "another scimd's migration lock") {
		t.Fatalf("Migrate while the lock is held: %v, want a wait that ends with its context", err)
	}
	unlock()
	if err := waiter.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after the release: %v", err)
	}

	if _, err := holder.MigrationLock(ctx); err != nil {
		t.Fatal(err)
	}
	// The holder's connection ends, as a killed process's would.
	if n, err := waiter.QueryString(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil || n != "1" {
		t.Fatalf("ending the holder's connection: %q %v", n, err)
	}
	done, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := waiter.Migrate(done); err != nil {
		t.Fatalf("Migrate after the holder's connection ended: %v", err)
	}
}

// TestPoolMaxConns: a PostgreSQL URL's pool_max_conns bounds the store's
// connections (replicas × it must fit the server's max_connections) and
// does not reach the server, which would refuse it as a setting; the
// store still migrates with 2, the least it accepts.
func TestPoolMaxConns(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	if db := storetest.Open(t, dsn); db.MaxOpenConns() != 32 {
		t.Errorf("default pool: %d connections, want 32", db.MaxOpenConns())
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db := storetest.Open(t, storetest.PostgresDSN(t)+sep+"pool_max_conns=2") // a fresh database, migrated on 2
	if db.MaxOpenConns() != 2 {
		t.Errorf("pool_max_conns=2: %d connections", db.MaxOpenConns())
	}
	for _, bad := range []string{"1", "many"} {
		if _, err := store.Open(ctx, dsn+sep+"pool_max_conns="+bad); err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
			t.Errorf("pool_max_conns=%s: %v, want refused", bad, err)
		}
	}
}
