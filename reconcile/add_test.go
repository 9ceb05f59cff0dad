package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// admin is an administrator's principal: an admin connector of w's tenant,
// unconfigured, so that its given roles are created on demand.
func (w *world) admin(name string) store.Principal {
	w.t.Helper()
	ctx := context.Background()
	if err := w.e.SetConnectorAdmin(ctx, reconcile.CommandLine, w.tenant.Name, name, ""); err != nil {
		w.t.Fatal(err)
	}
	p, err := w.db.ConnectorPrincipal(ctx, w.tenant.Name, name)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) byUserName(name string) store.User {
	w.t.Helper()
	u, err := w.db.UserByUserName(context.Background(), w.tenant.ID, 0, name)
	if err != nil {
		w.t.Fatalf("user %s: %v", name, err)
	}
	return u
}

// TestAddUsers: a pasted list of addresses makes users named by them,
// all with the same role and group; an address a user has already gives
// that user the grants; a bad or repeated address is an error on its
// line and nothing is written.
func TestAddUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, lifecycleConfig)
		w.group("Radiology")
		by := w.admin("console")
		old := w.apply(w.input("okta", reconcile.Create, "", user("old@example.com", "emails", email("old@example.com")))).User

		bad := reconcile.AddUsers{Emails: []string{"a@example.com", "", "not an address", "b@example.com", "A@example.com"},
			Roles: []string{"reader"}, Groups: []string{"Radiology"}}
		res, err := w.e.AddUsers(ctx, by, bad)
		if err != nil {
			t.Fatal(err)
		}
		lines := map[int]string{}
		for _, e := range res.Errors {
			lines[e.Line] = e.Error()
		}
		if res.Committed || res.ErrorCount != 2 || !strings.Contains(lines[3], `"not an address" is not an email address`) ||
			!strings.Contains(lines[5], "same person as line 1") {
			t.Fatalf("bad list: committed %v, errors %v", res.Committed, lines)
		}
		if _, err := db.UserByUserName(ctx, w.tenant.ID, 0, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused list wrote a@example.com: %v", err)
		}

		good := reconcile.AddUsers{Emails: []string{"a@example.com", "b@example.com", "", "old@example.com"},
			Roles: []string{"reader"}, Groups: []string{"Radiology"}}
		res, err = w.e.AddUsers(ctx, by, good)
		if err != nil || !res.Committed || res.Added != 2 || res.Updated != 1 || res.RolesAdded != 1 || len(res.Errors) != 0 {
			t.Fatalf("add: %v %+v", err, res)
		}
		for _, name := range []string{"a@example.com", "b@example.com"} {
			u := w.byUserName(name)
			if got := w.grants(u.ID); !slices.Equal(got, []string{"group:Radiology", "role:reader"}) {
				t.Fatalf("%s: grants %v", name, got)
			}
			if u.Guest {
				t.Fatalf("%s is a guest", name)
			}
		}
		if got := w.grants(old.ID); !slices.Equal(got, []string{"group:Radiology", "role:reader"}) {
			t.Fatalf("the existing user's grants: %v", got)
		}
		again, err := w.e.AddUsers(ctx, by, good)
		if err != nil || again.Added != 0 || again.Updated != 0 || again.Unchanged != 3 {
			t.Fatalf("the same list again: %v %+v", err, again)
		}
		if msgs := outbox(t, db, w.tenant.ID); len(msgs) != 0 {
			t.Fatalf("an add without notify queued %d messages", len(msgs))
		}
		if u := w.byUserName("a@example.com"); u.Status != store.StatusActive {
			t.Fatalf("added without notify: status %s, want active", u.Status)
		}
		res, err = w.e.AddUsers(ctx, by, reconcile.AddUsers{Emails: []string{"c@example.com"}, Groups: []string{"Radiology"}, Notify: true})
		if err != nil || res.Added != 1 {
			t.Fatalf("add with notify: %v %+v", err, res)
		}
		msgs := outbox(t, db, w.tenant.ID)
		if len(msgs) != 1 || msgs[0].Recipient != "c@example.com" || w.byUserName("c@example.com").Status != store.StatusPending {
			t.Fatalf("add with notify: messages %+v, status %s", msgs, w.byUserName("c@example.com").Status)
		}
	})
}

// TestInviteGuest: a guest is a new user limited to one group, with an
// access window outside of which they count as disabled; a member cannot
// be made a guest, and a guest cannot be given a second group.
func TestInviteGuest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, lifecycleConfig)
		w.group("Radiology")
		w.group("Library")
		by := w.admin("console")
		start := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
		end := start.Add(30 * 24 * time.Hour)
		g, err := w.e.InviteGuest(ctx, by, reconcile.Guest{Email: "visitor@example.org", GivenName: "Vi", FamilyName: "Sitor",
			Group: "Library", AccessStart: start, AccessEnd: end})
		if err != nil {
			t.Fatal(err)
		}
		stored := w.byUserName("visitor@example.org")
		if !stored.Guest || stored.ID != g.ID || !stored.AccessStart.Equal(start) || !stored.AccessEnd.Equal(end) {
			t.Fatalf("stored guest: guest %v, window %v–%v", stored.Guest, stored.AccessStart, stored.AccessEnd)
		}
		if got := w.grants(g.ID); !slices.Equal(got, []string{"group:Library"}) {
			t.Fatalf("guest grants %v", got)
		}
		if name, _ := stored.Attrs["name"].(map[string]any); name["givenName"] != "Vi" {
			t.Fatalf("guest name %v", stored.Attrs["name"])
		}
		if !stored.ActiveAt(time.Now()) || stored.ActiveAt(end.Add(time.Minute)) {
			t.Fatal("the access window does not bound the guest's access")
		}

		var se *reconcile.StateError
		if _, err := w.e.SetUserGrants(ctx, by, g.ID, reconcile.Grants{Groups: []string{"Radiology"}}); !errors.As(err, &se) {
			t.Fatalf("a guest's second group: %v", err)
		}
		var ie *reconcile.InputError
		member := w.apply(w.input("okta", reconcile.Create, "", user("m@example.com", "emails", email("m@example.com")))).User
		if _, err := w.e.InviteGuest(ctx, by, reconcile.Guest{Email: "m@example.com", Group: "Library"}); !errors.As(err, &ie) || ie.Attribute != "guest" {
			t.Fatalf("a member invited as a guest: %v", err)
		}
		if w.user(member.ID).Guest || len(w.grants(member.ID)) != 0 {
			t.Fatal("a refused invitation changed the member")
		}
		if _, err := w.e.InviteGuest(ctx, by, reconcile.Guest{Email: "x@example.org"}); !errors.As(err, &ie) {
			t.Fatalf("no group: %v", err)
		}
		if _, err := w.e.InviteGuest(ctx, by, reconcile.Guest{Email: "x@example.org", Group: "Library", AccessStart: end, AccessEnd: start}); !errors.As(err, &ie) {
			t.Fatalf("window ends before it starts: %v", err)
		}
	})
}
