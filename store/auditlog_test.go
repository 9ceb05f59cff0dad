package store_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestAuditLog pages through a tenant's audit log with every filter and
// checks each page against the events filtered in Go: newest first by
// time, events of one time (one transaction's) by id, across pages that
// cut through such ties, never another tenant's.
func TestAuditLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		okta, entra, other := newFixture(t, db, "acme", "okta"), newFixture(t, db, "acme", "entra"), newFixture(t, db, "globex", "okta")
		ann, bob := okta.addUser(t, "ann@example.com"), okta.addUser(t, "bob@example.com")
		for batch := range 6 {
			var evs []store.AuditEvent
			for i := range 5 { // one transaction's events share their time
				c, source, user := okta.connector.ID, "scim", ann.ID
				if (batch+i)%3 == 0 {
					c, source = entra.connector.ID, "csv"
				}
				if i%2 == 1 {
					user = bob.ID
				}
				evs = append(evs, store.AuditEvent{TenantID: okta.tenant.ID, Source: source, ConnectorID: c, Action: "update",
					ResourceType: "User", ResourceID: user, Detail: map[string]any{"before": map[string]any{"n": batch*10 + i}}})
			}
			if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				if err := tx.AppendAudits(ctx, evs); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: other.tenant.ID, Source: "scim", ConnectorID: other.connector.ID,
					Action: "update", ResourceType: "User", ResourceID: ann.ID, Detail: map[string]any{}})
			}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond) // the next batch's time is later
		}
		// The events as the log reads them back, for their ids and times:
		// written one after the other, oldest first by id as by time.
		all, err := db.Reader().AuditLog(ctx, store.AuditSearch{TenantID: okta.tenant.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 30 {
			t.Fatalf("%d events in the log, want 30", len(all))
		}
		slices.Reverse(all)
		if !slices.IsSortedFunc(all, func(a, b store.AuditEvent) int { return int(a.ID - b.ID) }) {
			t.Fatal("the log, reversed, is not in the order written")
		}
		if first := all[0].Detail["before"].(map[string]any)["n"]; first != float64(0) {
			t.Fatalf("the oldest event is %v, want the first written", first)
		}
		at := func(batch int) time.Time { return all[batch*5].At }
		for _, tt := range []struct {
			name string
			s    store.AuditSearch
			keep func(store.AuditEvent) bool
		}{
			{"every event", store.AuditSearch{}, func(store.AuditEvent) bool { return true }},
			{"a user's", store.AuditSearch{ResourceID: bob.ID}, func(e store.AuditEvent) bool { return e.ResourceID == bob.ID }},
			{"a connector's", store.AuditSearch{ConnectorID: entra.connector.ID}, func(e store.AuditEvent) bool { return e.ConnectorID == entra.connector.ID }},
			{"a source's", store.AuditSearch{Source: "scim"}, func(e store.AuditEvent) bool { return e.Source == "scim" }},
			{"since a time", store.AuditSearch{Since: at(2)}, func(e store.AuditEvent) bool { return !e.At.Before(at(2)) }},
			{"until a time", store.AuditSearch{Until: at(4)}, func(e store.AuditEvent) bool { return e.At.Before(at(4)) }},
			{"a user's by a connector in a time range", store.AuditSearch{ResourceID: ann.ID, ConnectorID: okta.connector.ID, Since: at(1), Until: at(5)},
				func(e store.AuditEvent) bool {
					return e.ResourceID == ann.ID && e.ConnectorID == okta.connector.ID && !e.At.Before(at(1)) && e.At.Before(at(5))
				}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var want []int64
				for _, e := range slices.Backward(all) {
					if tt.keep(e) {
						want = append(want, e.ID)
					}
				}
				if len(want) == 0 || len(want) == 30 && tt.name != "every event" {
					t.Fatalf("the case keeps %d events: it tests nothing", len(want))
				}
				var got []int64
				s := tt.s
				s.TenantID, s.Limit = okta.tenant.ID, 4 // pages cut through a transaction's events
				for range 40 {
					page, err := db.Reader().AuditLog(ctx, s)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range page {
						got = append(got, e.ID)
						if e.TenantID != okta.tenant.ID {
							t.Fatalf("event %d of tenant %d", e.ID, e.TenantID)
						}
					}
					if len(page) < s.Limit {
						break
					}
					s.Before = page[len(page)-1].Position()
				}
				if !slices.Equal(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			})
		}
		// The personal values are back in the detail, as AuditEvents gives them.
		if n := all[7].Detail["before"].(map[string]any)["n"]; n != float64(12) {
			t.Errorf("event 7's before: %v", all[7].Detail)
		}
		names, err := db.Reader().UserNames(ctx, okta.tenant.ID, []string{ann.ID, bob.ID, ann.ID, "not-an-id", "00000000-0000-4000-8000-000000000000"})
		if err != nil || len(names) != 2 || names[ann.ID] != "ann@example.com" || names[bob.ID] != "bob@example.com" {
			t.Errorf("UserNames: %v, %v", names, err)
		}
		if names, err := db.Reader().UserNames(ctx, other.tenant.ID, []string{ann.ID}); err != nil || len(names) != 0 {
			t.Errorf("UserNames of another tenant's user: %v, %v", names, err)
		}
	})
}

