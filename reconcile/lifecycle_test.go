package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const lifecycleConfig = `
tenants:
  - name: acme
    roles: [{name: faculty}]
    connectors:
      - name: okta
        allow: {roles: [faculty], groups: [Radiology]}
        rules:
          - name: radiology
            if: department == "Radiology"
            roles: [faculty]
            groups: [Radiology]
`

// live lists the userNames of the tenant's users that a list, a filter
// and the matching lookups see, and the list's total.
func (w *world) seen(t *testing.T, userName string) (names []string, total int, taken bool) {
	t.Helper()
	ctx := context.Background()
	f, err := filter.ParseFilter([]byte(`userName eq "` + userName + `"`))
	if err != nil {
		t.Fatal(err)
	}
	all, err := w.db.Users(ctx, store.Query{TenantID: w.tenant.ID, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range all.Items {
		names = append(names, u.UserName)
	}
	filtered, err := w.db.Users(ctx, store.Query{TenantID: w.tenant.ID, Filter: f, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	_, byName := w.db.UserByUserName(ctx, w.tenant.ID, 0, userName)
	if byName != nil && !errors.Is(byName, store.ErrNotFound) {
		t.Fatal(byName)
	}
	taken, err = w.db.UserNameTaken(ctx, w.tenant.ID, userName)
	if err != nil {
		t.Fatal(err)
	}
	if (byName == nil) != taken || taken != (filtered.Total == 1) {
		t.Fatalf("lookups disagree on %s: by name %v, taken %v, filter %d", userName, byName, taken, filtered.Total)
	}
	return names, all.Total, taken
}

// TestSoftDeleteRestore: a SCIM DELETE leaves the row but every read
// treats the user as gone; the IdP may create the same userName anew; a
// restore is refused while that name is taken, and brings the user back
// disabled and without their grants once it is free; erase removes a
// deleted user for good.
func TestSoftDeleteRestore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, lifecycleConfig)
		w.role("faculty")
		rad := w.group("Radiology")
		eve := user("eve", schemas.EnterpriseUserURN, dept("Radiology"), "emails", email("eve@example.com"))
		p := w.apply(w.input("okta", reconcile.Create, "00u-eve", eve))
		id := p.User.ID
		if got := w.grants(id); !slices.Equal(got, []string{"group:Radiology", "role:faculty"}) {
			t.Fatalf("grants %v", got)
		}
		w.apply(withID(w.input("okta", reconcile.Delete, "", nil), id))

		if _, err := db.User(ctx, w.tenant.ID, 0, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GET after delete: %v, want not found", err)
		}
		if names, total, taken := w.seen(t, "eve"); len(names) != 0 || total != 0 || taken {
			t.Fatalf("after delete: list %v, total %d, taken %v", names, total, taken)
		}
		if us, err := db.UsersByEmail(ctx, w.tenant.ID, 0, "eve@example.com", false); err != nil || len(us) != 0 {
			t.Fatalf("by email: %v %v", us, err)
		}
		if us, err := db.UsersByExternalID(ctx, w.tenant.ID, w.conns["okta"].ID, "00u-eve"); err != nil || len(us) != 0 {
			t.Fatalf("by external id: %v %v", us, err)
		}
		var members []store.Member
		if err := db.EachMember(ctx, rad.PK, func(m store.Member) error { members = append(members, m); return nil }); err != nil || len(members) != 0 {
			t.Fatalf("Radiology's members: %v %v", members, err)
		}
		if ms, unknown, err := db.LookupMembers(ctx, w.tenant.ID, []store.MemberRef{{ID: id}}); err != nil || len(ms) != 0 || len(unknown) != 1 {
			t.Fatalf("member lookup: %v %v", ms, err)
		}
		if _, err := w.e.Apply(ctx, withID(w.input("okta", reconcile.Replace, "", eve), id)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("PUT of the deleted user: %v, want not found", err)
		}

		// The IdP creates eve anew: another user, the name is free.
		again := w.apply(w.input("okta", reconcile.Create, "00u-eve2", user("EVE")))
		if again.User.ID == id {
			t.Fatal("the create revived the deleted user")
		}
		operator := store.Principal{TenantID: w.tenant.ID, TenantName: "acme"}
		_, err := w.e.RestoreUser(ctx, operator, id)
		var se *reconcile.StateError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "another user took the userName eve") {
			t.Fatalf("restore while the name is taken: %v", err)
		}
		if _, err := db.User(ctx, w.tenant.ID, 0, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused restore restored: %v", err)
		}
		if err := w.e.DeleteUser(ctx, operator, again.User.ID); err != nil {
			t.Fatal(err)
		}
		// Erase works on a deleted user: the row goes.
		if err := w.e.EraseUser(ctx, operator, again.User.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AnyUser(ctx, w.tenant.ID, 0, again.User.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("erased deleted user: %v", err)
		}

		u, err := w.e.RestoreUser(ctx, operator, id)
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != store.StatusDisabled || u.ActiveAt(w.e.Now()) || !u.DeletedAt.IsZero() {
			t.Fatalf("restored: status %s, deleted %v", u.Status, u.DeletedAt)
		}
		if got := w.grants(id); len(got) != 0 {
			t.Fatalf("restored with grants %v, want none", got)
		}
		if names, total, taken := w.seen(t, "eve"); !slices.Equal(names, []string{"eve"}) || total != 1 || !taken {
			t.Fatalf("after restore: list %v, total %d, taken %v", names, total, taken)
		}
		if _, err := w.e.RestoreUser(ctx, operator, id); !errors.As(err, &se) || !strings.Contains(err.Error(), "not deleted") {
			t.Fatalf("restore twice: %v", err)
		}
		if u, err = w.e.EnableUser(ctx, operator, id, false); err != nil || u.Status != store.StatusActive {
			t.Fatalf("enable: %v %v", u.Status, err)
		}
		evs, err := db.AuditEvents(ctx, w.tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Source+":"+e.Action)
		}
		if !slices.Equal(actions[len(actions)-3:], []string{"scim:delete", "cli:restore", "cli:enable"}) {
			t.Fatalf("events %v", actions)
		}
	})
}

