package store_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// searchFixture makes users of every state: ann (active, Medicine),
// bob (disabled), carla (pending, Medicine/Radiology), dan (deleted), and
// n more named user0000...
func searchFixture(t *testing.T, db *store.DB, n int) (fixture, map[string]store.User) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, db, "acme", "okta")
	by := map[string]store.User{}
	mk := func(name, display, email, status string) store.User {
		return store.User{TenantID: f.tenant.ID, UserName: name, DisplayName: display, Active: status == store.StatusActive, Status: status,
			Attrs: map[string]any{"userName": name, "displayName": display, "emails": []any{map[string]any{"value": email}}}}
	}
	users := []store.User{
		mk("ann", "Ann Smith", "a.smith@example.com", store.StatusActive),
		mk("bob", "Robert Jones", "bob@example.com", store.StatusDisabled),
		mk("carla", "Carla Smithers", "carla@example.com", store.StatusPending),
		mk("dan", "Dan Smithson", "dan@example.com", store.StatusActive),
	}
	for i := range n {
		name := fmt.Sprintf("user%04d", i)
		users = append(users, mk(name, "User "+name, name+"@example.org", store.StatusActive))
	}
	err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.InsertUsers(ctx, users); err != nil {
			return err
		}
		for _, u := range users[:4] {
			by[u.UserName] = u
		}
		med, err := tx.EnsureOrgUnit(ctx, f.tenant.ID, "Medicine")
		if err != nil {
			return err
		}
		rad, err := tx.EnsureOrgUnit(ctx, f.tenant.ID, "Medicine/Radiology")
		if err != nil {
			return err
		}
		if err := tx.AddGrant(ctx, by["ann"].PK, store.Grant{Kind: store.GrantOrgUnit, TargetPK: med.PK, Source: "admin"}); err != nil {
			return err
		}
		if err := tx.AddGrant(ctx, by["carla"].PK, store.Grant{Kind: store.GrantOrgUnit, TargetPK: rad.PK, Source: "admin"}); err != nil {
			return err
		}
		return tx.SoftDeleteUser(ctx, by["dan"].PK, by["dan"].CreatedAt)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, by
}

func names(us []store.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.UserName)
	}
	return out
}

// TestSearchUsers: the admin list's search by a prefix of the userName,
// the displayName or an email, in any case; by states, deleted users only
// when asked; by org unit; a keyset page after another.
func TestSearchUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f, by := searchFixture(t, db, 3)
		for _, tt := range []struct {
			s    store.UserSearch
			want []string
		}{
			{store.UserSearch{}, []string{"ann", "bob", "carla", "user0000", "user0001", "user0002"}},
			{store.UserSearch{Q: "SMITH"}, nil},                                          // a prefix of the whole value, not of a word
			{store.UserSearch{Q: "ann s"}, []string{"ann"}},                              // displayName
			{store.UserSearch{Q: "A.SMITH@"}, []string{"ann"}},                           // email
			{store.UserSearch{Q: "robert"}, []string{"bob"}},                             // displayName
			{store.UserSearch{Q: "user000", Limit: 2}, []string{"user0000", "user0001"}}, // userName, a page
			{store.UserSearch{After: strconv.FormatInt(by["dan"].PK+1, 10)}, []string{"user0001", "user0002"}},
			{store.UserSearch{Q: "d"}, nil}, // dan is deleted
			{store.UserSearch{Q: "d", Statuses: []string{store.StatusDeleted}}, []string{"dan"}},
			{store.UserSearch{Q: "dan smiths", Statuses: []string{store.StatusDeleted}}, []string{"dan"}},
			{store.UserSearch{Statuses: []string{store.StatusDeleted, store.StatusPending}}, []string{"carla", "dan"}},
			{store.UserSearch{Statuses: []string{store.StatusDisabled}}, []string{"bob"}},
			{store.UserSearch{Q: "%"}, nil}, // LIKE's wildcards are literal
			{store.UserSearch{OrgUnit: "medicine"}, []string{"ann", "carla"}},
			{store.UserSearch{OrgUnit: "Medicine/Radiology"}, []string{"carla"}},
			{store.UserSearch{OrgUnit: "Medicine", Statuses: []string{store.StatusActive}}, []string{"ann"}},
		} {
			tt.s.TenantID = f.tenant.ID
			got, _, err := db.SearchUsers(ctx, tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(got), tt.want) {
				t.Errorf("%+v: %v, want %v", tt.s, names(got), tt.want)
			}
		}
	})
}

