package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestLocalUsersOverHTTP: an administrator marks a user local through the
// admin API; then SCIM may not replace, patch, delete or create-match
// them (403, a detail naming the local account), each refusal is an audit
// event, and the administrator's own writes still go through.
func TestLocalUsersOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		okta := token(t, e, "okta", "-")
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		users := srv.URL + "/scim/v2/acme/Users"
		body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"root@example.com","active":true}`
		status, doc, _ := call(t, "POST", users, okta, body)
		if status != 201 {
			t.Fatalf("POST: %d %v", status, doc)
		}
		id, _ := doc["id"].(string)
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/local", okta, `{"local": true}`); status != 403 && status != 401 {
			t.Fatalf("a connector's token marking a user local: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/local", wide, `{}`); status != 400 {
			t.Fatalf("no local in the body: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/local", wide, `{"local": true}`); status != 200 || doc["local"] != true {
			t.Fatalf("mark local: %d %v", status, doc)
		}
		if _, doc, _ := call(t, "GET", api+"/users/"+id, wide, ""); doc["local"] != true {
			t.Fatalf("GET shows %v, want local", doc)
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
		for i, c := range []struct{ method, url, body string }{
			{"PUT", users + "/" + id, body},
			{"PATCH", users + "/" + id, patch},
			{"DELETE", users + "/" + id, ""},
			{"POST", users, strings.Replace(body, `"active":true`, `"active":false`, 1)},
		} {
			status, doc, _ := call(t, c.method, c.url, okta, c.body)
			detail, _ := doc["detail"].(string)
			if status != 403 || !strings.Contains(detail, "local account managed only in scimd") {
				t.Fatalf("%s: %d %v, want 403 naming the local account", c.method, status, doc)
			}
			_, evs, _ := call(t, "GET", api+"/users/"+id+"/events", wide, "")
			if n := strings.Count(jsonText(t, evs), `"reason":"local"`); n != i+1 {
				t.Fatalf("%s: %d refusal events, want %d: %v", c.method, n, i+1, evs)
			}
		}
		if status, doc, _ := call(t, "GET", users+"/"+id, okta, ""); status != 200 || doc["active"] != true {
			t.Fatalf("the local user after the refusals: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/disable", wide, ""); status != 200 || doc["status"] != "disabled" {
			t.Fatalf("an administrator disabling a local user: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/local", wide, `{"local": false}`); status != 200 || doc["local"] != false {
			t.Fatalf("unmark: %d %v", status, doc)
		}
		req, _ := http.NewRequest("DELETE", users+"/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+okta)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 {
			t.Fatalf("DELETE once no longer local: %d", res.StatusCode)
		}
	})
}

// jsonText is v as JSON.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
