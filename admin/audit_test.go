package admin_test

import (
	"cmp"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestAuditLogAPI reads the tenant's audit log through the admin API with
// each filter and by pages, and holds an org unit's administrator to one
// user of their unit at a time.
func TestAuditLogAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, okta, wide, medicine, ids := medicineTenant(t, db)
		api := srv.URL + "/admin/v1/acme"
		if status, doc, _ := call(t, "POST", api+"/users/"+ids["plain"]+"/disable", wide, ""); status != 200 {
			t.Fatalf("disable: %d %v", status, doc)
		}
		start := time.Now().UTC()
		if status, doc, _ := call(t, "POST", api+"/users/"+ids["heart"]+"/disable", medicine, ""); status != 200 {
			t.Fatalf("disable: %d %v", status, doc)
		}

		// list gives the events of a query, a page at a time, as
		// "source connector action user" (or the resource type).
		list := func(token, query string, limit int) (int, []string) {
			t.Helper()
			var out []string
			for before := ""; len(out) < 100; {
				q, _ := url.ParseQuery(query)
				q.Set("limit", fmt.Sprint(limit))
				if before != "" {
					q.Set("before", before)
				}
				status, doc, _ := call(t, "GET", api+"/audit?"+q.Encode(), token, "")
				if status != 200 {
					return status, []string{fmt.Sprint(doc["detail"])}
				}
				events := doc["events"].([]any)
				for _, ev := range events {
					m := ev.(map[string]any)
					who := m["resourceType"].(string)
					if n, _ := m["userName"].(string); n != "" {
						who = strings.SplitN(n, "@", 2)[0]
					}
					if who == "User" || m["at"] == "" || m["id"] == nil {
						t.Errorf("event %v: a user's event without its userName, time or id", m)
					}
					c, _ := m["connector"].(string)
					out = append(out, fmt.Sprintf("%s %s %s %s", m["source"], cmp.Or(c, "-"), m["action"], who))
				}
				next, _ := doc["next"].(string)
				if next == "" {
					break
				}
				before = next
			}
			return 200, out
		}
		all := []string{
			"admin medicine-admins disable heart",
			"admin admins disable plain",
			"scim okta create plain",
			"scim okta create heart",
			"cli - issue Token", // medicine-admins'
			"cli - update Connector",
			"cli - create Connector",
			"admin admins create Group",
			"admin admins create OrgUnit",
			"cli - issue Token", // admins'
			"cli - update Connector",
			"cli - create Connector",
			"cli - issue Token", // okta's
			"cli - create Connector",
		}

		got := func(token, query string, limit int) []string {
			t.Helper()
			status, out := list(token, query, limit)
			if status != 200 {
				t.Errorf("GET audit?%s: %d %v", query, status, out)
			}
			return out
		}
		if g := got(wide, "", 100); !slices.Equal(g, all) {
			t.Errorf("the whole log:\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(all, "\n"))
		}
		if g, w := got(wide, "", 3), got(wide, "", 100); !slices.Equal(g, w) {
			t.Errorf("by pages of 3:\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"user=" + ids["heart"], []string{"admin medicine-admins disable heart", "scim okta create heart"}},
			{"user=HEART@example.com", []string{"admin medicine-admins disable heart", "scim okta create heart"}},
			{"connector=okta", []string{"scim okta create plain", "scim okta create heart"}},
			{"source=scim&user=plain@example.com", []string{"scim okta create plain"}},
			{"source=admin&connector=admins", []string{"admin admins disable plain", "admin admins create Group", "admin admins create OrgUnit"}},
			{"since=" + start.Format(time.RFC3339Nano), []string{"admin medicine-admins disable heart"}},
			{"connector=admins&until=" + start.Format(time.RFC3339Nano), []string{"admin admins disable plain", "admin admins create Group", "admin admins create OrgUnit"}},
			{"since=" + start.Format(time.DateOnly) + "&connector=medicine-admins", []string{"admin medicine-admins disable heart"}},
		} {
			if g := got(wide, c.query, 1); !slices.Equal(g, c.want) {
				t.Errorf("GET audit?%s:\n%s\nwant\n%s", c.query, strings.Join(g, "\n"), strings.Join(c.want, "\n"))
			}
		}
		// A user's event carries its detail: the rules fired, before and after.
		if status, doc, _ := call(t, "GET", api+"/audit?connector=okta&user="+ids["heart"], wide, ""); status == 200 {
			ev := doc["events"].([]any)[0].(map[string]any)
			detail := ev["detail"].(map[string]any)
			after, _ := detail["after"].(map[string]any)
			if fired, _ := detail["fired"].([]any); len(fired) != 1 || fired[0] != "cardiology" || after["userName"] != "heart@example.com" || ev["resourceId"] != ids["heart"] {
				t.Errorf("the create's event: %v", ev)
			}
		}
		// An org unit's administrator: one user of the unit at a time.
		if g := got(medicine, "user="+ids["heart"], 50); !slices.Equal(g, []string{"admin medicine-admins disable heart", "scim okta create heart"}) {
			t.Errorf("the unit admin's user: %v", g)
		}
		for _, c := range []struct {
			token, query string
			status       int
			detailHas    string
		}{
			{medicine, "", 403, "one user of their unit"},
			{medicine, "connector=okta", 403, "tenant-wide"},
			{medicine, "user=" + ids["plain"], 404, "no user"},
			{medicine, "user=plain@example.com", 404, "no user"},
			{wide, "user=nobody@example.com", 404, "no user"},
			{wide, "connector=nope", 404, "no connector named"},
			{wide, "source=ldap", 400, "scim"},
			{wide, "since=yesterday", 400, "RFC 3339"},
			{wide, "until=2026-13-01", 400, "RFC 3339"},
			{wide, "before=12", 400, "next of the page before"},
			{wide, "limit=0", 400, "positive"},
			{okta, "", 401, "admin"},
		} {
			status, doc, _ := call(t, "GET", api+"/audit?"+c.query, c.token, "")
			if detail, _ := doc["detail"].(string); status != c.status || !strings.Contains(detail, c.detailHas) {
				t.Errorf("GET audit?%s: %d %v, want %d with %q", c.query, status, doc, c.status, c.detailHas)
			}
		}
	})
}

// medicineTenant is acme with the unit Medicine/Cardiology and the group
// Faculty (made by the tenant-wide admin connector admins), Medicine's
// admin connector, and two users pushed by okta: heart, of Cardiology,
// and plain, of no unit (ids by those names).
func medicineTenant(t *testing.T, db *store.DB) (srv *httptest.Server, okta, wide, medicine string, ids map[string]string) {
	t.Helper()
	srv, e := server(t, db, 0)
	okta = token(t, e, "okta", "-")
	wide = token(t, e, "admins", "")
	for _, c := range []struct{ path, body string }{
		{"/orgunits", `{"path":"Medicine/Cardiology"}`}, {"/groups", `{"displayName":"Faculty"}`},
	} {
		if status, doc, _ := call(t, "POST", srv.URL+"/admin/v1/acme"+c.path, wide, c.body); status != 201 {
			t.Fatalf("POST %s: %d %v", c.path, status, doc)
		}
	}
	medicine = token(t, e, "medicine-admins", "Medicine")
	ids = map[string]string{}
	for _, u := range [][2]string{
		{"heart", cardiologist},
		{"plain", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"plain@example.com","displayName":"Pat Lain","active":true}`},
	} {
		status, doc, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, u[1])
		if status != 201 {
			t.Fatalf("POST %s: %d %v", u[0], status, doc)
		}
		ids[u[0]] = doc["id"].(string)
	}
	return srv, okta, wide, medicine, ids
}
