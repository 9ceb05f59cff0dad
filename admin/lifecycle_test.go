package admin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestUserSearchAndLifecycle: the admin list searches by name or email,
// by state (deleted users only when asked) and by org unit within the
// administrator's own; lifecycle changes keep to the administrator's
// scope.
func TestUserSearchAndLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, _, wide, medicine, ids := medicineTenant(t, db)
		api := srv.URL + "/admin/v1/acme"
		list := func(token, query string) (int, []string) {
			t.Helper()
			status, doc, _ := call(t, "GET", api+"/users?"+query, token, "")
			var out []string
			users, _ := doc["users"].([]any)
			for _, u := range users {
				m := u.(map[string]any)
				out = append(out, strings.SplitN(m["userName"].(string), "@", 2)[0]+":"+m["status"].(string))
			}
			if status != 200 {
				d, _ := json.Marshal(doc)
				out = []string{string(d)}
			}
			return status, out
		}
		for _, c := range []struct {
			token, query string
			status       int
			want         []string
		}{
			{wide, "", 200, []string{"heart:active", "plain:active"}},
			{wide, "q=" + url.QueryEscape("HEART@"), 200, []string{"heart:active"}},
			{wide, "q=pat", 200, []string{"plain:active"}},
			{wide, "status=disabled", 200, nil},
			{wide, "status=active&status=pending", 200, []string{"heart:active", "plain:active"}},
			{wide, "orgUnit=medicine", 200, []string{"heart:active"}},
			{wide, "limit=1", 200, []string{"heart:active"}},
			{medicine, "", 200, []string{"heart:active"}},
			{medicine, "orgUnit=Medicine/Cardiology", 200, []string{"heart:active"}},
		} {
			if status, got := list(c.token, c.query); status != c.status || !slices.Equal(got, c.want) {
				t.Errorf("GET users?%s: %d %v, want %d %v", c.query, status, got, c.status, c.want)
			}
		}
		if status, got := list(medicine, "orgUnit=Surgery"); status != 403 || !strings.Contains(got[0], "units below it only") {
			t.Errorf("orgUnit outside the admin's: %d %v", status, got)
		}
		if status, got := list(wide, "status=gone"); status != 400 || !strings.Contains(got[0], "active, disabled, pending or deleted") {
			t.Errorf("unknown status: %d %v", status, got)
		}

		if status, doc, _ := call(t, "POST", api+"/users/"+ids["plain"]+"/disable", medicine, ""); status != 404 {
			t.Errorf("an org unit's admin disabled a user outside it: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+ids["heart"]+"/disable", medicine, ""); status != 200 || doc["status"] != "disabled" {
			t.Errorf("disable within the unit: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+ids["heart"]+"/enable", medicine, ""); status != 200 || doc["status"] != "active" {
			t.Errorf("enable within the unit: %d %v", status, doc)
		}
		req := api + "/users/" + ids["plain"]
		del, _ := http.NewRequest("DELETE", req, nil)
		del.Header.Set("Authorization", "Bearer "+wide)
		if res, err := http.DefaultClient.Do(del); err != nil || res.StatusCode != 204 {
			t.Fatalf("DELETE: %v %v", res, err)
		} else {
			res.Body.Close()
		}
		if status, got := list(wide, ""); status != 200 || !slices.Equal(got, []string{"heart:active"}) {
			t.Errorf("after the delete: %v", got)
		}
		if status, got := list(wide, "status=deleted&q=plain"); status != 200 || !slices.Equal(got, []string{"plain:deleted"}) {
			t.Errorf("status=deleted: %v", got)
		}
		if status, got := list(wide, "status=active,deleted"); status != 200 || !slices.Equal(got, []string{"heart:active", "plain:deleted"}) {
			t.Errorf("status=active,deleted: %v", got)
		}
		if status, doc, _ := call(t, "GET", req, wide, ""); status != 404 {
			t.Errorf("GET a deleted user: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", req+"/restore", wide, ""); status != 200 || doc["status"] != "disabled" {
			t.Errorf("restore: %d %v", status, doc)
		}
		status, doc, _ := call(t, "PUT", req+"/grants", wide, `{"groups":["faculty"]}`)
		if grants, _ := json.Marshal(doc["grants"]); status != 200 || !strings.Contains(string(grants), `"source":"admin","target":"Faculty"`) {
			t.Errorf("PUT grants: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "PUT", req+"/grants", wide, `{"groups":["Nope"]}`); status != 400 || !strings.Contains(doc["detail"].(string), `group "Nope" does not exist`) {
			t.Errorf("PUT grants of an unknown group: %d %v", status, doc)
		}
		// An org unit's administrator deletes a user of the unit, still
		// finds them, and restores them, back in the unit.
		heart := api + "/users/" + ids["heart"]
		del, _ = http.NewRequest("DELETE", heart, nil)
		del.Header.Set("Authorization", "Bearer "+medicine)
		if res, err := http.DefaultClient.Do(del); err != nil || res.StatusCode != 204 {
			t.Fatalf("unit admin DELETE: %v %v", res, err)
		} else {
			res.Body.Close()
		}
		if status, got := list(medicine, "status=deleted"); status != 200 || !slices.Equal(got, []string{"heart:deleted"}) {
			t.Errorf("unit admin's deleted users: %v", got)
		}
		if status, doc, _ := call(t, "POST", heart+"/restore", medicine, ""); status != 200 || doc["status"] != "disabled" {
			t.Errorf("unit admin restore: %d %v", status, doc)
		}
		if status, got := list(medicine, ""); status != 200 || !slices.Equal(got, []string{"heart:disabled"}) {
			t.Errorf("after the unit admin's restore: %v", got)
		}
	})
}