// TestSearchUsersIndexed: on PostgreSQL a list without q is an index
// range, with sequential scans off (see TestIndexBacked); a search with q
// is TestSearchUsersPlans'.
func TestSearchUsersIndexed(t *testing.T) {
	db := storetest.Open(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	f, _ := searchFixture(t, db, 2000)
	if _, err := db.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s       store.UserSearch
		indexes []string
	}{
		{store.UserSearch{After: "100", Statuses: []string{store.StatusActive}}, []string{"users_tenant_live"}},
	} {
		tt.s.TenantID = f.tenant.ID
		statements := db.Statements()
		if _, _, err := db.SearchUsers(ctx, tt.s); err != nil {
			t.Fatal(err)
		}
		// The filter's bound (the scan-th live user after the cursor),
		// then the page.
		sql := statements()
		if len(sql) != 2 || !strings.Contains(sql[0], " OFFSET ") {
			t.Fatalf("%+v: %d statements %q, want the bound and the page", tt.s, len(sql), sql)
		}
		for _, one := range sql {
			plan, err := db.Explain(ctx, one)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plan, "Seq Scan on users") || strings.Contains(plan, "Seq Scan on user_emails") {
				t.Errorf("%+v scans:\n%s", tt.s, plan)
			}
			for _, ix := range tt.indexes {
				if !strings.Contains(plan, ix) {
					t.Errorf("%+v: plan does not use %s:\n%s\n%s", tt.s, ix, one, plan)
				}
			}
		}
	}
}

// TestDeleteLeavesGroups: a user deleted, softly or for good, leaves the
// groups they were a direct member of, and each such group's version and
// lastModified move (its ETag changes); other groups stay as they were.
func TestDeleteLeavesGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		soft, hard := f.addUser(t, "soft"), f.addUser(t, "hard")
		groups := map[string]*store.Group{}
		for _, name := range []string{"withSoft", "withHard", "other"} {
			groups[name] = &store.Group{TenantID: f.tenant.ID, DisplayName: name, Attrs: map[string]any{"displayName": name}}
		}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			for _, g := range groups {
				if err := tx.InsertGroup(ctx, g); err != nil {
					return err
				}
			}
			for g, u := range map[string]store.User{"withSoft": soft, "withHard": hard} {
				if _, err := tx.AddMembers(ctx, groups[g].PK, []store.Member{{Type: store.MemberUser, PK: u.PK}}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		before := map[string]store.Group{}
		for name, g := range groups {
			before[name], _ = db.Group(ctx, f.tenant.ID, 0, g.ID)
		}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.SoftDeleteUser(ctx, soft.PK, time.Now()); err != nil {
				return err
			}
			return tx.DeleteUser(ctx, hard.PK)
		}); err != nil {
			t.Fatal(err)
		}
		for name, moved := range map[string]bool{"withSoft": true, "withHard": true, "other": false} {
			g, err := db.Group(ctx, f.tenant.ID, 0, groups[name].ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Version != before[name].Version; got != moved {
				t.Errorf("group %s: version %d → %d, want moved %v", name, before[name].Version, g.Version, moved)
			}
			members, err := db.DirectMembers(ctx, g.PK)
			if err != nil || len(members) != 0 {
				t.Errorf("group %s still has members %v (%v)", name, members, err)
			}
		}
	})
}
