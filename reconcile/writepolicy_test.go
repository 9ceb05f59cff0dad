package reconcile_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// policyConfig has an IdP (okta, SCIM), an HR file (hr, CSV) and a login
// (sso, OIDC), with write policies on attributes and on one rule.
var policyConfig = func() string {
	b, err := os.ReadFile("testdata/writepolicy.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// via turns a SCIM input of w into one of source.
func via(in reconcile.Input, source reconcile.Source) reconcile.Input {
	in.Source = source
	return in
}

func (w *world) stored(id string) store.User {
	w.t.Helper()
	u, err := w.db.User(context.Background(), w.tenant.ID, 0, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) load(rows ...reconcile.LoadRow) *reconcile.LoadResult {
	w.t.Helper()
	in := w.input("hr", reconcile.Upsert, "", nil)
	res, err := w.e.Load(context.Background(), in.Principal, seq(rows...), reconcile.LoadOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

func (w *world) signIn(attrs map[string]any, sub string) (*reconcile.Plan, error) {
	in := via(w.input("sso", reconcile.Upsert, sub, attrs), reconcile.SourceOIDC)
	return w.e.SignIn(context.Background(), in, true, map[string]any{"sub": sub}, time.Now())
}

// TestWritePolicies: onCreate writes only into the user the write creates,
// ifEmpty only into an empty value, through SCIM, a login and a CSV load;
// a rule written onCreate grants on create and keeps, later, what it
// granted.
func TestWritePolicies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, policyConfig)
		title := func(id string) any { return w.stored(id).Attrs["title"] }
		nick := func(id string) any { return w.stored(id).Attrs["nickName"] }

		// okta creates ann: its title is written on create, not later.
		p := w.apply(w.input("okta", reconcile.Create, "o-ann", user("ann", "title", "Engineer")))
		ann := p.User.ID
		if title(ann) != "Engineer" || !slices.Contains(w.grants(ann), "group:Starters") {
			t.Fatalf("created by okta: title %v, grants %v", title(ann), w.grants(ann))
		}
		p = w.apply(w.input("okta", reconcile.Upsert, "o-ann", user("ann", "title", "Boss")))
		if title(ann) != "Engineer" || !slices.ContainsFunc(p.Kept, func(s string) bool { return strings.HasPrefix(s, "title (") }) {
			t.Fatalf("okta's later push: title %v, kept %v, want Engineer kept", title(ann), p.Kept)
		}
		// The onCreate rule no longer writes, and what it granted stays.
		if !slices.Contains(w.grants(ann), "group:Starters") {
			t.Fatalf("after an update: grants %v, want Starters kept", w.grants(ann))
		}

		// The HR file creates bob; okta, taking him on later, does not
		// write his title, and its onCreate rule grants him nothing.
		res := w.load(reconcile.LoadRow{Line: 2, In: reconcile.Input{Attrs: user("bob", "title", "Clerk")}})
		if res.Added != 1 || !res.Committed {
			t.Fatalf("load: %+v", res)
		}
		bob := res.Created[0].ID
		p = w.apply(w.input("okta", reconcile.Create, "o-bob", user("bob", "title", "Boss")))
		if p.Match == nil || title(bob) != "Clerk" || slices.Contains(w.grants(bob), "group:Starters") {
			t.Fatalf("okta linking bob: match %v, title %v, grants %v", p.Match, title(bob), w.grants(bob))
		}

		// ifEmpty: okta created ann with no nickName; the file fills it,
		// then neither the file, okta nor a login changes it.
		if nick(ann) != nil {
			t.Fatalf("nickName %v", nick(ann))
		}
		res = w.load(reconcile.LoadRow{Line: 2, In: reconcile.Input{Attrs: user("ann", "nickName", "Annie")}})
		if nick(ann) != "Annie" {
			t.Fatalf("file into an empty nickName: %v (%+v)", nick(ann), res)
		}
		w.load(reconcile.LoadRow{Line: 2, In: reconcile.Input{Attrs: user("ann", "nickName", "Other")}})
		w.apply(w.input("okta", reconcile.Upsert, "o-ann", user("ann", "nickName", "Okta")))
		// A login fills an empty value, and changes a filled one no more.
		login := user("carol", "emails", email("carol@example.com"), "nickName", "Caz")
		if _, err := w.signIn(login, "s-carol"); err != nil {
			t.Fatal(err)
		}
		login["nickName"] = "Carrie"
		p, err := w.signIn(login, "s-carol")
		if err != nil {
			t.Fatal(err)
		}
		if nick(ann) != "Annie" || nick(p.User.ID) != "Caz" {
			t.Fatalf("nickName after later writes: ann %v, carol %v; want Annie and Caz", nick(ann), nick(p.User.ID))
		}
	})
}

// TestLocalUsers: no connector matches, changes, disables or deletes a
// local user, through SCIM, a login or a CSV load; each refusal is
// audited, also when the load rolls back; an administrator still writes.
func TestLocalUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, policyConfig)
		p := w.apply(w.input("okta", reconcile.Create, "o-root", user("root", "emails", email("root@example.com"), "title", "Ops")))
		id := p.User.ID
		operator := store.Principal{TenantID: w.tenant.ID, TenantName: "acme"}
		u, err := w.e.SetUserLocal(ctx, operator, id, true)
		if err != nil || !u.Local || !w.stored(id).Local {
			t.Fatalf("SetUserLocal: %+v, %v", u, err)
		}
		refusals := func() int {
			t.Helper()
			evs, err := db.AuditEvents(ctx, w.tenant.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ev := range evs {
				if ev.Action == "refuse" && ev.Detail["reason"] == "local" {
					n++
				}
			}
			return n
		}
		local := func(err error) {
			t.Helper()
			if _, ok := errors.AsType[*reconcile.LocalUserError](err); !ok {
				t.Fatalf("error %v, want a LocalUserError", err)
			}
		}
		version := w.stored(id).Version

		// SCIM: replace, patch, delete by id; a create matching by userName.
		for i, in := range []reconcile.Input{
			func() reconcile.Input {
				in := w.input("okta", reconcile.Replace, "o-root", user("root", "title", "x"))
				in.ID = id
				return in
			}(),
			func() reconcile.Input {
				in := w.input("okta", reconcile.Delete, "", nil)
				in.ID = id
				return in
			}(),
			w.input("okta", reconcile.Create, "o-root2", user("root", "active", false)),
		} {
			_, err := w.e.Apply(ctx, in)
			local(err)
			if n := refusals(); n != i+1 {
				t.Fatalf("%s: %d refusal events, want %d", in.Op, n, i+1)
			}
		}
		// A login matching by userName.
		_, err = w.signIn(user("root", "emails", email("root@example.com")), "s-root")
		local(err)
		if n := refusals(); n != 4 {
			t.Fatalf("login: %d refusal events, want 4", n)
		}
		// A CSV row matching, and a DELETE row: the rows fail, the load
		// rolls back, the refusals stay.
		del := reconcile.Input{Op: reconcile.Delete, Attrs: map[string]any{"userName": "root"}}
		res := w.load(reconcile.LoadRow{Line: 2, In: reconcile.Input{Attrs: user("root", "title", "x")}},
			reconcile.LoadRow{Line: 3, In: del})
		if res.Committed || res.ErrorCount != 2 || res.Errors[0].Line != 2 || res.Errors[1].Line != 3 {
			t.Fatalf("load: %+v", res)
		}
		local(res.Errors[0].Err)
		local(res.Errors[1].Err)
		if n := refusals(); n != 6 {
			t.Fatalf("load: %d refusal events, want 6", n)
		}
		if got := w.stored(id); got.Version != version || got.Attrs["title"] != "Ops" || got.Status != store.StatusActive {
			t.Fatalf("local user after the refusals: %+v", got)
		}
		// An administrator's writes still go through, and unmarking lets
		// the connector manage the user again.
		if _, err := w.e.DisableUser(ctx, operator, id); err != nil {
			t.Fatal(err)
		}
		if _, err := w.e.SetUserLocal(ctx, operator, id, false); err != nil {
			t.Fatal(err)
		}
		in := w.input("okta", reconcile.Replace, "o-root", user("root", "title", "Ops2"))
		in.ID = id
		w.apply(in)
	})
}

