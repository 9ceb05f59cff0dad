package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

var newSecret = regexp.MustCompile(`id="new-secret"[^>]*value="(scimd_[0-9A-Za-z]+)"`)

// TestConsoleConnectorTokens: a token made in the console is on the
// POST's answer alone (no-store, not on the page after), opens SCIM, and
// is dead once revoked there; a POST without the session's CSRF token
// makes none.
func TestConsoleConnectorTokens(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		c := w.signIn(w.bootstrap())
		page := w.srv.URL + "/console/acme/connectors/okta"
		res, body := do(t, c, "GET", page, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Create a token") || !strings.Contains(body, `href="/console/acme/connectors/okta/requests"`) ||
			!strings.Contains(body, `href="/console/acme/mapping?connector=okta"`) {
			t.Fatalf("connector page: %d %s", res.StatusCode, body)
		}
		csrf := csrfField.FindStringSubmatch(body)[1]
		if res, _ := do(t, c, "POST", page+"/tokens", url.Values{}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("create without CSRF: %d, want 403", res.StatusCode)
		}
		res, body = do(t, c, "POST", page+"/tokens", url.Values{"csrf": {csrf}})
		m := newSecret.FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Location") != "" {
			t.Fatalf("create: %d %v %s", res.StatusCode, res.Header, body)
		}
		secret := m[1]
		scimURL := w.srv.URL + "/scim/v2/acme/Users"
		if code, _ := call(t, "GET", scimURL, secret, ""); code != 200 {
			t.Fatalf("the console's token at SCIM: %d", code)
		}
		if _, body := do(t, c, "GET", page, nil); strings.Contains(body, secret) || strings.Contains(body, "Create a token") {
			t.Errorf("the page after: holds the secret, or offers a third live token: %s", body)
		}
		tokens, err := w.db.Reader().Tokens(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		made := tokens[0] // newest first
		res, _ = do(t, c, "POST", page+"/tokens/"+strconv.FormatInt(made.ID, 10)+"/revoke", url.Values{"csrf": {csrf}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/acme/connectors/okta?done=revoke" {
			t.Fatalf("revoke: %d %v", res.StatusCode, res.Header)
		}
		if code, _ := call(t, "GET", scimURL, secret, ""); code != 401 {
			t.Errorf("the revoked token at SCIM: %d, want 401", code)
		}
		if code, _ := call(t, "GET", scimURL, w.okta, ""); code != 200 {
			t.Errorf("okta's other token at SCIM: %d, want 200", code)
		}
		if res, _ := do(t, c, "POST", page+"/tokens/"+strconv.FormatInt(made.ID, 10)+"/shred", url.Values{"csrf": {csrf}}); res.StatusCode != 404 {
			t.Errorf("an unknown token action: %d, want 404", res.StatusCode)
		}
		if res, _ := do(t, c, "GET", w.srv.URL+"/console/acme/connectors/nobody", nil); res.StatusCode != 404 {
			t.Errorf("no such connector: %d, want 404", res.StatusCode)
		}
	})
}

// TestConsoleHeldPages: a guard holding more writes than a page lists
// shows them a page at a time, and deciding all a page lists leaves the
// rest held, on the first page now.
func TestConsoleHeldPages(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		p, err := w.db.ConnectorPrincipal(context.Background(), "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		const held = 501 // the admin API's page is 500
		if err := w.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			for i := range held {
				h := store.HeldWrite{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Source: "scim", ResourceType: "User",
					ResourceID: fmt.Sprintf("u%04d", i), UserName: fmt.Sprintf("user%04d@example.com", i), Op: "delete"}
				if _, err := tx.HoldWrite(ctx, &h); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c := w.signIn(w.bootstrap())
		page := w.srv.URL + "/console/acme/connectors/okta"
		_, body := do(t, c, "GET", page, nil)
		next := regexp.MustCompile(`href="/console/acme/connectors/okta\?held=(\d+)#h-held" rel="next"`).FindStringSubmatch(body)
		if !strings.Contains(body, "Reject all 500") || !strings.Contains(body, "user0499@example.com") || strings.Contains(body, "user0500@example.com") || next == nil {
			t.Fatalf("the first page of %d held: %s", held, body)
		}
		_, second := do(t, c, "GET", page+"?held="+next[1], nil)
		if !strings.Contains(second, "Reject all 1") || !strings.Contains(second, "user0500@example.com") || !strings.Contains(second, "First held writes") ||
			strings.Contains(second, `rel="next"`) {
			t.Fatalf("the second page: %s", second)
		}
		all := regexp.MustCompile(`(?s)<form[^>]*class="actions held-all">.*?</form>`).FindString(body)
		var ids []string
		for _, m := range regexp.MustCompile(`name="id" value="(\d+)"`).FindAllStringSubmatch(all, -1) {
			ids = append(ids, m[1])
		}
		csrf := csrfField.FindStringSubmatch(body)[1]
		if res, _ := do(t, c, "POST", page+"/held", url.Values{"csrf": {csrf}, "decision": {"reject"}, "id": ids}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reject the %d the page listed: %d", len(ids), res.StatusCode)
		}
		if _, body := do(t, c, "GET", page, nil); !strings.Contains(body, "Reject all 1") || !strings.Contains(body, "user0500@example.com") || strings.Contains(body, `rel="next"`) {
			t.Fatalf("after rejecting the first page: %s", body)
		}
	})
}

