package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestConfigCheck: an unsaved configuration is checked as PUT /config
// checks it, every problem with its line and column, and nothing saved.
func TestConfigCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		status, got, _ := call(t, "POST", api+"/config/check", wide, hr)
		if status != 200 || got["valid"] != true || fmt.Sprint(got["problems"]) != "[]" || fmt.Sprint(got["connectors"]) != "[okta]" {
			t.Fatalf("a valid configuration: %d %v", status, got)
		}
		tests := []struct {
			name, yaml string
			line, col  float64
			msg        string
		}{
			{"a YAML syntax error has its line and column", strings.Replace(hr, `if: department == "HR"`, `if: department == "HR": x`, 1), 9, 35, "YAML syntax"},
			{"an unknown variable is placed at its column", strings.Replace(hr, "department", "departmnet", 1), 9, 17, "departmnet"},
			{"an unknown key is placed at it", strings.Replace(hr, "    groups: [Faculty]\n", "    grups: [Faculty]\n", 1), 10, 13, "grups"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, got, _ := call(t, "POST", api+"/config/check", wide, tt.yaml)
				ps, _ := got["problems"].([]any)
				if status != 200 || got["valid"] != false || len(ps) == 0 {
					t.Fatalf("%d %v, want problems", status, got)
				}
				p := ps[0].(map[string]any)
				if p["Line"] != tt.line || p["Column"] != tt.col || !strings.Contains(fmt.Sprint(p["Msg"]), tt.msg) {
					t.Fatalf("problem %v, want %v:%v %q", p, tt.line, tt.col, tt.msg)
				}
			})
		}
		if status, _, _ := call(t, "GET", api+"/config", wide, ""); status != 404 {
			t.Fatalf("a check saved the configuration: %d", status)
		}
		if status, _, _ := call(t, "POST", api+"/orgunits", wide, `{"path": "Medicine"}`); status != 201 {
			t.Fatalf("create the org unit: %d", status)
		}
		scoped := token(t, e, "unit-admins", "Medicine")
		if status, _, _ := call(t, "POST", api+"/config/check", scoped, hr); status != 403 {
			t.Fatalf("an org unit's administrator checked the tenant's configuration: %d", status)
		}
	})
}

