package store_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// seedRows writes n users (or groups) of a tenant in one statement,
// named prefix0…, as a bulk load would: enough rows for the planner to
// weigh, in seconds.
func seedRows(t *testing.T, db *store.DB, table string, tenantID int64, prefix string, n int) {
	t.Helper()
	var q string
	switch {
	case db.Dialect() == store.Postgres && table == "users":
		q = fmt.Sprintf(`INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
			active, attrs, version, created_at, updated_at)
			SELECT %d, gen_random_uuid(), n, n, n, n, true, jsonb_build_object('userName', n), 1, now(), now()
			FROM (SELECT '%s' || i AS n FROM generate_series(0, %d) AS i) AS s`, tenantID, prefix, n-1)
	case db.Dialect() == store.Postgres:
		q = fmt.Sprintf(`INSERT INTO groups (tenant_id, id, display_name, display_name_folded, attrs, version, created_at, updated_at)
			SELECT %d, gen_random_uuid(), n, n, jsonb_build_object('displayName', n), 1, now(), now()
			FROM (SELECT '%s' || i AS n FROM generate_series(0, %d) AS i) AS s`, tenantID, prefix, n-1)
	default:
		uuid := `lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) ||
			'-a' || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))`
		at := "'2026-12-03 12:00:00+00:00'"
		rows := "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < " + strconv.Itoa(n-1) + ") "
		name := "'" + prefix + "' || i"
		if table == "users" {
			q = "INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded, active, attrs, version, created_at, updated_at) " +
				rows + fmt.Sprintf("SELECT %d, %s, %s, %s, %s, %s, 1, json_object('userName', %s), 1, %s, %s FROM s", tenantID, uuid, name, name, name, name, name, at, at)
		} else {
			q = "INSERT INTO groups (tenant_id, id, display_name, display_name_folded, attrs, version, created_at, updated_at) " +
				rows + fmt.Sprintf("SELECT %d, %s, %s, %s, json_object('displayName', %s), 1, %s, %s FROM s", tenantID, uuid, name, name, name, at, at)
		}
	}
	if _, err := db.Exec(context.Background(), q); err != nil {
		t.Fatalf("seed %s of %s: %v", table, prefix, err)
	}
}

var (
	rowsRemoved = regexp.MustCompile(`Rows Removed by Filter: (\d+)`)
	// A scan of the page's own table on PostgreSQL: the index it reads.
	pgScan = regexp.MustCompile(`(?:Index|Index Only|Bitmap Index) Scan(?: Backward)? using (\S+) on (users|groups) |Seq Scan on (users|groups) `)
)

// TestPageOwnIndex holds every page statement to the tenant's own index
// when another tenant's rows come first in key order, by the plans the
// databases choose (EXPLAIN ANALYZE: the rows read and discarded). Before
// tenantIs, PostgreSQL read the first page of a big tenant from the
// primary key and filtered out every row of the tenants created before it
// (here 30,000: "Rows Removed by Filter: 30000"). SQLite is held to the
// same: no page statement scans the table instead of searching the
// tenant's rows.
func TestPageOwnIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		other, own := newFixture(t, db, "other", "okta"), newFixture(t, db, "own", "okta")
		// The other tenant's rows first, then twice as many of the
		// tenant paged: PostgreSQL, expecting own's rows spread evenly
		// over the key, then finds reading the primary key cheapest.
		seedRows(t, db, "users", other.tenant.ID, "other", 30000)
		seedRows(t, db, "users", own.tenant.ID, "own", 60000)
		seedRows(t, db, "groups", other.tenant.ID, "other", 30000)
		seedRows(t, db, "groups", own.tenant.ID, "own", 60000)
		analyze := "ANALYZE"
		if db.Dialect() == store.Postgres {
			analyze = "VACUUM ANALYZE users, groups"
		}
		if _, err := db.Exec(ctx, analyze); err != nil {
			t.Fatal(err)
		}
		q := store.Query{TenantID: own.tenant.ID, ConnectorID: own.connector.ID, Count: 100}
		first, err := db.Users(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Items) != 100 || first.Items[0].UserName != "own0" {
			t.Fatalf("first page: %d users from %v", len(first.Items), first.Items[0].UserName)
		}
		mid := first.Items[50].PK
		sw, err := filter.ParseFilter([]byte(`userName sw "own1"`))
		if err != nil {
			t.Fatal(err)
		}
		with := func(change func(*store.Query)) store.Query {
			q := q
			change(&q)
			return q
		}
		users := func(q store.Query) func() error {
			return func() error { _, err := db.Users(ctx, q); return err }
		}
		groups := func(q store.Query) func() error {
			return func() error { _, err := db.Groups(ctx, q); return err }
		}
		statements := db.Statements()
		for _, tt := range []struct {
			name, table string
			run         func() error
			// ownIndex: the plan must read a (tenant_id, pk) index;
			// other pages must only avoid the other tenant's rows.
			ownIndex bool
		}{
			{"first page", "users", users(q), true},
			{"first page, stored JSON", "users", users(with(func(q *store.Query) { q.RawAttrs = true })), true},
			{"first page with groups", "users", users(with(func(q *store.Query) { q.Groups = true })), true},
			{"hinted walk page", "users", users(with(func(q *store.Query) { q.StartIndex = 101 })), true},
			{"startIndex without hint", "users", users(with(func(q *store.Query) { q.StartIndex = 30001 })), true},
			{"cursor after", "users", users(with(func(q *store.Query) { q.After = store.Position(mid) })), true},
			{"cursor before", "users", users(with(func(q *store.Query) { q.Before = store.Position(mid) })), true},
			{"filtered page", "users", users(with(func(q *store.Query) { q.Filter = sw })), false},
			{"sorted page", "users", users(with(func(q *store.Query) { q.SortBy = "meta.lastModified" })), false},
			{"groups first page", "groups", groups(q), true},
			{"groups cursor after", "groups", groups(with(func(q *store.Query) { q.After = store.Position(mid) })), false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				statements()
				if tt.name == "hinted walk page" {
					if _, err := db.Users(ctx, q); err != nil { // leaves the hint for startIndex 101
						t.Fatal(err)
					}
					statements()
				}
				if err := tt.run(); err != nil {
					t.Fatal(err)
				}
				var pages []string
				for _, s := range statements() {
					if strings.Contains(s, "LIMIT") {
						pages = append(pages, s)
					}
				}
				if len(pages) != 1 {
					t.Fatalf("want one page statement, got %q", pages)
				}
				plan, err := db.PlanOf(ctx, pages[0])
				if err != nil {
					t.Fatal(err)
				}
				checkOwnRows(t, db, tt.table, tt.ownIndex, q.Count, plan)
				if t.Failed() {
					t.Logf("%s\n%s", pages[0], plan)
				}
			})
		}
	})
}

