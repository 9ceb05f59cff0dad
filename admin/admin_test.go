package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// cardiology grants an org unit and a group that the connector may not
// create: until an administrator creates them, its users are refused.
const cardiology = `
tenants:
  - name: acme
    connectors:
      - name: okta
        allow: {groups: [Faculty], orgUnits: [Medicine]}
        rules:
          - name: cardiology
            if: department == "Cardiology"
            orgUnit: Medicine/Cardiology
            groups: [Faculty]
`

const cardiologist = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "userName":"heart@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Cardiology"}}`

// server is scimd's SCIM endpoint and admin API on db, over loopback.
func server(t *testing.T, db *store.DB, maxBody int64) (*httptest.Server, *reconcile.Engine) {
	t.Helper()
	cfg, err := reconcile.ParseTenantConfig("acme", cardiology)
	if err != nil {
		t.Fatal(err)
	}
	engine := reconcile.New(db, cfg)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", scim.NewHandler(scim.Config{}, db.Reader(), engine))
	mux.Handle("/admin/v1/", admin.NewHandler(admin.Config{MaxBodyBytes: maxBody}, db.Reader(), engine))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, engine
}

func token(t *testing.T, e *reconcile.Engine, connector, adminOf string) string {
	t.Helper()
	ctx := context.Background()
	if adminOf != "-" {
		if err := e.SetConnectorAdmin(ctx, reconcile.CommandLine, "acme", connector, adminOf); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := e.IssueToken(ctx, reconcile.CommandLine, "acme", connector)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, url, res.StatusCode, raw)
	}
	return res.StatusCode, doc, res.Header
}

// TestCreateOrgUnitsAndGroups: a rule that grants an org unit and a group
// which do not exist refuses the user until administrators create them
// through the admin API, each within their scope.
func TestCreateOrgUnitsAndGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		okta := token(t, e, "okta", "-")
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"

		if status, doc, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, cardiologist); status < 400 {
			t.Fatalf("a user granted a unit and a group that do not exist: %d %v", status, doc)
		}

		if status, doc, _ := call(t, "POST", api+"/orgunits", wide, `{"path":"Medicine"}`); status != 201 || doc["path"] != "Medicine" {
			t.Fatalf("POST orgunits: %d %v", status, doc)
		}
		medicine := token(t, e, "medicine-admins", "Medicine")
		for _, c := range []struct {
			path, token, body string
			status            int
			detailHas         string
		}{
			{"/orgunits", medicine, `{"path":"Surgery"}`, 403, "below it only"},
			{"/orgunits", medicine, `{"path":"Medicine"}`, 403, "below it only"},
			{"/orgunits", medicine, `{"path":"Medicine/Cardiology"}`, 201, ""},
			{"/orgunits", wide, `{"path":"medicine/cardiology"}`, 409, "path"},
			{"/orgunits", wide, `{"path":"Medicine/"}`, 400, "empty"},
			{"/orgunits", wide, `["Medicine"]`, 400, "JSON object"},
			{"/orgunits", wide, `{"path":`, 400, "not JSON"},
			{"/groups", medicine, `{"displayName":"Faculty"}`, 403, "tenant-wide"},
			{"/groups", wide, `{"displayName":"Faculty"}`, 201, ""},
			{"/groups", wide, `{"displayName":"faculty"}`, 409, "displayName"},
			{"/groups", wide, `{}`, 400, "displayName"},
			{"/groups", okta, `{"displayName":"Staff"}`, 401, "admin"},
			{"/groups", "", `{"displayName":"Staff"}`, 401, "Bearer"},
		} {
			status, doc, header := call(t, "POST", api+c.path, c.token, c.body)
			detail, _ := doc["detail"].(string)
			if status != c.status || !strings.Contains(detail, c.detailHas) || strings.Contains(detail, "struct") {
				t.Errorf("POST %s %s: %d %v, want %d with %q", c.path, c.body, status, doc, c.status, c.detailHas)
			}
			if status == 401 && header.Get("WWW-Authenticate") == "" {
				t.Errorf("POST %s: 401 without WWW-Authenticate", c.path)
			}
		}

		status, doc, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, cardiologist)
		if status != 201 {
			t.Fatalf("the user, once the unit and the group exist: %d %v", status, doc)
		}
		_, account, _ := call(t, "GET", api+"/users/"+doc["id"].(string), medicine, "")
		grants, _ := json.Marshal(account["grants"])
		if !strings.Contains(string(grants), `"target":"Medicine/Cardiology"`) || !strings.Contains(string(grants), `"target":"Faculty"`) {
			t.Fatalf("grants %s, want the unit and the group the administrators created", grants)
		}
	})
}

// TestBodyLimit: the admin API refuses a body past the server's limit with
// 413 and says what the limit is, and saves nothing.
func TestBodyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 4096)
		wide := token(t, e, "admins", "")
		token(t, e, "okta", "-")
		api := srv.URL + "/admin/v1/acme"
		big := cardiology + "# " + strings.Repeat("x", 5000) + "\n"
		for _, path := range []string{"/config", "/connectors/okta/preview", "/groups", "/orgunits"} {
			method := "POST"
			if path == "/config" {
				method = "PUT"
			}
			status, doc, _ := call(t, method, api+path, wide, big)
			if detail, _ := doc["detail"].(string); status != 413 || !strings.Contains(detail, "4096 bytes") {
				t.Errorf("%s %s of %d bytes: %d %v, want 413 naming the limit", method, path, len(big), status, doc)
			}
		}
		if status, _, _ := call(t, "GET", api+"/config", wide, ""); status != 404 {
			t.Errorf("a refused configuration was saved: %d", status)
		}
		if status, doc, _ := call(t, "PUT", api+"/config", wide, cardiology); status != 200 {
			t.Errorf("a configuration within the limit: %d %v", status, doc)
		}
	})
}

// TestConfigIfMatch: PUT /config with If-Match saves only over the version
// it names (GET /config's ETag; "0" before any save), so of two editors
// who started from one version the second is refused (412, the stored
// version's ETag, nothing saved); without If-Match it saves over any.
func TestConfigIfMatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 1<<20)
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		put := func(ifMatch, text string) (int, map[string]any, http.Header) {
			t.Helper()
			req, _ := http.NewRequest("PUT", api+"/config", strings.NewReader(text))
			req.Header.Set("Authorization", "Bearer "+wide)
			if ifMatch != "" {
				req.Header.Set("If-Match", ifMatch)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err) // also from the racers' goroutines
				return 0, nil, http.Header{}
			}
			defer res.Body.Close()
			var doc map[string]any
			json.NewDecoder(res.Body).Decode(&doc)
			return res.StatusCode, doc, res.Header
		}
		edit := func(name string) string {
			return strings.Replace(cardiology, "name: cardiology", "name: "+name, 1)
		}
		if status, doc, h := put(`"0"`, edit("first")); status != 200 || h.Get("ETag") != `"1"` {
			t.Fatalf("a save from no saved version: %d %v ETag %q", status, doc, h.Get("ETag"))
		}
		status, doc, h := put(`"0"`, edit("second"))
		if detail, _ := doc["detail"].(string); status != 412 || h.Get("ETag") != `"1"` || !strings.Contains(detail, "saved as version 1") {
			t.Fatalf("a second save from no saved version: %d %v ETag %q, want 412 naming version 1", status, doc, h.Get("ETag"))
		}
		if status, doc, h := call(t, "GET", api+"/config", wide, ""); status != 200 || h.Get("ETag") != `"1"` || !strings.Contains(doc["yaml"].(string), "name: first") {
			t.Fatalf("after the refused save: %d %v ETag %q", status, doc, h.Get("ETag"))
		}
		if status, doc, _ := put(`W/"1"`, edit("third")); status != 200 || doc["version"] != 2.0 {
			t.Fatalf("a save over the version it names: %d %v", status, doc)
		}
		if status, doc, _ := put("yesterday", edit("fourth")); status != 400 || !strings.Contains(doc["detail"].(string), "If-Match") {
			t.Fatalf("an If-Match that names no version: %d %v", status, doc)
		}
		if status, doc, _ := put("", edit("fifth")); status != 200 || doc["version"] != 3.0 {
			t.Fatalf("a save without If-Match: %d %v", status, doc)
		}
		if _, _, h := call(t, "GET", api+"/config/running", wide, ""); h.Get("ETag") != `"3"` {
			t.Fatalf("GET /config/running's ETag %q, want \"3\"", h.Get("ETag"))
		}
		// Four editors of version 3 at once: one saves.
		statuses := make(chan int, 4)
		for i := range 4 {
			go func() {
				status, _, _ := put(`"3"`, edit(fmt.Sprintf("racer%d", i)))
				statuses <- status
			}()
		}
		won := 0
		for range 4 {
			switch status := <-statuses; status {
			case 200:
				won++
			case 412:
			default:
				t.Errorf("a racing save: %d", status)
			}
		}
		if _, doc, _ := call(t, "GET", api+"/config", wide, ""); won != 1 || doc["version"] != 4.0 {
			t.Fatalf("of four saves over version 3, %d saved, version %v; want 1, version 4", won, doc["version"])
		}
	})
}