// TestConfigPreview: a payload previewed under an edited configuration
// is planned by its rules, not the saved ones, and nothing is written;
// a logged User push previews as its body does.
func TestConfigPreview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv, e := server(t, db, 0)
		wide := token(t, e, "admins", "")
		token(t, e, "okta", "-")
		api := srv.URL + "/admin/v1/acme"
		p, err := db.ConnectorPrincipal(ctx, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.InsertGroup(ctx, &store.Group{TenantID: p.TenantID, DisplayName: "Faculty", Attrs: map[string]any{"displayName": "Faculty"}})
		}); err != nil {
			t.Fatal(err)
		}
		hrUser := `{"userName":"hr@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"HR"}}`
		body := func(yaml, user string) string {
			b, _ := json.Marshal(map[string]any{"connector": "okta", "yaml": yaml, "user": json.RawMessage(user)})
			return string(b)
		}
		status, plan, _ := call(t, "POST", api+"/config/preview", wide, body(hr, hrUser))
		if status != 200 || plan["action"] != "create" || fmt.Sprint(plan["fired"]) != "[hr]" || !strings.Contains(fmt.Sprint(plan["grants"]), "Faculty") {
			t.Fatalf("preview under the edit: %d %v", status, plan)
		}
		// The saved (the file's) rules fire nothing for HR: the draft did.
		if _, saved, _ := call(t, "POST", api+"/connectors/okta/preview", wide, hrUser); fmt.Sprint(saved["fired"]) == "[hr]" {
			t.Fatalf("the saved rules fired hr: %v", saved)
		}
		edited := strings.Replace(hr, `"HR"`, `"Sales"`, 1)
		if _, plan, _ := call(t, "POST", api+"/config/preview", wide, body(edited, hrUser)); fmt.Sprint(plan["fired"]) == "[hr]" {
			t.Fatalf("an edit of the rule's condition left it firing: %v", plan)
		}
		status, bad, _ := call(t, "POST", api+"/config/preview", wide, body(hr+"  - x: [\n", hrUser))
		if ps, _ := bad["problems"].([]any); status != 400 || len(ps) == 0 {
			t.Fatalf("a draft with problems: %d %v", status, bad)
		}
		if status, got, _ := call(t, "GET", api+"/users", wide, ""); status != 200 || fmt.Sprint(got["users"]) != "[]" {
			t.Fatalf("a preview wrote a user: %v", got)
		}

		// A logged push: its body is the payload; a DELETE is not one,
		// nor a body cut to fit the log. (A PATCH is replayed under the
		// draft: TestRequestLogAndReplay, which has a SCIM endpoint.)
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.AppendRequests(ctx, []store.LoggedRequest{
				{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Method: "POST", Path: "/scim/v2/acme/Users", Body: hrUser, Status: 201},
				{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Method: "POST", Path: "/scim/v2/acme/Users", Body: hrUser[:20], Truncated: true, Status: 201},
				{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Method: "PATCH", Path: "/scim/v2/acme/Users/x", Body: `{"Operations":[]}`, Status: 200},
				{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Method: "DELETE", Path: "/scim/v2/acme/Users/x", Status: 204},
			})
		}); err != nil {
			t.Fatal(err)
		}
		_, list, _ := call(t, "GET", api+"/connectors/okta/requests", wide, "")
		rs := list["requests"].([]any)
		var previewable []string
		for _, r := range rs {
			r := r.(map[string]any)
			previewable = append(previewable, fmt.Sprint(r["method"], " ", r["previewable"] == true))
		}
		if got := strings.Join(previewable, ", "); got != "DELETE false, PATCH true, POST false, POST true" {
			t.Fatalf("logged, newest first: %s", got)
		}
		deleteID, cutID, postID := rs[0].(map[string]any)["id"], rs[2].(map[string]any)["id"], rs[3].(map[string]any)["id"]
		logged := func(id any) string {
			b, _ := json.Marshal(map[string]any{"connector": "okta", "yaml": hr, "request": id})
			return string(b)
		}
		if status, plan, _ := call(t, "POST", api+"/config/preview", wide, logged(postID)); status != 200 || fmt.Sprint(plan["fired"]) != "[hr]" {
			t.Fatalf("a logged POST previewed: %d %v", status, plan)
		}
		for _, id := range []any{deleteID, cutID} {
			if status, got, _ := call(t, "POST", api+"/config/preview", wide, logged(id)); status != 409 {
				t.Fatalf("logged request %v previewed: %d %v", id, status, got)
			}
		}
		if status, _, _ := call(t, "POST", api+"/config/preview", wide, logged(999999)); status != 404 {
			t.Fatalf("an unknown logged request: %d", status)
		}
	})
}

// TestConfigRunning: what a tenant runs is serve's file's section of it
// until a configuration is saved through the API, then that one.
func TestConfigRunning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		status, got, _ := call(t, "GET", api+"/config/running", wide, "")
		text, _ := got["yaml"].(string)
		if status != 200 || got["from"] != "file" || got["version"] != 0.0 || !strings.Contains(text, "name: cardiology") {
			t.Fatalf("before a save: %d %v", status, got)
		}
		// The file's section checks, and runs as the file does.
		if _, checked, _ := call(t, "POST", api+"/config/check", wide, text); checked["valid"] != true {
			t.Fatalf("the file's section of acme does not check: %v\n%s", checked, text)
		}
		if status, _, _ := call(t, "PUT", api+"/config", wide, hr); status != 200 {
			t.Fatalf("PUT: %d", status)
		}
		status, got, _ = call(t, "GET", api+"/config/running", wide, "")
		if status != 200 || got["from"] != "api" || got["version"] != 1.0 || got["yaml"] != hr {
			t.Fatalf("after a save: %d %v", status, got)
		}
	})
}
