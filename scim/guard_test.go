package scim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const guardConfig = `
tenants:
  - name: acme
    connectors:
      - name: okta
        deletionGuard: {percent: 10, window: 1h, notify: [it@acme.org]}
`

// guardServer starts scimd on db with the guarded okta connector; a new
// one on the same database is a restart.
func guardServer(t *testing.T, db *store.DB) (*httptest.Server, *reconcile.Engine) {
	t.Helper()
	return configServer(t, db, guardConfig)
}

var deactivate = map[string]any{
	"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
	"Operations": []map[string]any{{"op": "replace", "path": "active", "value": false}},
}

// TestDeletionGuard is issue 12's acceptance: a push that deactivates 60
// of 100 users with a 10% threshold applies 10 and holds the rest (503
// with Retry-After); approval applies them, rejection drops them, and
// nothing is lost across a restart.
func TestDeletionGuard(t *testing.T) {
	for _, approve := range []bool{true, false} {
		t.Run(map[bool]string{true: "approved", false: "rejected"}[approve], func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				srv, _ := guardServer(t, db)
				c := newClient(t, db, srv, "acme", "okta")
				ids := make([]string, 100)
				for i := range ids {
					ids[i] = c.do("POST", "/Users", userBody(fmt.Sprintf("u%d@acme.org", i))).want(t, http.StatusCreated).str("id")
				}
				applied, held := 0, 0
				for _, id := range ids[:60] {
					switch r := c.do("PATCH", "/Users/"+id, deactivate); r.status {
					case http.StatusOK, http.StatusNoContent:
						applied++
					case http.StatusServiceUnavailable:
						held++
						if got, want := r.header.Get("Retry-After"), strconv.Itoa(int(reconcile.HeldRetryAfter.Seconds())); got != want {
							t.Errorf("held PATCH of %s: Retry-After %q, want %q (HeldRetryAfter, not an outage's)", id, got, want)
						}
						r.wantError(t, http.StatusServiceUnavailable, "", "held")
					default:
						t.Fatalf("PATCH %s: %d %s", id, r.status, r.raw)
					}
				}
				if applied != 10 || held != 50 {
					t.Fatalf("applied %d, held %d; want 10 and 50", applied, held)
				}
				// The IdP retries a held write: still held, not held twice.
				c.do("PATCH", "/Users/"+ids[59], deactivate).want(t, http.StatusServiceUnavailable)
				// A write that does not deactivate is unaffected.
				c.do("PATCH", "/Users/"+ids[99], map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []map[string]any{{"op": "replace", "path": "displayName", "value": "Still Here"}},
				}).want(t, http.StatusOK)

				// A restart: a new engine and server on the same database.
				srv, e := guardServer(t, db)
				c.base = srv.URL + "/scim/v2/acme"
				tenant, err := db.Tenant(t.Context(), "acme")
				if err != nil {
					t.Fatal(err)
				}
				by := reconcile.CommandLine
				by.TenantName, by.TenantID = tenant.Name, tenant.ID
				pending, err := e.HeldWrites(t.Context(), by, "okta", store.HeldPending, 0, 1000)
				if err != nil {
					t.Fatal(err)
				}
				if len(pending) != 50 {
					t.Fatalf("%d pending held writes after the restart, want 50 (one per user, retries included)", len(pending))
				}
				if pending[49].Attempts != 2 {
					t.Errorf("the retried held write counts %d attempts, want 2", pending[49].Attempts)
				}
				decide := e.RejectHeld
				if approve {
					decide = e.ApproveHeld
				}
				d, err := decide(t.Context(), by, "okta", nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Decided) != 50 {
					t.Fatalf("%d held writes decided, want 50", len(d.Decided))
				}
				disabled := 0
				for _, id := range ids {
					if r := c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK); r.body["active"] == false {
						disabled++
					}
				}
				want := 10
				if approve {
					want = 60
				}
				if disabled != want {
					t.Errorf("%d users disabled, want %d", disabled, want)
				}
				r := c.do("PATCH", "/Users/"+ids[59], deactivate)
				if approve {
					// Already disabled: the IdP's retry changes nothing.
					r.want(t, http.StatusOK)
				} else {
					// A rejected write's retry is refused for good, not held again.
					r.wantError(t, http.StatusForbidden, "", "rejected")
				}
				left, err := e.HeldWrites(t.Context(), by, "okta", store.HeldPending, 0, 1000)
				if err != nil || len(left) != 0 {
					t.Errorf("pending after deciding: %d, %v", len(left), err)
				}
			})
		})
	}
}

