package scim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// configServer starts scimd on db with the configuration yaml.
func configServer(t *testing.T, db *store.DB, yaml string) (*httptest.Server, *reconcile.Engine) {
	t.Helper()
	cfg, err := rules.Load("scimd.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e := reconcile.New(db, cfg)
	srv := httptest.NewServer(scim.NewHandler(scim.Config{}, db.Reader(), e))
	t.Cleanup(srv.Close)
	return srv, e
}

// policyConfig is reconcile's configuration of write policies and local
// users: okta writes title onCreate and nickName ifEmpty, and its rule
// starter grants group Starters onCreate.
func policyConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../reconcile/testdata/writepolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func patchReplace(attrs ...any) map[string]any {
	var ops []map[string]any
	for i := 0; i+1 < len(attrs); i += 2 {
		ops = append(ops, map[string]any{"op": "replace", "path": attrs[i], "value": attrs[i+1]})
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

// TestWritePoliciesOverSCIM: okta's title is written onCreate, its
// nickName ifEmpty, and its onCreate rule grants on create and keeps the
// grant, through POST, PUT and PATCH; responses show what is stored.
func TestWritePoliciesOverSCIM(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, _ := configServer(t, db, policyConfig(t))
		c := newClient(t, db, srv, "acme", "okta")
		created := c.do("POST", "/Users", userBody("ann", "title", "Engineer")).want(t, http.StatusCreated)
		id := created.str("id")
		starter := func(when string) {
			t.Helper()
			if !slices.Contains(grantsOf(t, db, "acme", id), "group:Starters") {
				t.Fatalf("%s: grants %v, want group:Starters", when, grantsOf(t, db, "acme", id))
			}
		}
		if created.str("title") != "Engineer" || created.str("nickName") != "" {
			t.Fatalf("created: %s", created.raw)
		}
		starter("created")

		// PUT: title stays as created; the empty nickName is filled.
		put := c.do("PUT", "/Users/"+id, userBody("ann", "title", "Boss", "nickName", "Annie")).want(t, http.StatusOK)
		if put.str("title") != "Engineer" || put.str("nickName") != "Annie" {
			t.Fatalf("PUT answered title %q, nickName %q; want Engineer (onCreate) and Annie (ifEmpty, empty)", put.str("title"), put.str("nickName"))
		}
		// PATCH: neither changes any more.
		c.do("PATCH", "/Users/"+id, patchReplace("title", "Chief", "nickName", "Other"))
		got := c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
		if got.str("title") != "Engineer" || got.str("nickName") != "Annie" {
			t.Fatalf("after PATCH: title %q, nickName %q; want Engineer and Annie", got.str("title"), got.str("nickName"))
		}
		starter("after PUT and PATCH")
	})
}

// TestLocalUserOverSCIM: okta's PUT, PATCH and DELETE of a local user and
// a POST of their userName are refused (403, SCIM error, a detail naming
// the account), and so is a group write that adds or removes them as a
// member; the user stays as they were, and each refusal is audited.
func TestLocalUserOverSCIM(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv, e := configServer(t, db, policyConfig(t))
		c := newClient(t, db, srv, "acme", "okta")
		root := c.do("POST", "/Users", userBody("root", "title", "Ops")).want(t, http.StatusCreated).str("id")
		bob := c.do("POST", "/Users", userBody("bob")).want(t, http.StatusCreated).str("id")
		admins := c.do("POST", "/Groups", groupBody("Admins", root)).want(t, http.StatusCreated).str("id")
		staff := c.do("POST", "/Groups", groupBody("Staff", bob)).want(t, http.StatusCreated).str("id")
		tenant, err := db.Tenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.SetUserLocal(ctx, store.Principal{TenantID: tenant.ID, TenantName: "acme"}, root, true); err != nil {
			t.Fatal(err)
		}
		before := c.do("GET", "/Users/"+root, nil).want(t, http.StatusOK)

		refused := []struct {
			method, path string
			body         any
		}{
			{"PUT", "/Users/" + root, userBody("root", "title", "x")},
			{"PATCH", "/Users/" + root, patchReplace("active", false)},
			{"DELETE", "/Users/" + root, nil},
			{"POST", "/Users", userBody("root")},
			// Group pushes that add or remove the local user.
			{"POST", "/Groups", groupBody("Ops", root)},
			{"PUT", "/Groups/" + staff, groupBody("Staff", bob, root)},
			{"PATCH", "/Groups/" + staff, patchBody(`{"op":"add","path":"members","value":[{"value":"` + root + `"}]}`)},
			{"PUT", "/Groups/" + admins, groupBody("Admins", bob)},
			{"PATCH", "/Groups/" + admins, patchBody(`{"op":"remove","path":"members[value eq \"` + root + `\"]"}`)},
			{"PATCH", "/Groups/" + admins, patchBody(`{"op":"remove","path":"members"}`)},
			{"DELETE", "/Groups/" + admins, nil},
		}
		for _, r := range refused {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				c.do(r.method, r.path, r.body).wantError(t, http.StatusForbidden, "", "root ("+root+"), a local account")
			})
		}
		// A bulk of creates, which sso (no rules) may hold back to write
		// together (reconcile.Defer), refuses the one of root's userName.
		sso := newClient(t, db, srv, "acme", "sso")
		ops := bulkResults(t, sso.do("POST", "/Bulk", bulkBody(0, bulkOperation("POST", "/Users", "carl", "", userBody("carl")),
			bulkOperation("POST", "/Users", "root", "", userBody("root")))), 2)
		if ops[0]["status"] != "201" {
			t.Errorf("bulk create of carl: %v", ops[0])
		}
		wantOpError(t, ops[1], "403", "", "root ("+root+"), a local account")
		after := c.do("GET", "/Users/"+root, nil).want(t, http.StatusOK)
		if !jsonEqual(after.body, before.body) {
			t.Fatalf("the local user changed:\nbefore %s\nafter  %s", before.raw, after.raw)
		}
		events, err := db.AuditEvents(ctx, tenant.ID, root)
		if err != nil {
			t.Fatal(err)
		}
		notRefusal := func(ev store.AuditEvent) bool { return ev.Action != "refuse" || ev.Detail["reason"] != "local" }
		if n := len(slices.DeleteFunc(events, notRefusal)); n != len(refused)+1 {
			t.Errorf("%d refusal events, want %d", n, len(refused)+1)
		}

		// Group writes that leave the local user's membership as it is go
		// through: a rename, another member added, a PUT keeping them.
		c.do("PATCH", "/Groups/"+admins, patchBody(`{"op":"add","path":"members","value":[{"value":"`+bob+`"},{"value":"`+root+`"}]}`)).want(t, http.StatusNoContent)
		c.do("PUT", "/Groups/"+admins, groupBody("Administrators", root)).want(t, http.StatusOK)
		if m := memberSet(c.do("GET", "/Groups/"+admins, nil)); len(m) != 1 || m[root] == "" {
			t.Fatalf("Administrators: members %v, want root only", m)
		}
		c.do("PATCH", "/Groups/"+staff, patchBody(`{"op":"remove","path":"members[value eq \"`+root+`\"]"}`)).want(t, http.StatusNoContent)
	})
}
