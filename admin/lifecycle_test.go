package admin_test

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestLifecycleOverHTTP: a SCIM DELETE soft-deletes (GET 404, RFC 7644
// §3.6); the admin API restores the user (disabled, without grants: GET
// 200 again, active false, no groups); enable brings active back; the
// admin DELETE soft-deletes again; disable shows active false.
func TestLifecycleOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		okta := token(t, e, "okta", "-")
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		if status, _, _ := call(t, "POST", api+"/orgunits", wide, `{"path":"Medicine/Cardiology"}`); status != 201 {
			t.Fatal(status)
		}
		if status, _, _ := call(t, "POST", api+"/groups", wide, `{"displayName":"Faculty"}`); status != 201 {
			t.Fatal(status)
		}
		status, doc, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, cardiologist)
		if status != 201 {
			t.Fatalf("create: %d %v", status, doc)
		}
		id := doc["id"].(string)
		userURL := srv.URL + "/scim/v2/acme/Users/" + id
		if status, doc, _ := call(t, "GET", userURL, okta, ""); status != 200 || doc["groups"] == nil {
			t.Fatalf("GET before delete: %d %v", status, doc)
		}
		req, _ := http.NewRequest("DELETE", userURL, nil)
		req.Header.Set("Authorization", "Bearer "+okta)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 204 {
			t.Fatalf("SCIM DELETE: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
		if status, _, _ := call(t, "GET", userURL, okta, ""); status != 404 {
			t.Fatalf("GET after delete: %d, want 404", status)
		}
		if status, doc, _ := call(t, "GET", srv.URL+`/scim/v2/acme/Users?filter=userName%20eq%20%22heart@example.com%22`, okta, ""); status != 200 || doc["totalResults"] != 0.0 {
			t.Fatalf("filter after delete: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/restore", wide, ""); status != 200 || doc["status"] != "disabled" {
			t.Fatalf("restore: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/restore", wide, ""); status != 409 {
			t.Fatalf("restore twice: %d %v", status, doc)
		}
		status, doc, _ = call(t, "GET", userURL, okta, "")
		if status != 200 || doc["active"] != false || doc["groups"] != nil {
			t.Fatalf("GET after restore: %d %v, want 200, active false, no groups", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/enable", wide, ""); status != 200 || doc["status"] != "active" {
			t.Fatalf("enable: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "GET", userURL, okta, ""); status != 200 || doc["active"] != true {
			t.Fatalf("GET after enable: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "POST", api+"/users/"+id+"/disable", wide, ""); status != 200 || doc["status"] != "disabled" {
			t.Fatalf("disable: %d %v", status, doc)
		}
		if status, doc, _ := call(t, "GET", srv.URL+"/scim/v2/acme/Users?filter=active%20eq%20false", okta, ""); status != 200 || doc["totalResults"] != 1.0 {
			t.Fatalf("active eq false after disable: %d %v", status, doc)
		}
		req, _ = http.NewRequest("DELETE", api+"/users/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+wide)
		if res, err = http.DefaultClient.Do(req); err != nil || res.StatusCode != 204 {
			t.Fatalf("admin DELETE: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
		if status, _, _ := call(t, "GET", userURL, okta, ""); status != 404 {
			t.Fatalf("GET after admin delete: %d", status)
		}
	})
}
