package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// fixture is a tenant with one connector, made in its own transaction.
type fixture struct {
	db        *store.DB
	tenant    store.Tenant
	connector store.Connector
}

func newFixture(t *testing.T, db *store.DB, tenant, connector string) fixture {
	t.Helper()
	f := fixture{db: db}
	err := db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var err error
		f.tenant, f.connector, err = tx.EnsureConnector(ctx, tenant, connector)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) addUser(t *testing.T, userName string) store.User {
	t.Helper()
	u := store.User{TenantID: f.tenant.ID, UserName: userName, Active: true, Attrs: map[string]any{"userName": userName}}
	err := f.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.InsertUser(ctx, &u)
	})
	if err != nil {
		t.Fatalf("insert %s: %v", userName, err)
	}
	return u
}

func (f fixture) addGroup(t *testing.T, name string, members ...store.Member) store.Group {
	t.Helper()
	g := store.Group{TenantID: f.tenant.ID, DisplayName: name, Attrs: map[string]any{"displayName": name}}
	err := f.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		if err := tx.InsertGroup(ctx, &g); err != nil {
			return err
		}
		_, err := tx.ReplaceMembers(ctx, g.PK, members)
		return err
	})
	if err != nil {
		t.Fatalf("insert group %s: %v", name, err)
	}
	return g
}

func (f fixture) users(t *testing.T, filterText string) []string {
	t.Helper()
	q := store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, Count: 100}
	if filterText != "" {
		expr, err := filter.ParseFilterNumber([]byte(filterText))
		if err != nil {
			t.Fatalf("parse %q: %v", filterText, err)
		}
		q.Filter = expr
	}
	page, err := f.db.Users(context.Background(), q)
	if err != nil {
		t.Fatalf("users %q: %v", filterText, err)
	}
	if page.Total != len(page.Items) {
		t.Fatalf("users %q: total %d, but %d items on a page of 100", filterText, page.Total, len(page.Items))
	}
	var names []string
	for _, u := range page.Items {
		names = append(names, u.UserName)
	}
	return names
}

func TestUserLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		u := f.addUser(t, "Bjensen@Example.com")
		if u.Version != 1 || u.ID == "" || u.CreatedAt.IsZero() {
			t.Fatalf("inserted user: %+v", u)
		}

		got, err := db.User(ctx, f.tenant.ID, f.connector.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserName != "Bjensen@Example.com" || got.Attrs["userName"] != "Bjensen@Example.com" || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("read back %+v, want what was written %+v", got, u)
		}

		// An update at the right version moves it on; a second writer
		// holding the old version loses.
		got.DisplayName = "Babs"
		stale := got
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, &got) }); err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 {
			t.Fatalf("version after update = %d, want 2", got.Version)
		}
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, &stale) })
		if !errors.Is(err, store.ErrStale) {
			t.Fatalf("update at old version: err = %v, want ErrStale", err)
		}

		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUser(ctx, got.PK) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.User(ctx, f.tenant.ID, f.connector.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read after delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestUserNameUniqueIgnoringCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "acme", "okta")
		f.addUser(t, "ÉCOLE@example.com")
		u := store.User{TenantID: f.tenant.ID, UserName: "école@EXAMPLE.com", Attrs: map[string]any{}}
		err := db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error { return tx.InsertUser(ctx, &u) })
		var conflict *store.ConflictError
		if !errors.As(err, &conflict) || conflict.Attribute != "userName" {
			t.Fatalf("duplicate userName in another case (non-ASCII): err = %v, want ConflictError on userName", err)
		}
		// Another tenant may use the same name.
		other := newFixture(t, db, "globex", "okta")
		other.addUser(t, "école@example.com")
	})
}

func TestFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		alice := f.addUser(t, "alice@example.com")
		f.addUser(t, "Bob@Example.com")
		f.addUser(t, "carol_50%@example.org")
		// Disable carol.
		carol, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, Count: 10, StartIndex: 3})
		if err != nil || len(carol.Items) != 1 {
			t.Fatalf("third user: %v %v", carol, err)
		}
		c := carol.Items[0]
		c.Active = false
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.UpdateUser(ctx, &c); err != nil {
				return err
			}
			return tx.SetUserExternalID(ctx, f.connector.ID, alice.PK, "00u1")
		}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			filter string
			want   []string
		}{
			{`userName eq "BOB@example.COM"`, []string{"Bob@Example.com"}},
			{`USERNAME Eq "bob@example.com"`, []string{"Bob@Example.com"}},
			{`userName eq "nobody"`, nil},
			{`userName sw "a"`, []string{"alice@example.com"}},
			{`userName ew ".ORG"`, []string{"carol_50%@example.org"}},
			{`userName co "_50%"`, []string{"carol_50%@example.org"}},
			{`userName co "r_l"`, nil}, // _ is literal, not a wildcard
			{`userName co "%"`, []string{"carol_50%@example.org"}},
			{`userName pr`, []string{"alice@example.com", "Bob@Example.com", "carol_50%@example.org"}},
			{`externalId eq "00u1"`, []string{"alice@example.com"}},
			{`externalId eq "00U1"`, nil}, // externalId is caseExact
			{`externalId pr`, []string{"alice@example.com"}},
			{`not (externalId eq "00u1")`, []string{"Bob@Example.com", "carol_50%@example.org"}},
			{`externalId ne "00u1"`, []string{"Bob@Example.com", "carol_50%@example.org"}},
			{`active eq false`, []string{"carol_50%@example.org"}},
			{`active eq "True"`, []string{"alice@example.com", "Bob@Example.com"}},
			{`active eq true and userName sw "b"`, []string{"Bob@Example.com"}},
			{`userName sw "a" or userName sw "c"`, []string{"alice@example.com", "carol_50%@example.org"}},
			{fmt.Sprintf(`id eq %q`, alice.ID), []string{"alice@example.com"}},
			{`id eq "not-a-uuid"`, nil},
			{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"`, []string{"alice@example.com"}},
			{`userName eq "x' OR '1'='1"`, nil},
		}
		for _, tt := range tests {
			if got := f.users(t, tt.filter); !slices.Equal(got, tt.want) {
				t.Errorf("filter %s: got %q, want %q", tt.filter, got, tt.want)
			}
		}

		// The other connector sees none of okta's external IDs.
		g := newFixture(t, db, "acme", "entra")
		if got := g.users(t, `externalId eq "00u1"`); got != nil {
			t.Errorf("entra sees okta's external id: %q", got)
		}
	})
}

func TestFilterErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "acme", "okta")
		for _, text := range []string{`shoeSize eq "x"`, `name.nickName eq "x"`, `password eq "x"`, `active gt true`, `meta.created gt "yesterday"`, `name eq "x"`, `userName eq true`, `active eq "maybe"`} {
			expr, err := filter.ParseFilterNumber([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Users(context.Background(), store.Query{TenantID: f.tenant.ID, Filter: expr, Count: 10})
			var fe *store.FilterError
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Errorf("filter %s: err = %v, want a FilterError with a message", text, err)
			}
		}
	})
}

func TestPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "acme", "okta")
		var want []string
		for i := range 25 {
			name := fmt.Sprintf("user%02d", i)
			f.addUser(t, name)
			want = append(want, name)
		}
		var got []string
		for start := 1; ; start += 10 {
			page, err := db.Users(context.Background(), store.Query{TenantID: f.tenant.ID, StartIndex: start, Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 25 {
				t.Fatalf("total = %d, want 25", page.Total)
			}
			if len(page.Items) == 0 {
				break
			}
			for _, u := range page.Items {
				got = append(got, u.UserName)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged walk = %q, want every user once in creation order", got)
		}
		page, err := db.Users(context.Background(), store.Query{TenantID: f.tenant.ID, Count: 0})
		if err != nil || page.Total != 25 || len(page.Items) != 0 {
			t.Fatalf("count=0: %d items, total %d, err %v; want only the total", len(page.Items), page.Total, err)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newFixture(t, db, "acme", "okta")
		b := newFixture(t, db, "globex", "okta")
		u := a.addUser(t, "alice")
		g := a.addGroup(t, "Staff")
		if _, err := db.User(ctx, b.tenant.ID, b.connector.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant B reads tenant A's user: err = %v", err)
		}
		if _, err := db.Group(ctx, b.tenant.ID, b.connector.ID, g.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant B reads tenant A's group: err = %v", err)
		}
		if got := b.users(t, ""); got != nil {
			t.Errorf("tenant B lists %q", got)
		}
		_, err := db.ResolveMembers(ctx, b.tenant.ID, []store.MemberRef{{ID: u.ID}})
		var unknown *store.UnknownMembersError
		if !errors.As(err, &unknown) {
			t.Errorf("tenant B adds tenant A's user to a group: err = %v", err)
		}
	})
}

func TestMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		alice := f.addUser(t, "alice")
		bob := f.addUser(t, "bob")
		sub := f.addGroup(t, "Sub")

		refs := []store.MemberRef{{ID: bob.ID}, {ID: alice.ID, Type: "User"}, {ID: sub.ID}, {ID: alice.ID}}
		ms, err := db.ResolveMembers(ctx, f.tenant.ID, refs)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 {
			t.Fatalf("resolved %d members, want 3 (duplicates once): %+v", len(ms), ms)
		}
		_, err = db.ResolveMembers(ctx, f.tenant.ID, []store.MemberRef{{ID: alice.ID}, {ID: "nope"}, {ID: "6e8bc430-9c3a-11d9-9669-0800200c9a66"}, {ID: sub.ID, Type: "User"}})
		var unknown *store.UnknownMembersError
		want := []string{"6e8bc430-9c3a-11d9-9669-0800200c9a66", "nope", sub.ID}
		slices.Sort(want)
		if !errors.As(err, &unknown) || !slices.Equal(unknown.IDs, want) {
			t.Fatalf("unknown members: err = %v, want all three named (a group asked for as a User is unknown)", err)
		}

		g := f.addGroup(t, "Staff", ms...)
		var got []string
		err = db.EachMember(ctx, g.PK, func(m store.Member) error {
			got = append(got, m.Type+":"+m.Display)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"User:alice", "User:bob", "Group:Sub"}; !slices.Equal(got, want) {
			t.Fatalf("members = %q, want %q", got, want)
		}
		groups, err := db.UserGroups(ctx, []int64{alice.PK, bob.PK})
		if err != nil || len(groups[alice.PK]) != 1 || groups[alice.PK][0].DisplayName != "Staff" {
			t.Fatalf("alice's groups = %+v, %v", groups[alice.PK], err)
		}

		// Deleting a user removes its memberships, nothing else.
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUser(ctx, bob.PK) }); err != nil {
			t.Fatal(err)
		}
		n := 0
		db.EachMember(ctx, g.PK, func(store.Member) error { n++; return nil })
		if n != 2 {
			t.Fatalf("members after deleting bob = %d, want 2", n)
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		add := func(hash string) (tok store.Token, err error) {
			err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, c, err := tx.EnsureConnector(ctx, "acme", "okta")
				if err == nil {
					tok, err = tx.AddToken(ctx, c.ID, []byte(hash), "scimd_"+hash[:4])
				}
				return err
			})
			return tok, err
		}
		revoke := func(id int64) (info store.TokenInfo, err error) {
			err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				info, err = tx.RevokeToken(ctx, id)
				return err
			})
			return info, err
		}
		first, err := add("hash-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := add("hash-2"); err != nil {
			t.Fatal(err)
		}
		_, err = add("hash-3")
		var limit *store.LimitError
		if !errors.As(err, &limit) {
			t.Fatalf("third active token: err = %v, want LimitError", err)
		}
		p, _, err := db.Principal(ctx, []byte("hash-1"))
		if err != nil || p.TenantName != "acme" || p.ConnectorName != "okta" {
			t.Fatalf("principal = %+v, %v", p, err)
		}
		if info, err := revoke(first.ID); err != nil || info.Tenant != "acme" || info.Connector != "okta" || info.TenantID != p.TenantID {
			t.Fatalf("revoke: %+v, %v", info, err)
		}
		if _, _, err := db.Principal(ctx, []byte("hash-1")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked token still authenticates: %v", err)
		}
		// With one revoked, a new one may be made.
		if _, err := add("hash-3"); err != nil {
			t.Fatal(err)
		}
		if _, err := revoke(999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		list, err := db.Tokens(ctx, "acme")
		if err != nil || len(list) != 3 {
			t.Fatalf("tokens = %+v, %v", list, err)
		}
	})
}

func TestMigrateTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		pending, err := db.Pending(context.Background())
		if err != nil || len(pending) != 0 {
			t.Fatalf("pending after migrate = %q, %v", pending, err)
		}
	})
}

func TestSortAndKeyset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		for _, n := range []string{"bravo", "Alpha", "delta", "charlie", "Echo"} {
			u := store.User{TenantID: f.tenant.ID, UserName: n, Attrs: map[string]any{"userName": n}}
			if n != "delta" {
				u.Attrs["name"] = map[string]any{"familyName": strings.ToUpper(n[:1]) + "-" + n}
			}
			if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUser(ctx, &u) }); err != nil {
				t.Fatal(err)
			}
		}
		sorted := func(sortBy string, desc bool, start, count int) []string {
			page, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, SortBy: sortBy, Descending: desc, StartIndex: start, Count: count})
			if err != nil {
				t.Fatalf("sort %s: %v", sortBy, err)
			}
			var names []string
			for _, u := range page.Items {
				names = append(names, u.UserName)
			}
			return names
		}
		for _, tt := range []struct {
			sortBy   string
			desc     bool
			start, n int
			want     []string
		}{
			{"userName", false, 1, 10, []string{"Alpha", "bravo", "charlie", "delta", "Echo"}},
			{"USERNAME", true, 1, 10, []string{"Echo", "delta", "charlie", "bravo", "Alpha"}},
			{"userName", false, 2, 2, []string{"bravo", "charlie"}},
			{"name.familyName", false, 1, 10, []string{"Alpha", "bravo", "charlie", "Echo", "delta"}}, // no value: last
			{"name.familyName", true, 1, 10, []string{"delta", "Echo", "charlie", "bravo", "Alpha"}},  // no value: first
			{"meta.created", true, 1, 2, []string{"Echo", "charlie"}},
			{"", false, 4, 10, []string{"charlie", "Echo"}},
		} {
			if got := sorted(tt.sortBy, tt.desc, tt.start, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("sortBy %q desc=%v start=%d: %q, want %q", tt.sortBy, tt.desc, tt.start, got, tt.want)
			}
		}
		for _, bad := range []string{"emails", "name", "password", "shoeSize"} {
			if _, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, SortBy: bad, Count: 1}); err == nil {
				t.Errorf("sortBy %s: no error", bad)
			}
		}

		// Keyset pages forward, then back.
		var forward []string
		q := store.Query{TenantID: f.tenant.ID, Count: 2}
		var last store.Page[store.User]
		for {
			page, err := db.Users(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Items {
				forward = append(forward, u.UserName)
			}
			last = page
			if !page.HasNext {
				break
			}
			q.After = page.Last
		}
		if want := []string{"bravo", "Alpha", "delta", "charlie", "Echo"}; !slices.Equal(forward, want) {
			t.Fatalf("keyset forward: %q, want %q", forward, want)
		}
		back, err := db.Users(ctx, store.Query{TenantID: f.tenant.ID, Count: 2, Before: last.First})
		if err != nil || len(back.Items) != 2 || back.Items[0].UserName != "delta" || !back.HasPrev || !back.HasNext {
			t.Fatalf("keyset backward from Echo: %+v %v", back, err)
		}
	})
}
