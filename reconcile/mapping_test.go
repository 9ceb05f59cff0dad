package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// world is one tenant with the connectors a configuration names, and the
// engine that maps through it.
type world struct {
	t      testing.TB
	db     *store.DB
	e      *reconcile.Engine
	tenant store.Tenant
	conns  map[string]store.Connector
}

func newWorld(t testing.TB, db *store.DB, config string) *world {
	t.Helper()
	cfg, err := rules.Load("test.yaml", []byte(config))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	w := &world{t: t, db: db, e: reconcile.New(db, cfg), conns: map[string]store.Connector{}}
	for _, tn := range cfg.Tenants {
		for _, c := range tn.Connectors {
			w.tx(func(ctx context.Context, tx *store.Tx) error {
				var err error
				w.tenant, w.conns[c.Name], err = tx.EnsureConnector(ctx, tn.Name, c.Name)
				return err
			})
		}
	}
	return w
}

func (w *world) tx(fn func(ctx context.Context, tx *store.Tx) error) {
	w.t.Helper()
	if err := w.db.RunInTx(context.Background(), fn); err != nil {
		w.t.Fatal(err)
	}
}

// input is a user write of connector c.
func (w *world) input(c string, op reconcile.Op, ext string, attrs map[string]any) reconcile.Input {
	conn := w.conns[c]
	return reconcile.Input{
		Source: reconcile.SourceSCIM, Principal: store.Principal{TenantID: w.tenant.ID, ConnectorID: conn.ID,
			TenantName: w.tenant.Name, ConnectorName: c}, Kind: reconcile.KindUser, Op: op,
		Attrs: attrs, ExternalID: ext,
	}
}

// groupInput is a group create or replace of connector c with members.
func (w *world) groupInput(c string, op reconcile.Op, id string, attrs map[string]any, members ...string) reconcile.Input {
	in := w.input(c, op, "", attrs)
	in.Kind, in.ID = reconcile.KindGroup, id
	for _, m := range members {
		in.Members = append(in.Members, store.MemberRef{ID: m})
	}
	return in
}

// groupPatch is a group PATCH of connector c that runs edit.
func (w *world) groupPatch(c, id string, edit reconcile.Edit) reconcile.Input {
	in := w.input(c, reconcile.Patch, "", nil)
	in.Kind, in.ID, in.Edit = reconcile.KindGroup, id, edit
	return in
}

func (w *world) apply(in reconcile.Input) *reconcile.Plan {
	w.t.Helper()
	p, err := w.e.Apply(context.Background(), in)
	if err != nil {
		w.t.Fatalf("apply %s: %v", in.Op, err)
	}
	return p
}

func (w *world) refused(in reconcile.Input, want string) error {
	w.t.Helper()
	_, err := w.e.Apply(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), want) {
		w.t.Fatalf("apply: got error %v, want one saying %q", err, want)
	}
	return err
}

// grants lists a user's grants as "kind:target" (rule in brackets when a
// rule made it).
func (w *world) grants(userID string) []string {
	w.t.Helper()
	ctx := context.Background()
	u, err := w.db.User(ctx, w.tenant.ID, 0, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	gs, err := w.db.UserGrants(ctx, u.PK)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Kind+":"+g.Target)
	}
	return out
}

func (w *world) group(name string) store.Group {
	w.t.Helper()
	g := store.Group{TenantID: w.tenant.ID, DisplayName: name, Attrs: map[string]any{"displayName": name}}
	w.tx(func(ctx context.Context, tx *store.Tx) error { return tx.InsertGroup(ctx, &g) })
	return g
}

func (w *world) role(name string) {
	w.tx(func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.EnsureRole(ctx, w.tenant.ID, name)
		return err
	})
}

func withID(in reconcile.Input, id string) reconcile.Input {
	in.ID = id
	return in
}