// checkOwnRows fails unless plan reads table's rows only through an index
// on the tenant (its (tenant_id, pk) index if ownIndex), discarding at
// most a page of them.
func checkOwnRows(t *testing.T, db *store.DB, table string, ownIndex bool, count int, plan string) {
	t.Helper()
	if db.Dialect() == store.SQLite {
		// SEARCH u USING INDEX users_tenant_pk (tenant_id=? AND …)
		alias := table[:1]
		for _, line := range strings.Split(plan, "\n") {
			if line == "SCAN "+alias || strings.HasPrefix(line, "SCAN "+alias+" ") {
				t.Errorf("%s scanned: %s", table, line)
			}
			if strings.HasPrefix(line, "SEARCH "+alias+" ") && !strings.Contains(line, "(tenant_id=?") {
				t.Errorf("%s searched without the tenant: %s", table, line)
			}
		}
		if ownIndex && !regexp.MustCompile(`SEARCH `+alias+` USING (COVERING )?INDEX `+table+`_tenant_(pk|live) \(tenant_id=\?`).MatchString(plan) {
			t.Errorf("%s not read through %s_tenant_pk or _tenant_live", table, table)
		}
		return
	}
	for _, m := range rowsRemoved.FindAllStringSubmatch(plan, -1) {
		if n, _ := strconv.Atoi(m[1]); n > count {
			t.Errorf("%s rows read and discarded, more than a page (%d)", m[1], count)
		}
	}
	var used []string
	for _, m := range pgScan.FindAllStringSubmatch(plan, -1) {
		if m[3] != "" {
			t.Errorf("%s read sequentially", m[3])
			continue
		}
		if m[2] == table {
			used = append(used, m[1])
		}
	}
	if len(used) == 0 {
		t.Errorf("no index scan of %s", table)
	}
	for _, index := range used {
		if !strings.HasPrefix(index, table+"_tenant_") && !strings.HasSuffix(index, "_trgm") {
			t.Errorf("%s read through %s, not an index on the tenant", table, index)
		}
	}
	// The (tenant_id, pk) index, or for users that of the live ones
	// (migration 0023).
	if ownIndex && !slices.Contains(used, table+"_tenant_pk") && !slices.Contains(used, table+"_tenant_live") {
		t.Errorf("%s not read through %s_tenant_pk or _tenant_live (used %v)", table, table, used)
	}
}