// seedAudit writes n events of a tenant in one statement: sources scim
// (half), csv and admin; four connectors; 100 resources; a second apart.
func seedAudit(t *testing.T, db *store.DB, tenantID int64, connectors []int64, n int) {
	t.Helper()
	c := fmt.Sprintf("CASE i %% 4 WHEN 0 THEN %d WHEN 1 THEN %d WHEN 2 THEN %d ELSE %d END", connectors[0], connectors[1], connectors[2], connectors[3])
	source := "CASE WHEN i % 2 = 0 THEN 'scim' WHEN i % 4 = 1 THEN 'csv' ELSE 'admin' END"
	var q string
	if db.Dialect() == store.Postgres {
		q = fmt.Sprintf(`INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail)
			SELECT %d, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second', %s, %s, 'update', 'User', 'r' || (i %% 100), '{}'
			FROM generate_series(0, %d) AS i`, tenantID, source, c, n-1)
	} else {
		q = "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < " + strconv.Itoa(n-1) + ") " +
			fmt.Sprintf(`INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail)
			SELECT %d, strftime('%%Y-%%m-%%d %%H:%%M:%%S+00:00', '2026-01-01', '+' || i || ' seconds'), %s, %s, 'update', 'User', 'r' || (i %% 100), '{}' FROM s`,
				tenantID, source, c)
	}
	if _, err := db.Exec(context.Background(), q); err != nil {
		t.Fatalf("seed audit events: %v", err)
	}
}

var (
	sqliteAuditIndex = regexp.MustCompile(`SEARCH audit_events? USING (?:COVERING )?INDEX (\S+) \(tenant_id=\?`)
	pgAuditIndex     = regexp.MustCompile(`Index Scan(?: Backward)? using (\S+) on audit_events`)
)

// TestAuditLogIndexed holds each filter of the audit log to its index by
// the plans the databases choose (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN
// QUERY PLAN on SQLite) over 30,000 events of two tenants: the page's
// rows are read in order from the index (no sort), and on PostgreSQL at
// most a page of them is read and discarded.
func TestAuditLogIndexed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		other, own := newFixture(t, db, "other", "okta"), newFixture(t, db, "own", "okta")
		var cs []int64
		for _, name := range []string{"okta", "entra", "csv", "admins"} {
			cs = append(cs, newFixture(t, db, "own", name).connector.ID)
		}
		seedAudit(t, db, other.tenant.ID, cs, 10000)
		seedAudit(t, db, own.tenant.ID, cs, 20000)
		analyze := "ANALYZE"
		if db.Dialect() == store.Postgres {
			analyze = "VACUUM ANALYZE audit_events"
		}
		if _, err := db.Exec(ctx, analyze); err != nil {
			t.Fatal(err)
		}
		mid := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC) // event 10,800
		last, err := db.Reader().AuditLog(ctx, store.AuditSearch{TenantID: own.tenant.ID, Until: mid, Limit: 1})
		if err != nil || len(last) != 1 {
			t.Fatalf("the event before %s: %v, %v", mid, last, err)
		}
		before := last[0].Position()
		statements := db.Statements()
		for _, tt := range []struct {
			name  string
			s     store.AuditSearch
			index string
		}{
			{"newest", store.AuditSearch{}, "audit_events_tenant_at_id"},
			{"next page", store.AuditSearch{Before: before}, "audit_events_tenant_at_id"},
			{"time range", store.AuditSearch{Since: mid.Add(-time.Hour), Until: mid}, "audit_events_tenant_at_id"},
			{"user", store.AuditSearch{ResourceID: "r7"}, "audit_events_resource_at"},
			{"user, next page", store.AuditSearch{ResourceID: "r7", Before: before}, "audit_events_resource_at"},
			{"connector", store.AuditSearch{ConnectorID: cs[1]}, "audit_events_connector_at"},
			{"connector, time range, next page", store.AuditSearch{ConnectorID: cs[1], Since: mid.Add(-time.Hour), Before: before}, "audit_events_connector_at"},
			{"source", store.AuditSearch{Source: "csv"}, "audit_events_source_at"},
			{"source, next page", store.AuditSearch{Source: "csv", Before: before}, "audit_events_source_at"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := tt.s
				s.TenantID, s.Limit = own.tenant.ID, 50
				statements()
				page, err := db.Reader().AuditLog(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) != 50 {
					t.Fatalf("%d events, want a full page", len(page))
				}
				sql := statements()
				if len(sql) != 1 {
					t.Fatalf("%d statements, want 1", len(sql))
				}
				plan, err := db.PlanOf(ctx, sql[0])
				if err != nil {
					t.Fatal(err)
				}
				checkAuditPlan(t, db, tt.index, s.Limit, plan)
				if t.Failed() {
					t.Logf("%s\n%s", sql[0], plan)
				}
			})
		}
	})
}

