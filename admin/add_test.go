package admin_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestAddUsersAndGuests: a pasted list adds users with one role and group
// set, or nothing when a line is bad; a guest is invited to one group with
// a window; an org unit's administrator may do neither.
func TestAddUsersAndGuests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		if status, doc, _ := call(t, "POST", api+"/orgunits", wide, `{"path":"Medicine"}`); status != 201 {
			t.Fatalf("POST orgunit: %d %v", status, doc)
		}
		unit := token(t, e, "medicine-admins", "Medicine")
		for _, g := range []string{"Faculty", "Library"} {
			if status, doc, _ := call(t, "POST", api+"/groups", wide, `{"displayName":"`+g+`"}`); status != 201 {
				t.Fatalf("POST group: %d %v", status, doc)
			}
		}

		status, doc, _ := call(t, "POST", api+"/users/add", wide, `{"text":"ann@example.com\nbob@example\n\nann@example.com","roles":["lecturer"],"groups":["Faculty"]}`)
		errs, _ := doc["errors"].([]any)
		if status != 400 || doc["committed"] != false || len(errs) != 2 ||
			!strings.Contains(errs[0].(map[string]any)["detail"].(string), "not an email address") || errs[0].(map[string]any)["line"] != 2.0 ||
			errs[1].(map[string]any)["line"] != 4.0 {
			t.Fatalf("bad list: %d %v", status, doc)
		}
		if _, list, _ := call(t, "GET", api+"/users", wide, ""); len(list["users"].([]any)) != 0 {
			t.Fatalf("a refused list wrote users: %v", list)
		}

		status, doc, _ = call(t, "POST", api+"/users/add", wide, `{"emails":["ann@example.com","bob@example.com"],"roles":["lecturer"],"groups":["Faculty"]}`)
		created, _ := doc["created"].([]any)
		if status != 200 || doc["committed"] != true || doc["added"] != 2.0 || doc["rolesAdded"] != 1.0 || len(created) != 2 {
			t.Fatalf("add: %d %v", status, doc)
		}
		id := created[0].(map[string]any)["id"].(string)
		_, ann, _ := call(t, "GET", api+"/users/"+id, wide, "")
		if got := grantNames(ann); got != "group:Faculty role:lecturer" {
			t.Fatalf("ann's grants: %s (%v)", got, ann)
		}

		status, doc, _ = call(t, "POST", api+"/guests", wide, `{"email":"visitor@example.org","givenName":"Vi","group":"Library","accessStart":"2026-01-01T00:00:00Z","accessEnd":"2099-01-01T00:00:00Z"}`)
		if status != 200 || doc["userName"] != "visitor@example.org" || grantNames(doc) != "group:Library" {
			t.Fatalf("guest: %d %v", status, doc)
		}
		status, doc, _ = call(t, "POST", api+"/guests", wide, `{"email":"ann@example.com","group":"Library"}`)
		if status != 400 || !strings.Contains(doc["detail"].(string), "member already") {
			t.Fatalf("a member as guest: %d %v", status, doc)
		}
		for _, path := range []string{"/users/add", "/guests"} {
			if status, doc, _ := call(t, "POST", api+path, unit, `{"emails":["c@example.com"],"email":"c@example.com","group":"Library"}`); status != 403 {
				t.Fatalf("org unit admin POST %s: %d %v", path, status, doc)
			}
		}
	})
}

// grantNames lists a user document's grants as "kind:target", sorted.
func grantNames(doc map[string]any) string {
	var out []string
	gs, _ := doc["grants"].([]any)
	for _, g := range gs {
		m := g.(map[string]any)
		out = append(out, m["kind"].(string)+":"+m["target"].(string))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
