package scim_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// exampleServer serves SCIM on db, mapping through the example
// configuration file (schemas/examples/<name>) as `serve --config` would,
// and returns a client of the example's connector, whose compatibility
// profile is set as the example says (scimd connector set).
func exampleServer(t *testing.T, db *store.DB, name, tenant, connector, profile string) *client {
	t.Helper()
	file := filepath.Join("..", "schemas", "examples", name)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv, engine := configServer(t, db, string(data))
	if err := engine.SetProfile(context.Background(), reconcile.CommandLine, tenant, connector, profile); err != nil {
		t.Fatal(err)
	}
	return newClient(t, db, srv, tenant, connector)
}

// grantsOf lists the grants of the user with SCIM id, as "kind:target".
func grantsOf(t *testing.T, db *store.DB, tenant, id string) []string {
	t.Helper()
	ctx := context.Background()
	tn, err := db.Tenant(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.User(ctx, tn.ID, 0, id)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := db.UserGrants(ctx, u.PK)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Kind+":"+g.Target)
	}
	return out
}

func wantGrants(t *testing.T, db *store.DB, tenant, id string, want ...string) {
	t.Helper()
	got := grantsOf(t, db, tenant, id)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("grants %v, want %v", got, want)
	}
}

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestExamples pushes each example's first user over SCIM, as the
// identity provider sends it, and checks the grants the example promises.
func TestExamples(t *testing.T) {
	t.Run("okta.yaml", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			okta := exampleServer(t, db, "okta.yaml", "acme", "okta", "okta")
			// Okta's POST /Users (its SPEC test's shape), with the profile
			// attributes the example maps: userType, department, costCenter.
			ann := okta.do(http.MethodPost, "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise},
				"userName": "ann.lee@acme.com", "externalId": "00u1ann",
				"name":        map[string]any{"givenName": "Ann", "familyName": "Lee"},
				"emails":      []any{map[string]any{"primary": true, "value": "ann.lee@acme.com", "type": "work"}},
				"displayName": "Ann Lee", "locale": "en-US", "userType": "Employee",
				"groups": []any{}, "password": "1mz050nq", "active": true,
				enterprise: map[string]any{"department": "Engineering", "costCenter": "ENG-PLATFORM"},
			}).want(t, http.StatusCreated)
			wantGrants(t, db, "acme", ann.str("id"),
				"role:employee", "group:Engineering", "role:engineer", "orgUnit:Engineering/PLATFORM", "group:Team PLATFORM")

			// Group Push of Engineering, which the rule created: Okta gets
			// that group back, not a second one.
			before := okta.do(http.MethodGet, `/Groups?filter=displayName+eq+"Engineering"`, nil).want(t, http.StatusOK)
			rs, _ := before.body["Resources"].([]any)
			if len(rs) != 1 {
				t.Fatalf("groups named Engineering: %s", before.raw)
			}
			ruleGroup, _ := rs[0].(map[string]any)["id"].(string)
			push := okta.do(http.MethodPost, "/Groups", groupBody("Engineering", ann.str("id"))).want(t, http.StatusCreated)
			if push.str("id") != ruleGroup {
				t.Fatalf("Group Push made group %s, want the rule's %s adopted", push.str("id"), ruleGroup)
			}
			okta.do(http.MethodPost, "/Groups", groupBody("engineering")).wantError(t, http.StatusConflict, "uniqueness", "displayName")

			// The next engineer still gets the group: no 409 for two groups
			// of one name.
			bob := okta.do(http.MethodPost, "/Users", map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise}, "userName": "bob@acme.com",
				"userType": "Employee", enterprise: map[string]any{"department": "Engineering", "costCenter": "ENG-DATA"},
			}).want(t, http.StatusCreated)
			wantGrants(t, db, "acme", bob.str("id"),
				"role:employee", "group:Engineering", "role:engineer", "orgUnit:Engineering/DATA", "group:Team DATA")

			// Carl is an engineer by Okta's group only; then Okta moves him
			// to Finance: out of the group, a FIN cost centre. The rule
			// reading groups stops firing, so its grants go.
			carlUser := map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise}, "userName": "carl@acme.com",
				"userType": "Employee", "active": true, enterprise: map[string]any{"department": "Operations"},
			}
			carl := okta.do(http.MethodPost, "/Users", carlUser).want(t, http.StatusCreated)
			patch := func(op, path string, value any) map[string]any {
				o := map[string]any{"op": op, "path": path}
				if value != nil {
					o["value"] = value
				}
				return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{o}}
			}
			okta.do(http.MethodPatch, "/Groups/"+ruleGroup, patch("add", "members", []any{map[string]any{"value": carl.str("id")}})).want(t, http.StatusNoContent)
			wantGrants(t, db, "acme", carl.str("id"), "role:employee", "group:Engineering", "role:engineer")
			okta.do(http.MethodPatch, "/Groups/"+ruleGroup, patch("remove", `members[value eq "`+carl.str("id")+`"]`, nil)).want(t, http.StatusNoContent)
			carlUser[enterprise] = map[string]any{"department": "Finance", "costCenter": "FIN-OPS"}
			okta.do(http.MethodPut, "/Users/"+carl.str("id"), carlUser).want(t, http.StatusOK)
			wantGrants(t, db, "acme", carl.str("id"), "role:employee", "orgUnit:Finance", "group:Finance", "role:finance-approver")
			members := memberSet(okta.do(http.MethodGet, "/Groups/"+ruleGroup, nil).want(t, http.StatusOK))
			if _, in := members[carl.str("id")]; in {
				t.Fatalf("carl is still in Engineering: %v", members)
			}
		})
	})

	t.Run("entra.yaml", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			entra := exampleServer(t, db, "entra.yaml", "acme", "entra", "entra")
			// Entra's POST /Users with its default attribute mappings:
			// mailNickname as externalId, jobTitle as title, department in
			// the enterprise extension.
			ann := entra.do(http.MethodPost, "/Users", map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise},
				"externalId": "ann.lee", "userName": "ann.lee@acme.com", "active": true,
				"emails": []any{map[string]any{"primary": true, "type": "work", "value": "ann.lee@acme.com"}},
				"meta":   map[string]any{"resourceType": "User"},
				"name":   map[string]any{"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
				"title":  "Sales Manager", "roles": []any{},
				enterprise: map[string]any{"department": "Sales", "employeeNumber": "1001"},
			}).want(t, http.StatusCreated)
			wantGrants(t, db, "acme", ann.str("id"),
				"role:employee", "role:people-manager", "group:Sales", "role:sales-rep", "group:Dept Sales")
			// The department's org unit Sales waits for an admin to create it.
		})
	})

	t.Run("school.yaml", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			okta := exampleServer(t, db, "school.yaml", "school", "okta", "okta")
			// The groups come first, from Okta's Group Push, as the example
			// says; the cohort group does not exist yet and is skipped.
			for _, g := range []string{"Student", "Faculty", "Staff"} {
				okta.do(http.MethodPost, "/Groups", groupBody(g)).want(t, http.StatusCreated)
			}
			const school = "urn:ietf:params:scim:schemas:extension:school:2.0:User"
			ann := okta.do(http.MethodPost, "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", school},
				"userName": "ann.lee@school.edu", "externalId": "00u1ann",
				"name":     map[string]any{"givenName": "Ann", "familyName": "Lee"},
				"emails":   []any{map[string]any{"primary": true, "value": "ann.lee@school.edu", "type": "work"}},
				"userType": "Student", "active": true, "groups": []any{},
				school: map[string]any{"gradYear": 2027, "entryYear": 2023, "institutionNumber": "S123"},
			}).want(t, http.StatusCreated)
			wantGrants(t, db, "school", ann.str("id"), "group:Student", "role:learner")
		})
	})
}
