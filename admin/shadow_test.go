package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestShadowReport: a shadow connector's user, granted a unit and a group
// by its rules, is reported with those grants and written nowhere; once
// the connector is live the same POST writes the grants the report
// counted.
func TestShadowReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv, e := server(t, db, 0)
		okta := token(t, e, "okta", "-")
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		for _, c := range [][2]string{{"/orgunits", `{"path":"Medicine"}`}, {"/orgunits", `{"path":"Medicine/Cardiology"}`}, {"/groups", `{"displayName":"Faculty"}`}} {
			if status, doc, _ := call(t, "POST", api+c[0], wide, c[1]); status != 201 {
				t.Fatalf("POST %s: %d %v", c[0], status, doc)
			}
		}
		if err := e.SetMode(ctx, reconcile.CommandLine, "acme", "okta", store.ModeShadow); err != nil {
			t.Fatal(err)
		}
		status, created, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, cardiologist)
		if status != 201 {
			t.Fatalf("shadow POST: %d %v", status, created)
		}
		if status, doc, _ := call(t, "GET", api+"/users/"+created["id"].(string), wide, ""); status != 404 {
			t.Fatalf("the shadow user through the admin API: %d %v, want 404 (not written)", status, doc)
		}

		// A later write plans against the grants kept in shadow: they are
		// kept, not granted again.
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Surgeon"}]}`
		if status, doc, _ := call(t, "PATCH", srv.URL+"/scim/v2/acme/Users/"+created["id"].(string), okta, patch); status != 200 && status != 204 {
			t.Fatalf("shadow PATCH: %d %v", status, doc)
		}

		status, report, _ := call(t, "GET", api+"/connectors/okta/shadow", wide, "")
		if status != 200 {
			t.Fatalf("GET shadow: %d %v", status, report)
		}
		granted, _ := json.Marshal(report["granted"])
		if string(granted) != `{"group:Faculty":1,"orgUnit:Medicine/Cardiology":1}` || report["mode"] != "shadow" {
			t.Fatalf("shadow report granted %s, mode %v: %v", granted, report["mode"], report)
		}
		entries, _ := report["entries"].([]any)
		if len(entries) != 2 || entries[0].(map[string]any)["action"] != "create" || report["attributes"].(map[string]any)["title"] != float64(1) {
			t.Fatalf("shadow report entries: %v", report["entries"])
		}
		if status, doc, _ := call(t, "GET", api+"/connectors/okta/shadow?count=x", wide, ""); status != 400 {
			t.Errorf("GET shadow?count=x: %d %v, want 400", status, doc)
		}
		if status, doc, _ := call(t, "GET", api+"/connectors/okta/shadow", okta, ""); status != 401 {
			t.Errorf("GET shadow as a SCIM connector: %d %v, want 401", status, doc)
		}

		// Live: the same POST writes what the report counted.
		if err := e.SetMode(ctx, reconcile.CommandLine, "acme", "okta", store.ModeLive); err != nil {
			t.Fatal(err)
		}
		status, real, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, cardiologist)
		if status != 201 {
			t.Fatalf("live POST: %d %v", status, real)
		}
		_, account, _ := call(t, "GET", api+"/users/"+real["id"].(string), wide, "")
		grants, _ := account["grants"].([]any)
		text, _ := json.Marshal(grants)
		if len(grants) != 2 || !strings.Contains(string(text), `"target":"Medicine/Cardiology"`) || !strings.Contains(string(text), `"target":"Faculty"`) {
			t.Fatalf("live grants %s, want the 2 the shadow report counted", text)
		}
	})
}
