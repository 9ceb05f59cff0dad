package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestTotals checks totalResults from the maintained counts (migration
// 0005) against the rows: after single and bulk creates, deletes, in two
// tenants, for users and groups.
func TestTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := newFixture(t, db, "acme", "okta"), newFixture(t, db, "globex", "okta")
		total := func(f fixture, groups bool) int {
			t.Helper()
			q := store.Query{TenantID: f.tenant.ID, Count: 0}
			var n int
			var err error
			if groups {
				var p store.Page[store.Group]
				p, err = db.Groups(ctx, q)
				n = p.Total
			} else {
				var p store.Page[store.User]
				p, err = db.Users(ctx, q)
				n = p.Total
			}
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		var users []store.User
		for i := range 40 {
			users = append(users, store.User{TenantID: a.tenant.ID, UserName: fmt.Sprintf("bulk%d", i), Attrs: map[string]any{}})
		}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, users) }); err != nil {
			t.Fatal(err)
		}
		one := a.addUser(t, "one")
		b.addUser(t, "other")
		g := a.addGroup(t, "Staff")
		if got := total(a, false); got != 41 {
			t.Errorf("acme users = %d, want 41", got)
		}
		if got := total(b, false); got != 1 {
			t.Errorf("globex users = %d, want 1", got)
		}
		if got := total(a, true); got != 1 {
			t.Errorf("acme groups = %d, want 1", got)
		}
		// A rolled-back create leaves the count alone.
		db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			u := store.User{TenantID: a.tenant.ID, UserName: "rolled back", Attrs: map[string]any{}}
			if err := tx.InsertUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			return fmt.Errorf("roll back")
		})
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.DeleteUser(ctx, one.PK); err != nil {
				return err
			}
			for _, u := range users[:10] {
				if err := tx.DeleteUser(ctx, u.PK); err != nil {
					return err
				}
			}
			return tx.DeleteGroup(ctx, g.PK)
		}); err != nil {
			t.Fatal(err)
		}
		if got := total(a, false); got != 30 {
			t.Errorf("acme users after deletes = %d, want 30", got)
		}
		if got := total(a, true); got != 0 {
			t.Errorf("acme groups after delete = %d, want 0", got)
		}
		page, err := db.Users(ctx, store.Query{TenantID: a.tenant.ID, StartIndex: 1, Count: 7})
		if err != nil || page.Total != 30 || len(page.Items) != 7 {
			t.Errorf("first page: total %d, %d items, err %v; want 30, 7", page.Total, len(page.Items), err)
		}
	})
}

// TestLookupIsOneStatement: a filter whose matches fit on the page costs
// one statement, the page itself; totalResults is the page's length.
func TestLookupIsOneStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		for i := range 5 {
			f.addUser(t, fmt.Sprintf("user%d@example.com", i))
		}
		statements := db.Statements()
		for _, tt := range []struct {
			filter     string
			start      int
			total, max int // max statements
		}{
			{`userName eq "USER3@example.com"`, 1, 1, 1},
			{`userName eq "nobody"`, 1, 0, 1},
			{`userName sw "user"`, 1, 5, 1},
			{`userName sw "user"`, 3, 5, 2}, // a deep page counts first
			{`userName sw "user"`, 9, 5, 2},
		} {
			expr, err := filter.ParseFilterNumber([]byte(tt.filter))
			if err != nil {
				t.Fatal(err)
			}
			statements()
			page, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, Filter: expr, StartIndex: tt.start, Count: 100})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(statements()); page.Total != tt.total || n < 1 || n > tt.max {
				t.Errorf("%s from %d: total %d in %d statements, want %d in at most %d", tt.filter, tt.start, page.Total, n, tt.total, tt.max)
			}
		}
	})
}

// TestIndexWalk walks users by startIndex as Okta does and checks that it
// sees every user once, in order; that once a page has been served, the
// next one seeks by key (no OFFSET: its cost does not grow with depth) in
// two statements, the count and the page; and that rows deleted before the
// walk's position make it fall back to index paging, which stays correct.
func TestIndexWalk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		var all []store.User
		for i := range 95 {
			all = append(all, f.addUser(t, fmt.Sprintf("u%03d", i)))
		}
		walk := func(count int) []string {
			var got []string
			for start := 1; ; start += count {
				page, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, StartIndex: start, Count: count})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range page.Items {
					got = append(got, u.UserName)
				}
				if len(page.Items) < count {
					return got
				}
			}
		}
		var want []string
		for _, u := range all {
			want = append(want, u.UserName)
		}
		statements := db.Statements()
		if got := walk(10); !slices.Equal(got, want) {
			t.Fatalf("walk by 10:\n got %q\nwant %q", got, want)
		}
		if ran := statements(); len(ran) < 10 || len(ran) > 2*10 || slices.ContainsFunc(ran, func(q string) bool { return strings.Contains(q, "OFFSET") }) {
			t.Errorf("walk of 10 pages ran %d statements, want 10 to 20, none with OFFSET:\n%s", len(ran), strings.Join(ran, "\n"))
		}
		if got := walk(7); !slices.Equal(got, want) {
			t.Errorf("walk by 7: got %q", got)
		}
		// Same walk again, from hints: equal results. Then delete rows
		// before a hinted position: the total changed, so the page at
		// 21 is found by index again, and holds rows 21–30 of what is
		// left.
		walk(10)
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			for _, u := range all[:5] {
				if err := tx.DeleteUser(ctx, u.PK); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		page, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, StartIndex: 21, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range page.Items {
			got = append(got, u.UserName)
		}
		if !slices.Equal(got, want[25:35]) || page.Total != 90 {
			t.Errorf("page at 21 after deletes: %q (total %d), want %q (90)", got, page.Total, want[25:35])
		}
	})
}

// TestPageGroups: a page's users carry their groups (Query.Groups), the
// same and in the same order as UserGroups reads them.
func TestPageGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		alice, bob := f.addUser(t, "alice"), f.addUser(t, "bob")
		f.addGroup(t, "Zeta", store.Member{Type: "User", PK: alice.PK})
		f.addGroup(t, `Ålpha "quoted"`, store.Member{Type: "User", PK: alice.PK})
		page, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, Count: 10, Groups: true})
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.UserGroups(ctx, []int64{alice.PK, bob.PK})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Items {
			var got []store.GroupRef
			for _, g := range u.Groups {
				got = append(got, store.GroupRef{UserPK: u.PK, ID: g.ID, DisplayName: g.DisplayName})
			}
			if !slices.Equal(got, want[u.PK]) {
				t.Errorf("%s: groups %v, want %v", u.UserName, got, want[u.PK])
			}
		}
		if len(page.Items) != 2 || len(page.Items[0].Groups) != 2 {
			t.Errorf("page %+v", page.Items)
		}
	})
}
