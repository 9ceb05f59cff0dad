package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// loggedServer is server with the SCIM request log on.
func loggedServer(t *testing.T, db *store.DB) (*httptest.Server, *reconcile.Engine, *reconcile.RequestLog) {
	t.Helper()
	engine := reconcile.New(db, nil)
	reqlog := engine.StartRequestLog(reconcile.RequestLogConfig{})
	t.Cleanup(func() { reqlog.Close(context.Background()) })
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", scim.NewHandler(scim.Config{RequestLog: reqlog}, db.Reader(), engine))
	mux.Handle("/admin/v1/", admin.NewHandler(admin.Config{}, db.Reader(), engine))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, engine, reqlog
}

func connectorIn(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	cs, _ := doc["connectors"].([]any)
	for _, c := range cs {
		if c := c.(map[string]any); c["name"] == name {
			return c
		}
	}
	t.Fatalf("connector %s not listed: %v", name, doc)
	return nil
}

// TestConnectorsList: the list says each connector's kind, admin flag
// and scope, mode and live tokens, and from the request log its latest
// request, the last day's requests and 4xx, and when its token was last
// used; a unit's administrator may not list them.
func TestConnectorsList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv, e, reqlog := loggedServer(t, db)
		okta := token(t, e, "okta", "-")
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		if status, doc, _ := call(t, "POST", api+"/orgunits", wide, `{"path":"Medicine"}`); status != 201 {
			t.Fatalf("POST orgunits: %d %v", status, doc)
		}
		unit := token(t, e, "deans", "Medicine")
		if err := e.SetMode(ctx, reconcile.CommandLine, "acme", "shadowy", store.ModeShadow); err != nil {
			t.Fatal(err)
		}
		status, doc, _ := call(t, "GET", api+"/connectors", wide, "")
		if status != 200 {
			t.Fatalf("GET connectors: %d %v", status, doc)
		}
		if c := connectorIn(t, doc, "okta"); c["lastRequest"] != nil || c["lastUsedAt"] != nil {
			t.Fatalf("okta before any request: %v", c)
		}
		before := time.Now()
		if status, doc, _ := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com"}`); status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, doc)
		}
		for range 2 {
			if status, _, _ := call(t, "GET", srv.URL+"/scim/v2/acme/Users/00000000-0000-0000-0000-000000000000", okta, ""); status != 404 {
				t.Fatalf("SCIM GET of no user: %d", status)
			}
		}
		if err := reqlog.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		status, doc, _ = call(t, "GET", api+"/connectors", wide, "")
		if status != 200 {
			t.Fatalf("GET connectors: %d %v", status, doc)
		}
		c := connectorIn(t, doc, "okta")
		last, _ := c["lastRequest"].(map[string]any)
		counts, _ := c["last24h"].(map[string]any)
		if c["kind"] != "scim" || c["admin"] != false || c["mode"] != "live" || c["liveTokens"] != float64(1) ||
			last["method"] != "GET" || last["status"] != float64(404) ||
			counts["requests"] != float64(3) || counts["clientErrors"] != float64(2) || counts["serverErrors"] != float64(0) {
			t.Errorf("okta: %v", c)
		}
		used, err := time.Parse(time.RFC3339Nano, fmt.Sprint(c["lastUsedAt"]))
		if err != nil || used.Before(before.Add(-time.Second)) {
			t.Errorf("okta's lastUsedAt %v (%v), want after %v", c["lastUsedAt"], err, before)
		}
		if a := connectorIn(t, doc, "deans"); a["kind"] != "admin" || a["admin"] != true || a["orgUnit"] != "Medicine" || a["lastRequest"] != nil {
			t.Errorf("deans: %v", a)
		}
		if s := connectorIn(t, doc, "shadowy"); s["mode"] != "shadow" || s["liveTokens"] != float64(0) {
			t.Errorf("shadowy: %v", s)
		}
		for _, r := range []struct{ method, path string }{
			{"GET", "/connectors"}, {"GET", "/connectors/okta/tokens"}, {"POST", "/connectors/okta/tokens"},
			{"POST", "/connectors/okta/tokens/1/rotate"}, {"DELETE", "/connectors/okta/tokens/1"},
		} {
			if status, doc, _ := call(t, r.method, api+r.path, unit, ""); status != 403 {
				t.Errorf("%s %s as a unit's administrator: %d %v, want 403", r.method, r.path, status, doc)
			}
		}
		if status, _, _ := call(t, "GET", api+"/connectors", okta, ""); status != 401 {
			t.Errorf("GET connectors with a SCIM token: %d, want 401", status)
		}
	})
}