func user(userName string, kv ...any) map[string]any {
	m := map[string]any{"userName": userName}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func dept(d string) map[string]any { return map[string]any{"department": d} }

func email(addr string) []any { return []any{map[string]any{"value": addr, "primary": true}} }

const elentra = `
tenants:
  - name: school
    roles:
      - name: student
        groups: [Student]
      - name: lecturer
        groups: [Faculty]
      - name: director
        groups: [Faculty]
      - name: admin
        groups: [Staff]
    connectors:
      - name: csv
        require: [group, role]
        revisions: addGroups
        allow:
          groups: [Student, Faculty, Staff, "Class of *"]
          roles: [student, lecturer, director, admin]
        rules:
          - name: permission
            if: has(attributes.group) && has(attributes.role)
            groups: ["${string(attributes.group)}"]
            roles: ["${string(attributes.role)}"]
          - name: cohort
            if: gradYear > 0
            groups: ["Class of ${gradYear}"]
            skipMissing: true
`

func TestSeedRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, elentra)
		for _, g := range []string{"Student", "Faculty", "Staff", "Class of 2027"} {
			w.group(g)
		}
		for _, r := range []string{"student", "lecturer", "director", "admin"} {
			w.role(r)
		}

		t.Run("an account needs both a group and a role (000)", func(t *testing.T) {
			w.refused(w.input("csv", reconcile.Upsert, "", user("nogroup")), "requires every account to have a group")
			w.refused(w.input("csv", reconcile.Upsert, "", user("norole", "group", "Faculty")), "requires every account to have a group")
		})
		t.Run("a role not valid for its group is refused (000)", func(t *testing.T) {
			w.refused(w.input("csv", reconcile.Upsert, "", user("wrong", "group", "Student", "role", "lecturer")),
				"role lecturer is not valid for the groups this account has (Student)")
		})
		t.Run("a learner with a graduation year joins the cohort that exists (000)", func(t *testing.T) {
			p := w.apply(w.input("csv", reconcile.Upsert, "", user("learner", "group", "Student", "role", "student", "gradYear", 2027)))
			if got, want := w.grants(p.User.ID), []string{"group:Class of 2027", "group:Student", "role:student"}; !slices.Equal(got, want) {
				t.Fatalf("grants %v, want %v", got, want)
			}
			if !slices.Equal(p.Fired, []string{"permission", "cohort"}) {
				t.Fatalf("fired %v", p.Fired)
			}
		})
		t.Run("a learner whose cohort does not exist joins none and is still created (000)", func(t *testing.T) {
			p := w.apply(w.input("csv", reconcile.Upsert, "", user("learner31", "group", "Student", "role", "student", "gradYear", 2031)))
			if got, want := w.grants(p.User.ID), []string{"group:Student", "role:student"}; !slices.Equal(got, want) {
				t.Fatalf("grants %v, want %v", got, want)
			}
			if len(p.Missing) != 1 || p.Missing[0].Name != "Class of 2031" {
				t.Fatalf("missing %+v, want Class of 2031", p.Missing)
			}
		})
		t.Run("revised records: a new role in the same group updates the role; a different group adds it (000)", func(t *testing.T) {
			p := w.apply(w.input("csv", reconcile.Upsert, "", user("ada", "group", "Faculty", "role", "lecturer", "title", "Dr")))
			id := p.User.ID
			p = w.apply(w.input("csv", reconcile.Upsert, "", user("ada", "group", "Faculty", "role", "director", "title", "Dr")))
			if p.User.ID != id {
				t.Fatalf("the revised record made another user")
			}
			if got, want := w.grants(id), []string{"group:Faculty", "role:director"}; !slices.Equal(got, want) {
				t.Fatalf("same group, new role: grants %v, want %v", got, want)
			}
			w.apply(w.input("csv", reconcile.Upsert, "", user("ada", "group", "Staff", "role", "admin", "title", "Dr")))
			if got, want := w.grants(id), []string{"group:Faculty", "group:Staff", "role:admin", "role:director"}; !slices.Equal(got, want) {
				t.Fatalf("different group: grants %v, want %v", got, want)
			}
			p = w.apply(w.input("csv", reconcile.Upsert, "", user("ada", "group", "Staff", "role", "admin", "title", "Prof")))
			if got, want := w.grants(id), []string{"group:Faculty", "group:Staff", "role:admin", "role:director"}; !slices.Equal(got, want) {
				t.Fatalf("same group and role: grants %v, want %v", got, want)
			}
			if p.User.Attrs["title"] != "Prof" {
				t.Fatalf("same group and role: title %v, want everything else updated", p.User.Attrs["title"])
			}
		})
	})
}

func TestLoginNameAndSuperior(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: csv
        loginName: first.last
        rules:
          - name: email-as-external-id
            if: externalId == "" && email != ""
            externalId: "${email}"
`)
		named := func(given, family string) map[string]any {
			return map[string]any{"name": map[string]any{"givenName": given, "familyName": family}}
		}
		t.Run("a missing login name is first.last, counted up while taken (001)", func(t *testing.T) {
			for _, want := range []string{"ada.lovelace", "ada.lovelace2", "ada.lovelace3"} {
				p := w.apply(w.input("csv", reconcile.Upsert, "", named("Ada", "Lovelace")))
				if p.User.UserName != want {
					t.Fatalf("userName %q, want %q", p.User.UserName, want)
				}
			}
		})
		t.Run("without an external ID, the email stands in for it (001)", func(t *testing.T) {
			p := w.apply(w.input("csv", reconcile.Upsert, "", user("eve", "emails", email("eve@example.com"))))
			if p.User.ExternalID != "eve@example.com" {
				t.Fatalf("externalId %q", p.User.ExternalID)
			}
			again := w.apply(w.input("csv", reconcile.Upsert, "eve@example.com", user("eve", "title", "Dr")))
			if again.Match == nil || again.Match.By != rules.MatchExternalID || again.User.ID != p.User.ID {
				t.Fatalf("the next import did not find eve by it: %+v", again.Match)
			}
		})
		t.Run("a superior is found by their external ID (001, 002)", func(t *testing.T) {
			boss := w.apply(w.input("csv", reconcile.Upsert, "E-1", user("boss")))
			in := w.input("csv", reconcile.Upsert, "E-2", user("worker"))
			in.ManagerExternalID = "E-1"
			p := w.apply(in)
			ent, _ := p.User.Attrs[schemas.EnterpriseUserURN].(map[string]any)
			m, _ := ent["manager"].(map[string]any)
			if m["value"] != boss.User.ID {
				t.Fatalf("manager %v, want %s", ent["manager"], boss.User.ID)
			}
			in = w.input("csv", reconcile.Upsert, "E-3", user("orphan"))
			in.ManagerExternalID = "E-404"
			w.refused(in, `the superior's external ID "E-404" names no user`)
		})
	})
}

func TestOrgUnitTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
        create: {orgUnits: true}
        allow: {orgUnits: [Medicine, Surgery]}
        rules:
          - name: unit
            if: department != ""
            orgUnit: "${department}"
`)
		ids := map[string]string{}
		for _, u := range []struct{ name, unit string }{{"med", "Medicine"}, {"rad", "Medicine/Radiology"}, {"surg", "Surgery"}} {
			p := w.apply(w.input("okta", reconcile.Create, "", user(u.name, schemas.EnterpriseUserURN, dept(u.unit))))
			ids[u.name] = p.User.ID
		}
		for _, c := range []struct {
			scope string
			want  []string
		}{
			{"Medicine", []string{"med", "rad"}},
			{"Medicine/Radiology", []string{"rad"}},
			{"medicine/radiology", []string{"rad"}},
			{"Surgery", []string{"surg"}},
			{"Medicine/Rad", nil},
			{"", []string{"med", "rad", "surg"}},
		} {
			t.Run(fmt.Sprintf("an admin of %q sees it and what is below, nothing above (001)", c.scope), func(t *testing.T) {
				us, err := db.UsersInOrgUnit(context.Background(), w.tenant.ID, c.scope, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, u := range us {
					got = append(got, u.UserName)
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("sees %v, want %v", got, c.want)
				}
			})
		}
		t.Run("the tree is made above a unit created on demand", func(t *testing.T) {
			if _, err := db.OrgUnit(context.Background(), w.tenant.ID, "Medicine"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a unit outside the allow-list is denied, not granted", func(t *testing.T) {
			p := w.apply(w.input("okta", reconcile.Create, "", user("hr", schemas.EnterpriseUserURN, dept("HR"))))
			if len(p.Denied) != 1 || p.Denied[0].Name != "HR" || len(w.grants(p.User.ID)) != 0 {
				t.Fatalf("denied %+v, grants %v", p.Denied, w.grants(p.User.ID))
			}
		})
	})
}

const twoIdPs = `
tenants:
  - name: acme
    roles:
      - name: admin
    connectors:
      - name: okta
        emailDomains: [example.com]
      - name: entra
        emailDomains: [example.com]
      - name: other
