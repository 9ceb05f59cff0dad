package scim_test

import (
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
	"net/http/httptest"
)

// TestActiveComputed: SCIM's active is false for a disabled user and for
// one outside their access window, computed when read (GET, both list
// paths), so the user comes back on their own when the window opens; the
// active filter says the same; a deleted user is in no answer.
func TestActiveComputed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg, err := rules.Load("test.yaml", []byte(`
tenants:
  - name: acme
    connectors:
      - name: okta
        rules:
          - name: contractors
            if: userType == "Contractor"
            accessStart: "2030-01-01"
            accessEnd: "2030-06-30"
`))
		if err != nil {
			t.Fatal(err)
		}
		engine := reconcile.New(db, cfg)
		var clock atomic.Value
		clock.Store(time.Date(2029, 12, 1, 0, 0, 0, 0, time.UTC))
		engine.SetClock(func() time.Time { return clock.Load().(time.Time) })
		srv := httptest.NewServer(scim.NewHandler(scim.Config{}, db.Reader(), engine))
		t.Cleanup(srv.Close)
		c := newClient(t, db, srv, "acme", "okta")
		ids := map[string]string{}
		for _, u := range []map[string]any{
			{"userName": "gus", "userType": "Contractor", "active": true},
			{"userName": "ann", "active": true},
			{"userName": "dis", "active": false},
			{"userName": "del", "active": true},
		} {
			u["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
			r := c.do("POST", "/Users", u).want(t, 201)
			ids[u["userName"].(string)] = r.body["id"].(string)
		}
		c.do("DELETE", "/Users/"+ids["del"], nil).want(t, 204)
		c.do("GET", "/Users/"+ids["del"], nil).want(t, 404)

		// names lists the userNames of a list answer, with active ones
		// marked +.
		names := func(query string) []string {
			t.Helper()
			r := c.do("GET", "/Users?"+query, nil).want(t, 200)
			var out []string
			res, _ := r.body["Resources"].([]any)
			for _, x := range res {
				m := x.(map[string]any)
				n := m["userName"].(string)
				if m["active"] == true {
					n = "+" + n
				}
				out = append(out, n)
			}
			if int(r.body["totalResults"].(float64)) != len(out) {
				t.Fatalf("%s: totalResults %v, %d listed", query, r.body["totalResults"], len(out))
			}
			return out
		}
		check := func(when string, want []string) {
			t.Helper()
			for _, q := range []string{"", "attributes=userName,active"} { // spliced, rendered
				if got := names(q); !slices.Equal(got, want) {
					t.Errorf("%s, list %q: %v, want %v", when, q, got, want)
				}
			}
			var active, inactive []string
			for _, n := range want {
				if n[0] == '+' {
					active = append(active, n)
				} else {
					inactive = append(inactive, n)
				}
			}
			if got := names("filter=" + url.QueryEscape("active eq true")); !slices.Equal(got, active) {
				t.Errorf("%s, active eq true: %v, want %v", when, got, active)
			}
			if got := names("filter=" + url.QueryEscape("active eq false")); !slices.Equal(got, inactive) {
				t.Errorf("%s, active eq false: %v, want %v", when, got, inactive)
			}
			if got := names("filter=" + url.QueryEscape("active ne true")); !slices.Equal(got, inactive) {
				t.Errorf("%s, active ne true: %v, want %v", when, got, inactive)
			}
			gus := c.do("GET", "/Users/"+ids["gus"], nil).want(t, 200)
			if gus.body["active"] != (want[0] == "+gus") {
				t.Errorf("%s, GET gus: active %v", when, gus.body["active"])
			}
		}
		check("before the window", []string{"gus", "+ann", "dis"})
		clock.Store(time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC))
		check("in the window", []string{"+gus", "+ann", "dis"})
		clock.Store(time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC))
		check("after the window", []string{"gus", "+ann", "dis"})
	})
}