// TestConnectorTokens: a token created through the API opens SCIM and is
// shown once; a third live one is refused; a rotation's new token works
// and the old gets 401 at once, audited as the admin connector; a revoked
// token gets 401; no answer but the creating one holds a secret.
func TestConnectorTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv, e, _ := loggedServer(t, db)
		first := token(t, e, "okta", "-")
		wide := token(t, e, "admins", "")
		token(t, e, "entra", "-")
		api := srv.URL + "/admin/v1/acme/connectors/okta/tokens"
		scimOK := func(tok string) int {
			t.Helper()
			status, _, _ := call(t, "GET", srv.URL+"/scim/v2/acme/Users", tok, "")
			return status
		}
		status, list, _ := call(t, "GET", api, wide, "")
		ts, _ := list["tokens"].([]any)
		if status != 200 || len(ts) != 1 || list["maxLive"] != float64(2) {
			t.Fatalf("GET tokens: %d %v", status, list)
		}
		firstID := int64(ts[0].(map[string]any)["id"].(float64))

		status, created, hdr := call(t, "POST", api, wide, "")
		secret, _ := created["secret"].(string)
		if status != 201 || !strings.HasPrefix(secret, reconcile.TokenPrefix) || created["live"] != true || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("POST tokens: %d %v %v", status, created, hdr)
		}
		if got := scimOK(secret); got != 200 {
			t.Fatalf("the created token at SCIM: %d, want 200", got)
		}
		if status, doc, _ := call(t, "POST", api, wide, ""); status != 409 {
			t.Fatalf("a third live token: %d %v, want 409", status, doc)
		}
		if status, doc, _ := call(t, "POST", srv.URL+"/admin/v1/acme/connectors/nobody/tokens", wide, ""); status != 404 {
			t.Errorf("a token of no connector: %d %v, want 404", status, doc)
		}
		// entra's route does not reach okta's token.
		path := "/" + strconv.FormatInt(firstID, 10)
		if status, doc, _ := call(t, "POST", srv.URL+"/admin/v1/acme/connectors/entra/tokens"+path+"/rotate", wide, ""); status != 404 {
			t.Errorf("rotate okta's token under entra: %d %v, want 404", status, doc)
		}

		// Rotation with both live tokens taken: the old one's place.
		status, rotated, hdr := call(t, "POST", api+path+"/rotate", wide, "")
		newSecret, _ := rotated["secret"].(string)
		if status != 201 || newSecret == "" || newSecret == first || rotated["revoked"] != float64(firstID) || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotate: %d %v", status, rotated)
		}
		if got := scimOK(first); got != 401 {
			t.Errorf("the rotated token at SCIM: %d, want 401 (no grace)", got)
		}
		if got := scimOK(newSecret); got != 200 {
			t.Errorf("the rotation's new token at SCIM: %d, want 200", got)
		}
		if status, doc, _ := call(t, "POST", api+path+"/rotate", wide, ""); status != 409 {
			t.Errorf("rotate a revoked token: %d %v, want 409", status, doc)
		}
		admins, err := db.Reader().ConnectorPrincipal(ctx, "acme", "admins")
		if err != nil {
			t.Fatal(err)
		}
		evs, err := db.Reader().AuditEvents(ctx, admins.TenantID, strconv.FormatInt(firstID, 10))
		if err != nil {
			t.Fatal(err)
		}
		rotations := 0
		for _, ev := range evs {
			if ev.Action == "rotate" && ev.ResourceType == "Token" && ev.ConnectorID == admins.ConnectorID && ev.Source == "admin" {
				rotations++
			}
		}
		if rotations != 1 {
			t.Errorf("audit of token %d: %d rotate events by admins, want 1: %+v", firstID, rotations, evs)
		}

		// Revoke the created one.
		createdPath := "/" + strconv.FormatInt(int64(created["id"].(float64)), 10)
		status, revoked, _ := call(t, "DELETE", api+createdPath, wide, "")
		if status != 200 || revoked["live"] != false || revoked["revokedAt"] == nil {
			t.Fatalf("DELETE token: %d %v", status, revoked)
		}
		if got := scimOK(secret); got != 401 {
			t.Errorf("the revoked token at SCIM: %d, want 401", got)
		}
		if status, _, _ := call(t, "DELETE", api+createdPath, wide, ""); status != 200 {
			t.Errorf("revoke twice: %d, want 200", status)
		}
		if status, _, _ := call(t, "DELETE", api+"/999999", wide, ""); status != 404 {
			t.Errorf("revoke no token: %d, want 404", status)
		}

		status, list, _ = call(t, "GET", api, wide, "")
		text := fmt.Sprint(list)
		if status != 200 || len(list["tokens"].([]any)) != 3 || strings.Contains(text, "secret") || strings.Contains(text, "hash") ||
			strings.Contains(text, newSecret[len(reconcile.TokenPrefix)+4:]) {
			t.Errorf("GET tokens after: %d %s", status, text)
		}
	})
}