`

func TestMatching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, twoIdPs)
		ctx := context.Background()

		t.Run("an Okta push and an Entra push of one person end as one user with two external IDs", func(t *testing.T) {
			okta := w.apply(w.input("okta", reconcile.Create, "00u1", user("bjensen", "emails", email("bjensen@example.com"))))
			entra := w.apply(w.input("entra", reconcile.Create, "aad-1", user("bjensen@example.com", "emails", email("BJensen@Example.com"))))
			if entra.User.ID != okta.User.ID || entra.Action != "link" || entra.Match.By != rules.MatchEmail {
				t.Fatalf("entra's push: action %s, match %+v, user %s; want a link by email to %s", entra.Action, entra.Match, entra.User.ID, okta.User.ID)
			}
			for c, want := range map[string]string{"okta": "00u1", "entra": "aad-1"} {
				u, err := db.User(ctx, w.tenant.ID, w.conns[c].ID, okta.User.ID)
				if err != nil || u.ExternalID != want {
					t.Fatalf("%s sees externalId %q (%v), want %q", c, u.ExternalID, err, want)
				}
			}
			page, _ := db.Users(ctx, store.Query{TenantID: w.tenant.ID, Count: 10})
			if page.Total != 1 {
				t.Fatalf("%d users, want 1", page.Total)
			}
		})
		t.Run("the external ID matches first, in the connector's own space", func(t *testing.T) {
			p := w.apply(w.input("okta", reconcile.Upsert, "00u1", user("renamed")))
			if p.Match == nil || p.Match.By != rules.MatchExternalID || p.User.UserName != "renamed" {
				t.Fatalf("match %+v, userName %s", p.Match, p.User.UserName)
			}
			p = w.apply(w.input("okta", reconcile.Upsert, "", user("renamed", "title", "Eng")))
			if p.Match == nil || p.User.ExternalID != "00u1" {
				t.Fatalf("an upsert without an external ID: match %+v, externalId %q; want the userName match keeping 00u1", p.Match, p.User.ExternalID)
			}
			p = w.apply(w.input("other", reconcile.Upsert, "00u1", user("stranger")))
			if p.Match != nil {
				t.Fatalf("another connector's external ID matched: %+v", p.Match)
			}
		})
		t.Run("the same connector creating the same person again is a conflict", func(t *testing.T) {
			_, err := w.e.Apply(ctx, w.input("okta", reconcile.Create, "", user("RENAMED")))
			var conflict *store.ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("got %v, want a conflict", err)
			}
		})
		t.Run("a connector creating with an external ID it used before makes a new user (RFC 7643 §3.1)", func(t *testing.T) {
			a := w.apply(w.input("other", reconcile.Create, "dup", user("first", "emails", email("same@example.com"))))
			b := w.apply(w.input("other", reconcile.Create, "dup", user("second", "emails", email("same@example.com"))))
			c := w.apply(w.input("other", reconcile.Create, "dup", user("third")))
			if a.User.ID == b.User.ID || b.User.ID == c.User.ID || b.Match != nil || c.Match != nil {
				t.Fatalf("users %s %s %s, matches %+v %+v: want three users", a.User.ID, b.User.ID, c.User.ID, b.Match, c.Match)
			}
		})
		t.Run("email matches only addresses the connector vouches for", func(t *testing.T) {
			w.apply(w.input("okta", reconcile.Create, "", user("carol", "emails", email("carol@elsewhere.org"))))
			p := w.apply(w.input("entra", reconcile.Create, "", user("carol.e", "emails", email("carol@elsewhere.org"))))
			if p.Match != nil || p.Action != "create" {
				t.Fatalf("matched on an address entra does not vouch for: %+v", p.Match)
			}
		})
		t.Run("two users with the email is ambiguous and refused, never merged", func(t *testing.T) {
			w.apply(w.input("other", reconcile.Create, "", user("dan1", "emails", email("dan@example.com"))))
			w.apply(w.input("other", reconcile.Create, "", user("dan2", "emails", email("dan@example.com"))))
			err := w.refused(w.input("okta", reconcile.Create, "", user("dan", "emails", email("dan@example.com"))), "matches more than one user")
			var me *reconcile.MatchError
			if !errors.As(err, &me) {
				t.Fatalf("got %T, want *reconcile.MatchError", err)
			}
		})
		t.Run("a push cannot take over an administrator by sending their email", func(t *testing.T) {
			admin := w.apply(w.input("other", reconcile.Create, "", user("root", "emails", email("root@example.com"))))
			w.tx(func(ctx context.Context, tx *store.Tx) error {
				ro, err := tx.EnsureRole(ctx, w.tenant.ID, "admin")
				if err != nil {
					return err
				}
				return tx.AddGrant(ctx, admin.User.PK, store.Grant{Kind: store.GrantRole, TargetPK: ro.PK, Source: "admin"})
			})
			w.refused(w.input("okta", reconcile.Create, "", user("attacker", "emails", email("root@example.com"))), "holds role \"admin\", which connector okta may not grant: add it to the connector's allow.roles")
			w.refused(w.input("okta", reconcile.Create, "", user("root")), "holds role \"admin\"")
		})
		t.Run("matching never leaves the tenant", func(t *testing.T) {
			w2 := newWorld(t, db, strings.ReplaceAll(twoIdPs, "name: acme", "name: globex"))
			p := w2.apply(w2.input("okta", reconcile.Create, "00u1", user("bjensen", "emails", email("bjensen@example.com"))))
			if p.Match != nil || p.Action != "create" {
				t.Fatalf("matched a user of another tenant: %+v", p.Match)
			}
		})
	})
}

func TestRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    roles: [{name: faculty}, {name: staff}]
    connectors:
      - name: okta
        allow: {roles: [faculty], groups: [Radiology]}
        rules:
          - name: radiology
            if: department == "Radiology"
            roles: [faculty]
            groups: [Radiology]
      - name: entra
        allow: {roles: [faculty], groups: [Radiology]}
        rules:
          - name: everyone
            roles: [faculty]
`)
		ctx := context.Background()
		w.role("faculty")
		w.role("staff")
		rad := w.group("Radiology")
		p := w.apply(w.input("okta", reconcile.Create, "", user("eve", schemas.EnterpriseUserURN, dept("Radiology"))))
		id := p.User.ID
		w.apply(w.input("entra", reconcile.Upsert, "", user("eve")))
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			ro, err := tx.Role(ctx, w.tenant.ID, "staff")
			if err != nil {
				return err
			}
			return tx.AddGrant(ctx, p.User.PK, store.Grant{Kind: store.GrantRole, TargetPK: ro.PK, Source: "admin"})
		})
		// The IdP also makes eve a member of Radiology directly.
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.AddMembers(ctx, rad.PK, []store.Member{{Type: store.MemberUser, PK: p.User.PK}})
			return err
		})
		if got, want := w.grants(id), []string{"group:Radiology", "role:faculty", "role:faculty", "role:staff"}; !slices.Equal(got, want) {
			t.Fatalf("before: %v, want %v", got, want)
		}

		t.Run("when a rule stops matching, exactly what it granted is revoked", func(t *testing.T) {
			p := w.apply(withID(w.input("okta", reconcile.Replace, "", user("eve", schemas.EnterpriseUserURN, dept("Surgery"))), id))
			if got, want := w.grants(id), []string{"role:faculty", "role:staff"}; !slices.Equal(got, want) {
				t.Fatalf("after: %v, want entra's faculty and the hand-granted staff: %v", got, want)
			}
			removed := 0
			for _, c := range p.Grants {
				if c.Op == "remove" {
					removed++
					if c.Rule != "radiology" {
						t.Fatalf("removed %+v, made by another rule", c)
					}
				}
			}
			if removed != 2 {
				t.Fatalf("plan removes %d grants, want 2: %+v", removed, p.Grants)
			}
		})
		t.Run("a membership the group was given directly outlives the rule's grant", func(t *testing.T) {
			groups, _ := db.UserGroups(ctx, []int64{p.User.PK})
			if len(groups[p.User.PK]) != 1 {
				t.Fatalf("groups %v, want Radiology still (a direct member)", groups[p.User.PK])
			}
		})
	})
}