// TestDeletionGuardCost counts what the guard adds to a write: nothing to
// one that does not deactivate, a few statements to one that does.
func TestDeletionGuardCost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		statements := db.CountStatements()
		guarded, _ := guardServer(t, db)
		g := newClient(t, db, guarded, "acme", "okta")
		plain := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "entra")
		rename := map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []map[string]any{{"op": "replace", "path": "displayName", "value": "Renamed"}},
		}
		// The fewest of runs writes: on PostgreSQL a statement of the
		// server's own (a principal cache refresh) may fall in the window.
		// (The guard here holds a second deactivation: those run once.)
		cost := func(c *client, name string, body map[string]any, runs int) int64 {
			least := int64(-1)
			for i := range runs {
				id := c.do("POST", "/Users", userBody(fmt.Sprint(i, name))).want(t, http.StatusCreated).str("id")
				c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
				before := statements.Load()
				c.do("PATCH", "/Users/"+id, body).want(t, http.StatusOK)
				if n := statements.Load() - before; least < 0 || n < least {
					least = n
				}
			}
			return least
		}
		renameGuarded, renamePlain := cost(g, "a@acme.org", rename, 3), cost(plain, "b@acme.org", rename, 3)
		offGuarded, offPlain := cost(g, "c@acme.org", deactivate, 1), cost(plain, "d@acme.org", deactivate, 1)
		t.Logf("statements: rename %d guarded, %d not; deactivation %d guarded, %d not", renameGuarded, renamePlain, offGuarded, offPlain)
		if renameGuarded != renamePlain {
			t.Errorf("a rename costs %d statements on a guarded connector, %d on another: want the same", renameGuarded, renamePlain)
		}
		if extra := offGuarded - offPlain; extra < 1 || extra > 8 {
			t.Errorf("the guard adds %d statements to a deactivation, want 1 to 8", extra)
		}
	})
}

// TestDeletionGuardHoldsEveryMethod: Okta deactivates with a PUT of
// active false and deletes with DELETE, both handed to elimity-com/scim,
// which turns any status RFC 7644 does not list for the method into a
// 500 "not applicable"; a held write is still the 503 with Retry-After
// the IdP retries.
func TestDeletionGuardHoldsEveryMethod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, _ := guardServer(t, db)
		c := newClient(t, db, srv, "acme", "okta")
		ids := make([]string, 100)
		for i := range ids {
			ids[i] = c.do("POST", "/Users", userBody(fmt.Sprintf("u%d@acme.org", i))).want(t, http.StatusCreated).str("id")
		}
		// The threshold lets some through (10% of the live users); the
		// first DELETE past it is held, and so is a PUT of active false.
		var held []response
		for n, id := range ids {
			r := c.do("DELETE", "/Users/"+id, nil)
			if r.status == http.StatusNoContent {
				continue
			}
			if n == 0 {
				t.Fatalf("the first DELETE: %d %s", r.status, r.raw)
			}
			held = append(held, r, c.do("PUT", "/Users/"+ids[n+1], userBody(fmt.Sprintf("u%d@acme.org", n+1), "active", false)))
			break
		}
		if len(held) == 0 {
			t.Fatal("the guard held none of 100 deletions")
		}
		for i, r := range held {
			r.wantError(t, http.StatusServiceUnavailable, "", "held")
			if got, want := r.header.Get("Retry-After"), strconv.Itoa(int(reconcile.HeldRetryAfter.Seconds())); got != want {
				t.Errorf("held write %d: Retry-After %q, want %q", i, got, want)
			}
		}
	})
}