// TestRuleWriteIfEmpty: a rule written ifEmpty grants, per kind, only to
// a user holding none of that kind but its own: it places a user without
// an org unit, and moves what it placed, but not one another connector
// placed; it grants its group to a user in no group, not to one a push
// put in a group (entra's rules; registrar places dave).
func TestRuleWriteIfEmpty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, policyConfig)
		has := func(id string, want ...string) {
			t.Helper()
			got := w.grants(id)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("grants %v, want %v", got, want)
			}
		}
		// entra links bob, whom registrar created: he holds nothing, so both rules
		// write; later the unit rule moves the unit it gave.
		bob := w.apply(w.input("registrar", reconcile.Create, "", user("bob"))).User.ID
		w.apply(w.input("entra", reconcile.Create, "o-bob", user("bob", schemas.EnterpriseUserURN, dept("Eng"))))
		has(bob, "group:Starters", "orgUnit:Eng")
		w.apply(w.input("entra", reconcile.Upsert, "o-bob", user("bob", schemas.EnterpriseUserURN, dept("Ops"))))
		has(bob, "group:Starters", "orgUnit:Ops")

		// Dave holds registrar's unit: entra's unit rule leaves it, and says so.
		dave := w.apply(w.input("registrar", reconcile.Create, "", user("dave"))).User.ID
		p := w.apply(w.input("entra", reconcile.Create, "o-dave", user("dave", schemas.EnterpriseUserURN, dept("Eng"))))
		has(dave, "group:Starters", "orgUnit:Registry")
		if !slices.Contains(p.Kept, "orgUnit (rule unit writes only into an empty value)") {
			t.Errorf("kept %v: the withheld unit not named", p.Kept)
		}

		// Carol is in a group entra pushed: its starter rule grants her none.
		carol := w.apply(w.input("registrar", reconcile.Create, "", user("carol"))).User.ID
		w.apply(w.groupInput("entra", reconcile.Create, "", map[string]any{"displayName": "Crew"}, carol))
		p = w.apply(w.input("entra", reconcile.Create, "o-carol", user("carol", schemas.EnterpriseUserURN, dept("Eng"))))
		has(carol, "orgUnit:Eng")
		if !slices.Contains(p.Kept, "group (rule starter writes only into an empty value)") {
			t.Errorf("kept %v: the withheld group not named", p.Kept)
		}
	})
}

