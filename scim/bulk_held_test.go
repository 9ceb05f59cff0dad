package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestBulkCreatesTogether sends a bulk of 100 POST /Users: they are
// written together, in a few statements for the whole bulk, not a few
// per operation, and each user is as a single POST leaves them: readable
// at its location, counted, with its external ID and its audit event.
func TestBulkCreatesTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		statements := db.CountStatements()
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		c.do("POST", "/Users", userBody("first@example.com")).want(t, http.StatusCreated) // the configuration version seen
		const n = 100
		ops := make([]map[string]any, n)
		for i := range ops {
			ops[i] = bulkOperation("POST", "/Users", fmt.Sprint("u", i), "",
				userBody(fmt.Sprintf("user%d@example.com", i), "externalId", fmt.Sprint("ext", i)))
		}
		before := statements.Load()
		res := bulkResults(t, c.do("POST", "/Bulk", bulkBody(0, ops...)), n)
		got := statements.Load() - before
		t.Logf("%d statements for a bulk of %d creates", got, n)
		if got > 10 {
			t.Errorf("%d statements for a bulk of %d creates, want at most 10", got, n)
		}
		tenant, err := db.Tenant(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, op := range res {
			loc, _ := op["location"].(string)
			wantOp(t, op, "POST", "201", `W/"1"`, loc)
			if seen[loc] {
				t.Fatalf("location %s twice", loc)
			}
			seen[loc] = true
			if i%25 != 0 {
				continue
			}
			u := c.do("GET", strings.TrimPrefix(loc, c.base), nil).want(t, http.StatusOK)
			if u.str("userName") != fmt.Sprintf("user%d@example.com", i) || u.str("externalId") != fmt.Sprint("ext", i) {
				t.Errorf("user %d: %s", i, u.raw)
			}
			events, err := db.AuditEvents(t.Context(), tenant.ID, u.str("id"))
			if err != nil || len(events) != 1 || events[0].Action != "create" || events[0].Detail["after"] == nil {
				t.Errorf("user %d: audit events %+v, %v", i, events, err)
			}
		}
		if got := userCount(t, c); got != n+1 {
			t.Errorf("%v users, want %d", got, n+1)
		}
	})
}

// TestBulkCreatesTogetherConflicts holds creates back around ones that
// conflict, an existing userName and one sent twice in the bulk: the
// results are those of running the operations one by one, failOnErrors
// included, and what runs after the failure that stops the bulk is not
// written.
func TestBulkCreatesTogetherConflicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		c.do("POST", "/Users", userBody("taken@example.com", "name", map[string]any{"givenName": "Other"})).want(t, http.StatusCreated)
		res := bulkResults(t, c.do("POST", "/Bulk", bulkBody(2,
			bulkOperation("POST", "/Users", "a", "", userBody("a@example.com")),
			bulkOperation("POST", "/Users", "b", "", userBody("TAKEN@example.com")),
			bulkOperation("POST", "/Users", "c", "", userBody("c@example.com")),
			bulkOperation("POST", "/Users", "d", "", userBody("a@example.com", "displayName", "A twice")),
			bulkOperation("POST", "/Users", "e", "", userBody("e@example.com")),
		)), 4)
		wantOp(t, res[0], "POST", "201", `W/"1"`, res[0]["location"].(string))
		wantOpError(t, res[1], "409", "uniqueness", "userName")
		wantOp(t, res[2], "POST", "201", `W/"1"`, res[2]["location"].(string))
		wantOpError(t, res[3], "409", "uniqueness", "userName")
		if got := userCount(t, c); got != 3 {
			t.Errorf("%v users, want 3 (taken, a, c; e after failOnErrors not run)", got)
		}
		for _, name := range []string{"a", "c"} {
			got := c.do("GET", `/Users?filter=userName%20eq%20%22`+name+`@example.com%22`, nil).want(t, http.StatusOK)
			if got.body["totalResults"] != float64(1) {
				t.Errorf("%s: %s", name, got.raw)
			}
		}
	})
}