// TestDisableEnable: an administrator disables and enables; a pending
// user stays pending unless forced; an org unit's administrator reaches
// the users of their unit only.
func TestDisableEnable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, lifecycleConfig)
		id := w.apply(w.input("okta", reconcile.Create, "", user("ann", "active", true))).User.ID
		operator := store.Principal{TenantID: w.tenant.ID, TenantName: "acme"}
		u, err := w.e.DisableUser(ctx, operator, id)
		if err != nil || u.Status != store.StatusDisabled || u.ActiveAt(w.e.Now()) {
			t.Fatalf("disable: %+v %v", u, err)
		}
		if u, err = w.e.EnableUser(ctx, operator, id, false); err != nil || !u.ActiveAt(w.e.Now()) {
			t.Fatalf("enable: %+v %v", u, err)
		}
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			u, err := tx.User(ctx, w.tenant.ID, 0, id)
			if err != nil {
				return err
			}
			u.Status = store.StatusPending
			return tx.UpdateUser(ctx, &u)
		})
		var se *reconcile.StateError
		if _, err := w.e.EnableUser(ctx, operator, id, false); !errors.As(err, &se) || !strings.Contains(err.Error(), "not activated") {
			t.Fatalf("enable pending: %v", err)
		}
		if u, err = w.e.EnableUser(ctx, operator, id, true); err != nil || u.Status != store.StatusActive {
			t.Fatalf("forced enable: %+v %v", u, err)
		}
		unit := store.Principal{TenantID: w.tenant.ID, TenantName: "acme", ConnectorID: w.conns["okta"].ID, OrgUnit: "Medicine"}
		if _, err := w.e.DisableUser(ctx, unit, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an org unit's admin disabled a user outside it: %v", err)
		}
		if err := w.e.DeleteUser(ctx, unit, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an org unit's admin deleted a user outside it: %v", err)
		}
	})
}

// TestSetUserGrants: an administrator's roles and groups sit beside the
// rules' grants; a push whose rules stop matching revokes the rules'
// grants only; setting them again replaces the manual ones; a guest holds
// one group at most.
func TestSetUserGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, lifecycleConfig)
		w.role("faculty")
		w.role("staff")
		w.group("Radiology")
		w.group("Library")
		eve := user("eve", schemas.EnterpriseUserURN, dept("Radiology"))
		id := w.apply(w.input("okta", reconcile.Create, "", eve)).User.ID
		operator := store.Principal{TenantID: w.tenant.ID, TenantName: "acme"}
		if _, err := w.e.SetUserGrants(ctx, operator, id, reconcile.Grants{Roles: []string{"staff"}, Groups: []string{"library"}}); err != nil {
			t.Fatal(err)
		}
		if got := w.grants(id); !slices.Equal(got, []string{"group:Library", "group:Radiology", "role:faculty", "role:staff"}) {
			t.Fatalf("after the grant: %v", got)
		}
		w.apply(withID(w.input("okta", reconcile.Replace, "", user("eve", schemas.EnterpriseUserURN, dept("Surgery"))), id))
		if got := w.grants(id); !slices.Equal(got, []string{"group:Library", "role:staff"}) {
			t.Fatalf("after a push the rules no longer match: %v, want the manual grants kept", got)
		}
		groups, err := db.UserGroups(ctx, []int64{w.user(id).PK})
		if err != nil || len(groups[w.user(id).PK]) != 1 || groups[w.user(id).PK][0].DisplayName != "Library" {
			t.Fatalf("memberships %v %v", groups, err)
		}
		if _, err := w.e.SetUserGrants(ctx, operator, id, reconcile.Grants{Groups: []string{"Library"}}); err != nil {
			t.Fatal(err)
		}
		if got := w.grants(id); !slices.Equal(got, []string{"group:Library"}) {
			t.Fatalf("after setting groups only: %v", got)
		}
		var ie *reconcile.InputError
		if _, err := w.e.SetUserGrants(ctx, operator, id, reconcile.Grants{Roles: []string{"dean"}}); !errors.As(err, &ie) || !strings.Contains(err.Error(), `role "dean" does not exist`) {
			t.Fatalf("unknown role: %v", err)
		}
		if got := w.grants(id); !slices.Equal(got, []string{"group:Library"}) {
			t.Fatalf("a refused grant changed grants: %v", got)
		}
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			u, err := tx.User(ctx, w.tenant.ID, 0, id)
			if err != nil {
				return err
			}
			u.Guest = true
			return tx.UpdateUser(ctx, &u)
		})
		var se *reconcile.StateError
		if _, err := w.e.SetUserGrants(ctx, operator, id, reconcile.Grants{Groups: []string{"Library", "Radiology"}}); !errors.As(err, &se) || !strings.Contains(err.Error(), "exactly one group") {
			t.Fatalf("a guest's second group: %v", err)
		}
		if got := w.grants(id); !slices.Equal(got, []string{"group:Library"}) {
			t.Fatalf("a refused guest grant changed grants: %v", got)
		}
	})
}

func (w *world) user(id string) store.User {
	w.t.Helper()
	u, err := w.db.User(context.Background(), w.tenant.ID, 0, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}