// TestConsoleConnectorHeldAndShadow: rejecting every held write from the
// page makes the IdP's retry a 403; a decision with nothing ticked is
// refused; a shadow connector's page counts what it would have done.
func TestConsoleConnectorHeldAndShadow(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		guard := "tenants:\n  - name: acme\n    connectors:\n      - name: okta\n        deletionGuard: {count: 1}\n"
		if res, body := request(t, "PUT", w.srv.URL+"/admin/v1/acme/config", w.admin, guard); res.StatusCode != http.StatusOK {
			t.Fatalf("PUT config: %d %v", res.StatusCode, body)
		}
		scimURL := w.srv.URL + "/scim/v2/acme/Users"
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
		var codes []int
		for _, u := range []string{"bob@example.com", "eve@example.com", "ann@example.com"} {
			code, _ := call(t, "PATCH", scimURL+"/"+w.ids[u], w.okta, patch)
			codes = append(codes, code)
		}
		if codes[0] != 200 || codes[1] != 503 || codes[2] != 503 {
			t.Fatalf("deactivations %v, want [200 503 503]", codes)
		}
		c := w.signIn(w.bootstrap())
		page := w.srv.URL + "/console/acme/connectors/okta"
		_, body := do(t, c, "GET", page, nil)
		if !strings.Contains(body, "eve@example.com") || !strings.Contains(body, "Reject all 2") {
			t.Fatalf("held on the page: %s", body)
		}
		csrf := csrfField.FindStringSubmatch(body)[1]
		if res, _ := do(t, c, "POST", page+"/held", url.Values{"csrf": {csrf}, "decision": {"approve"}}); res.StatusCode != 400 {
			t.Errorf("approve with nothing ticked: %d, want 400", res.StatusCode)
		}
		// Reject all is of the writes the page listed: their ids ride in
		// its form.
		all := regexp.MustCompile(`(?s)<form[^>]*class="actions held-all">.*?</form>`).FindString(body)
		var ids []string
		for _, m := range regexp.MustCompile(`name="id" value="(\d+)"`).FindAllStringSubmatch(all, -1) {
			ids = append(ids, m[1])
		}
		if len(ids) != 2 {
			t.Fatalf("the reject-all form carries ids %v, want the 2 held: %s", ids, all)
		}
		res, _ := do(t, c, "POST", page+"/held", url.Values{"csrf": {csrf}, "decision": {"reject"}, "id": ids})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/acme/connectors/okta?done=reject" {
			t.Fatalf("reject all: %d %v", res.StatusCode, res.Header)
		}
		if code, body := call(t, "PATCH", scimURL+"/"+w.ids["eve@example.com"], w.okta, patch); code != 403 {
			t.Errorf("the IdP's retry of a rejected write: %d %s, want 403", code, body)
		}
		if _, body := do(t, c, "GET", page+"?done=reject", nil); !strings.Contains(body, "No writes held") || !strings.Contains(body, "held writes rejected") {
			t.Errorf("page after rejection: %s", body)
		}

		// A shadow connector: its page has the summary.
		shadowy := newToken(t, dsn, "acme", "shadowy")
		if err := w.engine.SetMode(context.Background(), reconcile.CommandLine, "acme", "shadowy", store.ModeShadow); err != nil {
			t.Fatal(err)
		}
		if code, body := call(t, "POST", scimURL, shadowy, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zed@example.com"}`); code != 201 {
			t.Fatalf("shadow POST: %d %s", code, body)
		}
		_, body = do(t, c, "GET", w.srv.URL+"/console/acme/connectors/shadowy", nil)
		if !strings.Contains(body, "Shadow mode") || !strings.Contains(body, "create User: <strong>1</strong>") {
			t.Errorf("shadow connector's page: %s", body)
		}
		if _, body := do(t, c, "GET", w.srv.URL+"/console/acme/connectors", nil); !strings.Contains(body, `badge-mode-shadow">shadow`) {
			t.Errorf("connectors list: no shadow mode shown: %s", body)
		}
	})
}