func checkAuditPlan(t *testing.T, db *store.DB, index string, limit int, plan string) {
	t.Helper()
	if db.Dialect() == store.SQLite {
		m := sqliteAuditIndex.FindStringSubmatch(plan)
		if m == nil || m[1] != index {
			t.Errorf("audit_events not searched through %s", index)
		}
		if strings.Contains(plan, "TEMP B-TREE") || regexp.MustCompile(`(?m)^SCAN audit_events?( |$)`).MatchString(plan) {
			t.Errorf("the page is sorted or scanned, not read in order from the index")
		}
		return
	}
	m := pgAuditIndex.FindStringSubmatch(plan)
	if m == nil || m[1] != index {
		t.Errorf("audit_events not read through %s", index)
	}
	if strings.Contains(plan, "Sort") || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Bitmap") {
		t.Errorf("the page is sorted or scanned, not read in order from the index")
	}
	for _, m := range rowsRemoved.FindAllStringSubmatch(plan, -1) {
		if n, _ := strconv.Atoi(m[1]); n > limit {
			t.Errorf("%s rows read and discarded, more than a page (%d)", m[1], limit)
		}
	}
}

// TestAuditLogScale (SCIMD_AUDIT_SCALE=N, skipped otherwise) times pages
// of the audit log over a tenant of N events, on both databases: the
// newest page, a page deep in the past by keyset, and each filter.
func TestAuditLogScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCIMD_AUDIT_SCALE"))
	if n <= 0 {
		t.Skip("SCIMD_AUDIT_SCALE=N times the audit log over N events")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "big", "okta")
		var cs []int64
		for _, name := range []string{"okta", "entra", "csv", "admins"} {
			cs = append(cs, newFixture(t, db, "big", name).connector.ID)
		}
		start := time.Now()
		seedAudit(t, db, f.tenant.ID, cs, n)
		analyze := "ANALYZE"
		if db.Dialect() == store.Postgres {
			analyze = "VACUUM ANALYZE audit_events"
		}
		if _, err := db.Exec(ctx, analyze); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d events written in %v", n, time.Since(start).Round(time.Millisecond))
		deep, err := db.Reader().AuditLog(ctx, store.AuditSearch{TenantID: f.tenant.ID, Until: time.Date(2026, 1, 1, 0, 0, n/10, 0, time.UTC), Limit: 1})
		if err != nil || len(deep) != 1 {
			t.Fatalf("the deep position: %v %v", deep, err)
		}
		for _, tt := range []struct {
			name string
			s    store.AuditSearch
		}{
			{"newest page", store.AuditSearch{}},
			{"a page 90% back (keyset)", store.AuditSearch{Before: deep[0].Position()}},
			{"a user's", store.AuditSearch{ResourceID: "r7"}},
			{"a connector's, 90% back", store.AuditSearch{ConnectorID: cs[1], Before: deep[0].Position()}},
			{"a source's", store.AuditSearch{Source: "csv"}},
			{"an hour, 90% back", store.AuditSearch{Since: deep[0].At.Add(-time.Hour), Until: deep[0].At}},
		} {
			s := tt.s
			s.TenantID, s.Limit = f.tenant.ID, 51
			var best time.Duration
			for i := range 5 {
				t0 := time.Now()
				page, err := db.Reader().AuditLog(ctx, s)
				d := time.Since(t0)
				if err != nil || len(page) != 51 {
					t.Fatalf("%s: %d events, %v", tt.name, len(page), err)
				}
				if i == 0 || d < best {
					best = d
				}
			}
			t.Logf("%s: %v (best of 5)", tt.name, best.Round(10*time.Microsecond))
		}
	})
}