// TestPagesAcrossTenants pages through each of three tenants whose users
// and groups were created interleaved, in runs of different lengths, by
// every way a client pages (first page, a startIndex walk with and without
// hints, cursors forward and backward, sortBy, a filter), and checks each
// tenant sees exactly its own rows, in order, with the right totals.
func TestPagesAcrossTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fs := []fixture{newFixture(t, db, "acme", "okta"), newFixture(t, db, "globex", "okta"), newFixture(t, db, "initech", "entra")}
		runs := []int{7, 2, 13} // each tenant's users per turn
		users := make([][]string, len(fs))
		for turn := range 12 {
			var batch []store.User
			for i, f := range fs {
				for range runs[(i+turn)%len(runs)] {
					name := fmt.Sprintf("%s%03d", f.tenant.Name, len(users[i]))
					users[i] = append(users[i], name)
					batch = append(batch, store.User{TenantID: f.tenant.ID, UserName: name, Active: true, Attrs: map[string]any{"userName": name}})
				}
			}
			if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, batch) }); err != nil {
				t.Fatal(err)
			}
			for i, f := range fs {
				if turn%(i+1) == 0 {
					f.addGroup(t, fmt.Sprintf("%s group %02d", f.tenant.Name, turn))
				}
			}
		}
		names := func(us []store.User) []string {
			var out []string
			for _, u := range us {
				out = append(out, u.UserName)
			}
			return out
		}
		for i, f := range fs {
			want := users[i]
			q := store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, Count: 10}
			page := func(q store.Query) store.Page[store.User] {
				t.Helper()
				p, err := db.Users(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if p.Total != len(want) && q.Filter == nil {
					t.Errorf("%s: total %d, want %d", f.tenant.Name, p.Total, len(want))
				}
				return p
			}
			// A startIndex walk: hinted after the first page.
			var walked []string
			for start := 1; start <= len(want); start += q.Count {
				q := q
				q.StartIndex = start
				walked = append(walked, names(page(q).Items)...)
			}
			if !slices.Equal(walked, want) {
				t.Errorf("%s: index walk %v, want %v", f.tenant.Name, walked, want)
			}
			// Pages asked cold, without a hint (a count no walk used).
			for _, start := range []int{2, 17, len(want) - 3} {
				q := q
				q.StartIndex, q.Count = start, 9
				if got, w := names(page(q).Items), want[start-1:min(start-1+9, len(want))]; !slices.Equal(got, w) {
					t.Errorf("%s: startIndex %d: %v, want %v", f.tenant.Name, start, got, w)
				}
			}
			// Cursors forward, then back from the end.
			var forward []string
			var p store.Page[store.User]
			for p = page(q); ; {
				forward = append(forward, names(p.Items)...)
				if !p.HasNext {
					break
				}
				q := q
				q.After = p.Last
				p = page(q)
			}
			if !slices.Equal(forward, want) {
				t.Errorf("%s: cursor walk %v, want %v", f.tenant.Name, forward, want)
			}
			var backward []string
			for {
				backward = append(names(p.Items), backward...)
				if !p.HasPrev {
					break
				}
				q := q
				q.Before = p.First
				p = page(q)
			}
			if !slices.Equal(backward, want) {
				t.Errorf("%s: cursor walk back %v, want %v", f.tenant.Name, backward, want)
			}
			// Sorted, descending.
			desc := slices.Clone(want)
			slices.Reverse(desc)
			sorted := q
			sorted.SortBy, sorted.Descending, sorted.Count = "userName", true, 1000
			if got := names(page(sorted).Items); !slices.Equal(got, desc) {
				t.Errorf("%s: sorted %v, want %v", f.tenant.Name, got, desc)
			}
			// Filtered: the names ending in 1, as the page after each.
			expr, err := filter.ParseFilter([]byte(`userName ew "1"`))
			if err != nil {
				t.Fatal(err)
			}
			var ones []string
			for _, n := range want {
				if strings.HasSuffix(n, "1") {
					ones = append(ones, n)
				}
			}
			filtered := q
			filtered.Filter, filtered.Count = expr, 3
			var got []string
			for start := 1; start <= len(ones); start += 3 {
				filtered.StartIndex = start
				p := page(filtered)
				if p.Total != len(ones) {
					t.Errorf("%s: filtered total %d, want %d", f.tenant.Name, p.Total, len(ones))
				}
				got = append(got, names(p.Items)...)
			}
			if !slices.Equal(got, ones) {
				t.Errorf("%s: filtered %v, want %v", f.tenant.Name, got, ones)
			}
			// Groups: the tenant's own, in creation order, by cursor.
			var wantGroups, gotGroups []string
			for turn := range 12 {
				if turn%(i+1) == 0 {
					wantGroups = append(wantGroups, fmt.Sprintf("%s group %02d", f.tenant.Name, turn))
				}
			}
			gq := store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, Count: 2}
			for {
				gp, err := db.Groups(ctx, gq)
				if err != nil {
					t.Fatal(err)
				}
				if gp.Total != len(wantGroups) {
					t.Errorf("%s: %d groups, want %d", f.tenant.Name, gp.Total, len(wantGroups))
				}
				for _, g := range gp.Items {
					gotGroups = append(gotGroups, g.DisplayName)
				}
				if !gp.HasNext {
					break
				}
				gq.After = gp.Last
			}
			if !slices.Equal(gotGroups, wantGroups) {
				t.Errorf("%s: groups %v, want %v", f.tenant.Name, gotGroups, wantGroups)
			}
		}
	})
}