// TestLocalUserInPushedGroup: ad's rules read the groups it pushes; a
// push may not add or remove a local member, and a rename, which maps the
// other members again, leaves the local one's grants as they are.
func TestLocalUserInPushedGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, policyConfig)
		root := w.apply(w.input("ad", reconcile.Create, "o-root", user("root"))).User.ID
		bob := w.apply(w.input("ad", reconcile.Create, "o-bob", user("bob"))).User.ID
		g := w.apply(w.groupInput("ad", reconcile.Create, "", map[string]any{"displayName": "Admins"}, root, bob)).Group.ID
		if _, err := w.e.SetUserLocal(context.Background(), store.Principal{TenantID: w.tenant.ID, TenantName: "acme"}, root, true); err != nil {
			t.Fatal(err)
		}
		_, err := w.e.Apply(context.Background(), w.groupInput("ad", reconcile.Replace, g, map[string]any{"displayName": "Admins"}, bob))
		if le, ok := errors.AsType[*reconcile.LocalUserError](err); !ok || le.UserID != root || le.Group != "Admins" {
			t.Fatalf("a push taking out the local member: %v, want a LocalUserError naming root and Admins", err)
		}
		w.apply(w.groupInput("ad", reconcile.Replace, g, map[string]any{"displayName": "Staff"}, root, bob))
		if got, want := w.grants(root), []string{"role:admin"}; !slices.Equal(got, want) {
			t.Errorf("root after the rename: %v, want %v kept", got, want)
		}
		if got := w.grants(bob); len(got) != 0 {
			t.Errorf("bob after the rename: %v, want none", got)
		}
	})
}