func TestPrecedence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
        precedence:
          title: [admin, scim]
          department: [admin, scim]
          status: [admin, scim]
`)
		p := w.apply(w.input("okta", reconcile.Create, "", user("fay", "title", "Engineer")))
		in := w.input("okta", reconcile.Replace, "", user("fay", "title", "Chief"))
		in.Source, in.ID = reconcile.SourceAdmin, p.User.ID
		w.apply(in)
		p = w.apply(withID(w.input("okta", reconcile.Replace, "", user("fay", "title", "Intern", "displayName", "Fay")), p.User.ID))
		if p.User.Attrs["title"] != "Chief" || p.User.Attrs["displayName"] != "Fay" {
			t.Fatalf("title %v displayName %v: want the admin's title kept and the rest updated", p.User.Attrs["title"], p.User.Attrs["displayName"])
		}
		if len(p.Kept) != 1 || p.Kept[0] != "title (set by admin via okta, which outranks scim via okta)" {
			t.Fatalf("kept %v", p.Kept)
		}
		sources, _ := db.AttributeSources(context.Background(), p.User.PK)
		if s := sources["title"]; s.Source != "admin" || sources["displayName"].Source != "scim" {
			t.Fatalf("sources %+v", sources)
		}
		t.Run("an account an admin disabled stays disabled when the IdP says active", func(t *testing.T) {
			in := withID(w.input("okta", reconcile.Replace, "", user("fay", "active", false)), p.User.ID)
			in.Source = reconcile.SourceAdmin
			w.apply(in)
			q := w.apply(withID(w.input("okta", reconcile.Replace, "", user("fay", "active", true)), p.User.ID))
			if q.User.Status != store.StatusDisabled || !slices.ContainsFunc(q.Kept, func(k string) bool { return strings.HasPrefix(k, "status") }) {
				t.Fatalf("status %s, kept %v: want the admin's disabled kept", q.User.Status, q.Kept)
			}
		})
		t.Run("precedence may name connectors: Entra owns userName, Okta the rest", func(t *testing.T) {
			w := newWorld(t, db, `
tenants:
  - name: twoidps
    connectors:
      - name: okta
        emailDomains: [example.com]
        precedence: {userName: [entra]}
      - name: entra
        emailDomains: [example.com]
        precedence: {userName: [entra]}
`)
			o := w.apply(w.input("okta", reconcile.Create, "00u1", user("bjensen", "emails", email("b@example.com"))))
			w.apply(w.input("entra", reconcile.Create, "aad-1", user("b@example.com", "emails", email("b@example.com"), "title", "Eng")))
			p := w.apply(withID(w.input("okta", reconcile.Replace, "", user("bjensen", "emails", email("b@example.com"), "title", "Lead")), o.User.ID))
			if p.User.UserName != "b@example.com" || p.User.Attrs["title"] != "Lead" {
				t.Fatalf("userName %s title %v: want Entra's userName kept and Okta's title taken", p.User.UserName, p.User.Attrs["title"])
			}
		})
		t.Run("an enterprise attribute an admin set is kept, the rest of the extension updated", func(t *testing.T) {
			ent := func(d, c string) map[string]any { return map[string]any{"department": d, "costCenter": c} }
			in := withID(w.input("okta", reconcile.Replace, "", user("fay", schemas.EnterpriseUserURN, ent("Radiology", "1"))), p.User.ID)
			in.Source = reconcile.SourceAdmin
			w.apply(in)
			q := w.apply(withID(w.input("okta", reconcile.Replace, "", user("fay", schemas.EnterpriseUserURN, ent("Surgery", "2"))), p.User.ID))
			got, _ := q.User.Attrs[schemas.EnterpriseUserURN].(map[string]any)
			if got["department"] != "Radiology" || got["costCenter"] != "2" {
				t.Fatalf("enterprise %v: want the admin's department and the IdP's costCenter", got)
			}
		})
	})
}

// TestPreviewIsApply: for random payloads, what Plan shows is what Apply
// does.
func TestPreviewIsApply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    roles: [{name: faculty}, {name: learner}]
    connectors:
      - name: okta
        emailDomains: [example.com]
        create: {roles: true, groups: true, orgUnits: true}
        allow: {roles: [faculty, learner], groups: ["Class of *", Faculty], orgUnits: [Medicine]}
        rules:
          - name: faculty
            if: department in ["Radiology", "Surgery"]
            orgUnit: "Medicine/${department}"
            roles: [faculty]
            groups: [Faculty]
          - name: cohort
            if: gradYear > 0
            groups: ["Class of ${gradYear}"]
            roles: [learner]
          - name: off
            if: department == "Alumni"
            status: disabled
`)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		depts := []string{"Radiology", "Surgery", "Alumni", "HR", ""}
		for i := range 60 {
			n := rng.IntN(15)
			attrs := user(fmt.Sprintf("u%d", n), "emails", email(fmt.Sprintf("u%d@example.com", rng.IntN(15))),
				schemas.EnterpriseUserURN, dept(depts[rng.IntN(len(depts))]))
			if rng.IntN(2) == 0 {
				attrs["gradYear"] = 2025 + rng.IntN(4)
			}
			in := w.input("okta", reconcile.Upsert, fmt.Sprintf("x%d", rng.IntN(15)), attrs)
			preview, perr := w.e.Plan(ctx, in)
			applied, aerr := w.e.Apply(ctx, in)
			if (perr == nil) != (aerr == nil) || perr != nil && perr.Error() != aerr.Error() {
				t.Fatalf("payload %d: preview error %v, apply error %v", i, perr, aerr)
			}
			if perr != nil {
				continue
			}
			ps, as := preview.Summary(), applied.Summary()
			if ps.Action == "create" {
				ps.ID = as.ID // a new user's id is given on insert
			}
			pj, _ := json.Marshal(ps)
			aj, _ := json.Marshal(as)
			if string(pj) != string(aj) {
				t.Fatalf("payload %d: preview and apply differ:\npreview %s\napply   %s", i, pj, aj)
			}
		}
	})
}

