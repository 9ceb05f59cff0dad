package store_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// groupsFixture makes the groups "Ärzte", "Faculty", "Fac Staff",
// "Facilities", "Nurses" and "facilities-old" (one name is another's
// prefix), and big, a group of n users and one nested group.
func groupsFixture(t *testing.T, db *store.DB, n int) (fixture, store.Group, []store.User) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, db, "acme", "okta")
	for _, name := range []string{"Nurses", "Faculty", "Ärzte", "Fac Staff", "Facilities", "facilities-old"} {
		f.addGroup(t, name)
	}
	users := make([]store.User, n)
	for i := range users {
		name := fmt.Sprintf("member%05d", i)
		users[i] = store.User{TenantID: f.tenant.ID, UserName: name, DisplayName: "Member " + name, Active: true, Status: store.StatusActive,
			Attrs: map[string]any{"userName": name}}
	}
	if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, users) }); err != nil {
		t.Fatal(err)
	}
	nested, _ := db.GroupNamed(ctx, f.tenant.ID, "nurses")
	ms := []store.Member{{Type: store.MemberGroup, PK: nested.PK}}
	for _, u := range users {
		ms = append(ms, store.Member{Type: store.MemberUser, PK: u.PK})
	}
	return f, f.addGroup(t, "Big", ms...), users
}

// TestSearchGroups: the admin list of groups by a prefix of the name in
// any case, in byte order of the folded names, a keyset page after
// another; a page of a group's members, users then nested groups, from
// a cursor, never a deleted user; bounded member counts.
func TestSearchGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f, big, users := groupsFixture(t, db, 7)
		for _, tt := range []struct {
			s    store.GroupSearch
			want []string
		}{
			{store.GroupSearch{}, []string{"Big", "Fac Staff", "Facilities", "facilities-old", "Faculty", "Nurses", "Ärzte"}},
			{store.GroupSearch{Q: "FACI"}, []string{"Facilities", "facilities-old"}},
			{store.GroupSearch{Q: "fac", Limit: 2}, []string{"Fac Staff", "Facilities"}},
			{store.GroupSearch{Q: "fac", After: "facilities"}, []string{"facilities-old", "Faculty"}},
			{store.GroupSearch{Q: "är"}, []string{"Ärzte"}},
			{store.GroupSearch{Q: "fad"}, nil},
			{store.GroupSearch{Q: "100%"}, nil},
		} {
			tt.s.TenantID = f.tenant.ID
			got, err := db.SearchGroups(ctx, tt.s)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range got {
				names = append(names, g.DisplayName)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("%+v: %v, want %v", tt.s, names, tt.want)
			}
		}

		// Members, three at a time: the seven users, then the nested group.
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.SoftDeleteUser(ctx, users[1].PK, users[1].CreatedAt)
		}); err != nil {
			t.Fatal(err)
		}
		var seen []string
		p := store.MemberPage{GroupPK: big.PK, Limit: 3}
		for pages := 0; ; pages++ {
			ms, err := db.GroupMembers(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				seen = append(seen, m.Type+":"+m.UserName)
			}
			if len(ms) < 3 || pages > 5 {
				break
			}
			p.AfterType, p.AfterPK = ms[len(ms)-1].Type, ms[len(ms)-1].PK
		}
		want := []string{"User:member00000", "User:member00002", "User:member00003", "User:member00004", "User:member00005", "User:member00006", "Group:"}
		if !slices.Equal(seen, want) {
			t.Errorf("members paged: %v, want %v", seen, want)
		}
		counts, err := db.MemberCounts(ctx, []int64{big.PK}, 1000)
		if err != nil || counts[big.PK] != 7 {
			t.Errorf("member count %v (%v), want 7 (six live users and a group)", counts, err)
		}
		if counts, _ = db.MemberCounts(ctx, []int64{big.PK}, 4); counts[big.PK] != 5 {
			t.Errorf("member count bounded by 4: %v, want 5 (more than 4)", counts)
		}
	})
}

// TestGroupReadsIndexed: on PostgreSQL, with sequential scans off, the
// list of groups is a range of groups_tenant_name_bytes (0029), a page of
// a 3,000-member group a range of group_users' primary key from the
// cursor, and the users of a connector a range of user_links_connector.
func TestGroupReadsIndexed(t *testing.T) {
	db := storetest.Open(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	f, big, users := groupsFixture(t, db, 3000)
	for _, u := range users[:1000] {
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.Link(ctx, f.connector.ID, u.PK) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		run     func() error
		indexes []string
		scans   []string // tables no node may read sequentially
	}{
		{"groups by prefix", func() error {
			_, err := db.SearchGroups(ctx, store.GroupSearch{TenantID: f.tenant.ID, Q: "fac", After: "fac staff"})
			return err
		}, []string{"groups_tenant_name_bytes"}, []string{"groups"}},
		{"a deep page of members", func() error {
			_, err := db.GroupMembers(ctx, store.MemberPage{GroupPK: big.PK, AfterType: store.MemberUser, AfterPK: users[2500].PK, Limit: 50})
			return err
		}, []string{"group_users_pkey", "users_pkey"}, []string{"group_users", "users"}},
		{"users of a connector", func() error {
			_, _, err := db.SearchUsers(ctx, store.UserSearch{TenantID: f.tenant.ID, LinkedTo: f.connector.ID, After: strconv.FormatInt(users[500].PK, 10), Limit: 50})
			return err
		}, []string{"user_links_connector"}, []string{"user_links", "users"}},
	} {
		statements := db.Statements()
		if err := tt.run(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		// The users of a connector come through a filter (their
		// states): its bound, the connector's scan-th link, comes first.
		sql := statements()
		want := 1
		if tt.name == "users of a connector" {
			want = 2
		}
		if len(sql) != want {
			t.Fatalf("%s: %d statements, want %d", tt.name, len(sql), want)
		}
		page := sql[len(sql)-1]
		plan, err := db.Explain(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		// As the planner chooses unhinted, too: no sort of every match
		// before the page's limit.
		chosen, err := db.PlanOf(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(chosen, "Sort Key: u.") || strings.Contains(chosen, "Sort Key: g.") || strings.Contains(chosen, "Sort Key: m.") {
			t.Errorf("%s sorts its matches:\n%s", tt.name, chosen)
		}
		for _, table := range tt.scans {
			if strings.Contains(plan, "Seq Scan on "+table+" ") {
				t.Errorf("%s reads %s sequentially:\n%s", tt.name, table, plan)
			}
		}
		for _, ix := range tt.indexes {
			if !strings.Contains(plan, " "+ix+" ") {
				t.Errorf("%s: the plan does not use %s:\n%s", tt.name, ix, plan)
			}
		}
		t.Logf("%s:\n%s", tt.name, plan)
	}
}