// TestGroupMembershipIsARuleInput: when the rules read groups, a group
// write runs them again for the members it changes.
func TestGroupMembershipIsARuleInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    roles: [{name: engineer}]
    connectors:
      - name: okta
        allow: {roles: [engineer]}
        rules:
          - name: engineers
            if: '"Engineering" in groups'
            roles: [engineer]
      - name: other
`)
		ctx := context.Background()
		ann := w.apply(w.input("okta", reconcile.Create, "", user("ann")))
		bob := w.apply(w.input("other", reconcile.Create, "", user("bob")))
		group := func(op reconcile.Op, id string, attrs map[string]any, members ...string) *reconcile.Plan {
			return w.apply(w.groupInput("okta", op, id, attrs, members...))
		}
		g := group(reconcile.Create, "", map[string]any{"displayName": "Engineering"}, ann.User.ID, bob.User.ID)

		t.Run("joining the group fires the rule for the connector's own users", func(t *testing.T) {
			if got := w.grants(ann.User.ID); !slices.Equal(got, []string{"role:engineer"}) {
				t.Fatalf("ann: %v", got)
			}
			if got := w.grants(bob.User.ID); len(got) != 0 {
				t.Fatalf("bob, whom okta does not manage: %v", got)
			}
			events, _ := db.AuditEvents(ctx, w.tenant.ID, ann.User.ID)
			if last := events[len(events)-1]; last.Action != "remap" {
				t.Fatalf("last event of ann: %s, want remap", last.Action)
			}
		})
		t.Run("renaming the group stops the rule, and exactly its grant goes", func(t *testing.T) {
			group(reconcile.Replace, g.Group.ID, map[string]any{"displayName": "Platform"}, ann.User.ID)
			if got := w.grants(ann.User.ID); len(got) != 0 {
				t.Fatalf("ann: %v", got)
			}
		})
		t.Run("leaving by PATCH revokes it too", func(t *testing.T) {
			group(reconcile.Replace, g.Group.ID, map[string]any{"displayName": "Engineering"}, ann.User.ID)
			if got := w.grants(ann.User.ID); !slices.Equal(got, []string{"role:engineer"}) {
				t.Fatalf("ann back in: %v", got)
			}
			w.apply(w.groupPatch("okta", g.Group.ID, func(d reconcile.Doc) (reconcile.Doc, []reconcile.MemberEdit, error) {
				return d, []reconcile.MemberEdit{{Op: "remove", IDs: []string{ann.User.ID}}}, nil
			}))
			if got := w.grants(ann.User.ID); len(got) != 0 {
				t.Fatalf("ann after leaving: %v", got)
			}
		})
		t.Run("a PATCH adding one member maps that member only", func(t *testing.T) {
			carl := w.apply(w.input("okta", reconcile.Create, "", user("carl")))
			dan := w.apply(w.input("okta", reconcile.Create, "", user("dan")))
			add := func(id string) {
				w.apply(w.groupPatch("okta", g.Group.ID, func(d reconcile.Doc) (reconcile.Doc, []reconcile.MemberEdit, error) {
					return d, []reconcile.MemberEdit{{Op: "add", IDs: []string{id}}}, nil
				}))
			}
			add(carl.User.ID)
			// Take carl's grant away behind the rules' back: mapping carl
			// again would give it back.
			w.tx(func(ctx context.Context, tx *store.Tx) error {
				gs, err := tx.UserGrants(ctx, carl.User.PK)
				if err != nil || len(gs) != 1 {
					return fmt.Errorf("carl's grants %v: %v", gs, err)
				}
				return tx.RemoveGrant(ctx, carl.User.PK, gs[0])
			})
			add(dan.User.ID)
			if got := w.grants(carl.User.ID); len(got) != 0 {
				t.Fatalf("adding dan mapped carl again: %v", got)
			}
			if got := w.grants(dan.User.ID); !slices.Equal(got, []string{"role:engineer"}) {
				t.Fatalf("dan: %v", got)
			}
		})
		t.Run("a PATCH renaming the group maps every member", func(t *testing.T) {
			w.apply(w.groupPatch("okta", g.Group.ID, func(d reconcile.Doc) (reconcile.Doc, []reconcile.MemberEdit, error) {
				return reconcile.Doc{Attrs: map[string]any{"displayName": "Platform"}, ExternalID: d.ExternalID}, nil, nil
			}))
			for _, name := range []string{"carl", "dan"} {
				u, _ := db.UserByUserName(ctx, w.tenant.ID, 0, name)
				if got := w.grants(u.ID); len(got) != 0 {
					t.Fatalf("%s after the rename: %v", name, got)
				}
			}
		})
	})
}

func TestStatusAndAccessWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
        rules:
          - name: alumni
            if: department == "Alumni"
            status: disabled
          - name: contractors
            if: userType == "Contractor"
            accessEnd: "2030-06-30"
`)
		p := w.apply(w.input("okta", reconcile.Create, "", user("gus", schemas.EnterpriseUserURN, dept("Alumni"), "userType", "Contractor")))
		if p.User.Status != store.StatusDisabled || p.User.AccessEnd.Format("2006-01-02") != "2030-06-30" {
			t.Fatalf("status %s, accessEnd %v", p.User.Status, p.User.AccessEnd)
		}
		p = w.apply(withID(w.input("okta", reconcile.Replace, "", user("gus", schemas.EnterpriseUserURN, dept("Staff"))), p.User.ID))
		if p.User.Status != store.StatusActive || !p.User.AccessEnd.IsZero() {
			t.Fatalf("after the rules stopped: status %s, accessEnd %v; want active, no end", p.User.Status, p.User.AccessEnd)
		}
		var changed []string
		for _, c := range p.Changes {
			changed = append(changed, c.Attribute)
		}
		if !slices.Contains(changed, "status") || !slices.Contains(changed, "accessEnd") {
			t.Fatalf("changes %v", changed)
		}
		p = w.apply(withID(w.input("okta", reconcile.Replace, "", user("gus", schemas.EnterpriseUserURN, dept("Staff"))), p.User.ID))
		if len(p.Changes) != 0 {
			t.Fatalf("an unchanged push records changes: %+v", p.Changes)
		}
		u, _ := db.User(context.Background(), w.tenant.ID, 0, p.User.ID)
		if u.Status != store.StatusActive {
			t.Fatalf("stored status %s", u.Status)
		}
	})
}

// TestRulesReadPushedGroups is the move from Engineering to Finance: a rule
// reading groups sees the groups the IdP pushed, never the ones rules
// granted, so a grant of the group the rule reads cannot keep itself alive.
func TestRulesReadPushedGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    roles:
      - {name: engineer, groups: [Engineering]}
      - {name: finance-approver, groups: [Finance]}
    connectors:
      - name: okta
        allow: {roles: [engineer, finance-approver], groups: [Engineering, Finance]}
        rules:
          - name: engineering
            if: '"Engineering" in groups'
            groups: [Engineering]
            roles: [engineer]
          - name: finance
            if: '"Finance" in groups'
            groups: [Finance]
            roles: [finance-approver]
`)
		ann := w.apply(w.input("okta", reconcile.Create, "00u1", user("ann")))
		eng := w.apply(w.groupInput("okta", reconcile.Create, "", map[string]any{"displayName": "Engineering"}, ann.User.ID))
		fin := w.apply(w.groupInput("okta", reconcile.Create, "", map[string]any{"displayName": "Finance"}))
		if got := w.grants(ann.User.ID); !slices.Equal(got, []string{"group:Engineering", "role:engineer"}) {
			t.Fatalf("ann in Engineering: %v", got)
		}
		members := func(op, id string) reconcile.Edit {
			return func(d reconcile.Doc) (reconcile.Doc, []reconcile.MemberEdit, error) {
				return d, []reconcile.MemberEdit{{Op: op, IDs: []string{id}}}, nil
			}
		}
		// Okta moves her: out of Engineering, into Finance.
		w.apply(w.groupPatch("okta", eng.Group.ID, members("remove", ann.User.ID)))
		w.apply(w.groupPatch("okta", fin.Group.ID, members("add", ann.User.ID)))
		if got := w.grants(ann.User.ID); !slices.Equal(got, []string{"group:Finance", "role:finance-approver"}) {
			t.Fatalf("ann after moving to Finance: %v, want Engineering's grants gone", got)
		}
		ctx := context.Background()
		groups, err := db.UserGroups(ctx, []int64{ann.User.PK})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range groups[ann.User.PK] {
			names = append(names, g.DisplayName)
		}
		if !slices.Equal(names, []string{"Finance"}) {
			t.Fatalf("ann's groups: %v, want Finance only", names)
		}
	})
}

// TestGroupPushAdoptsRuleGroup: Okta's Group Push of a group a rule created
// on demand adopts that group instead of creating a second one of the same
// name (after which every grant of the name was refused as ambiguous);
// a name a connector manages already is a uniqueness conflict.
func TestGroupPushAdoptsRuleGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    roles: [{name: engineer, groups: [Engineering]}]
    connectors:
      - name: okta
        create: {groups: true}
        allow: {roles: [engineer], groups: [Engineering, Finance]}
        rules:
          - name: engineering
            if: department == "Engineering"
            groups: [Engineering]
            roles: [engineer]
          - name: finance
            if: department == "Finance"
            groups: [Finance]
      - name: entra
`)
		ctx := context.Background()
		ann := w.apply(w.input("okta", reconcile.Create, "00u1", user("ann", schemas.EnterpriseUserURN, dept("Engineering"))))
		bob := w.apply(w.input("okta", reconcile.Create, "00u2", user("bob")))
		byRule, err := db.GroupNamed(ctx, w.tenant.ID, "Engineering")
		if err != nil || byRule.ManagedBy != 0 {
			t.Fatalf("the rule's group: %+v (%v), want one no connector manages", byRule, err)
		}

		in := w.groupInput("okta", reconcile.Create, "", map[string]any{"displayName": "engineering"}, ann.User.ID, bob.User.ID)
		in.ExternalID = "00g1"
		push := w.apply(in)
		if push.Action != "adopt" || push.Group.ID != byRule.ID {
			t.Fatalf("push: action %s, group %s; want the rule's group %s adopted", push.Action, push.Group.ID, byRule.ID)
		}
		g, err := db.Group(ctx, w.tenant.ID, w.conns["okta"].ID, byRule.ID)
		if err != nil || g.DisplayName != "engineering" || g.ExternalID != "00g1" || g.ManagedBy != w.conns["okta"].ID {
			t.Fatalf("adopted group: %+v (%v), want Okta's name, external ID and management", g, err)
		}
		if page, err := db.Groups(ctx, store.Query{TenantID: w.tenant.ID, Count: 10}); err != nil || page.Total != 1 {
			t.Fatalf("groups: %d (%v), want 1", page.Total, err)
		}
		if members, _ := db.GroupUserPKs(ctx, g.PK, true); !slices.Equal(members, []int64{ann.User.PK, bob.User.PK}) {
			t.Fatalf("pushed members %v, want ann and bob", members)
		}
		if got := w.grants(ann.User.ID); !slices.Equal(got, []string{"group:engineering", "role:engineer"}) {
			t.Fatalf("ann: %v, want her grants kept", got)
		}

		t.Run("the rule grants the adopted group to the next engineer", func(t *testing.T) {
			carl := w.apply(w.input("okta", reconcile.Create, "00u3", user("carl", schemas.EnterpriseUserURN, dept("Engineering"))))
			if got := w.grants(carl.User.ID); !slices.Equal(got, []string{"group:engineering", "role:engineer"}) {
				t.Fatalf("carl: %v", got)
			}
		})
		t.Run("a name a connector manages is taken, for it and for others", func(t *testing.T) {
			for _, c := range []string{"okta", "entra"} {
				err := w.refused(w.groupInput(c, reconcile.Create, "", map[string]any{"displayName": "ENGINEERING"}), "displayName is already in use")
				if ce := (*store.ConflictError)(nil); !errors.As(err, &ce) || ce.Attribute != "displayName" {
					t.Fatalf("%s: %v, want a displayName conflict", c, err)
				}
			}
		})
		t.Run("a rename to a taken name is a conflict, even of a group rules created", func(t *testing.T) {
			w.apply(w.input("okta", reconcile.Create, "00u4", user("dan", schemas.EnterpriseUserURN, dept("Finance"))))
			sales := w.apply(w.groupInput("entra", reconcile.Create, "", map[string]any{"displayName": "Sales"}))
			w.refused(w.groupInput("entra", reconcile.Replace, sales.Group.ID, map[string]any{"displayName": "finance"}), "displayName is already in use")
			w.apply(w.groupInput("entra", reconcile.Replace, sales.Group.ID, map[string]any{"displayName": "SALES"}))
		})
		t.Run("a connector writing a group rules created by id, as Entra links by displayName, manages it", func(t *testing.T) {
			fin, err := db.GroupNamed(ctx, w.tenant.ID, "Finance")
			if err != nil || fin.ManagedBy != 0 {
				t.Fatalf("Finance: %+v (%v), want a group rules created", fin, err)
			}
			w.apply(w.groupPatch("entra", fin.ID, func(d reconcile.Doc) (reconcile.Doc, []reconcile.MemberEdit, error) {
				return reconcile.Doc{Attrs: d.Attrs, ExternalID: "entra-fin"}, nil, nil
			}))
			if fin, _ = db.GroupNamed(ctx, w.tenant.ID, "Finance"); fin.ManagedBy != w.conns["entra"].ID {
				t.Fatalf("Finance managed by %d, want entra (%d)", fin.ManagedBy, w.conns["entra"].ID)
			}
			w.refused(w.groupInput("okta", reconcile.Create, "", map[string]any{"displayName": "Finance"}), "displayName is already in use")
		})
	})
}
