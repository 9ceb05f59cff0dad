package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/scimd/scimd/jit/oidctest"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store/storetest"
)

// TestBrowserLoginRoutes: serve's routes hold the browser login: a person
// signs in through mockoidc (the client secret read from the environment
// variable the configuration names), lands on /Me signed in, and logs out.
func TestBrowserLoginRoutes(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		op := oidctest.Mock(t)
		t.Setenv("SCIMD_TEST_SSO_SECRET", op.ClientSecret)
		t.Setenv("SCIMD_TEST_UNSET_SECRET", "")
		file := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(file, []byte(op.ClientSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := rules.Load("acme.yaml", []byte(fmt.Sprintf(`
tenants:
  - name: acme
    connectors:
      - name: sso
        kind: oidc
        oidc: {issuer: %[1]s, clientId: %[2]s, clientSecretEnv: SCIMD_TEST_SSO_SECRET}
        emailDomains: [example.com]
      - name: filed
        kind: oidc
        oidc: {issuer: %[1]s, clientId: %[2]s, clientSecretFile: %[3]s}
        emailDomains: [example.com]
      - name: unset
        kind: oidc
        oidc: {issuer: %[1]s, clientId: %[2]s, clientSecretEnv: SCIMD_TEST_UNSET_SECRET}
        emailDomains: [example.com]
`, op.Issuer(), op.ClientID, file)))
		if err != nil {
			t.Fatal(err)
		}
		newToken(t, dsn, "acme", "okta") // migrates; the tenant exists
		db := storetest.Open(t, dsn)
		srv := httptest.NewServer(routes(db, reconcile.New(db, cfg), "", 1<<20, 0, slog.New(slog.DiscardHandler)))
		t.Cleanup(srv.Close)
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar} // follows every redirect, as a browser does
		op.QueueUser(&mockoidc.MockUser{Subject: "00u-ann", Email: "ann@example.com", EmailVerified: true, PreferredUsername: "ann@example.com"})
		res, err := browser.Get(srv.URL + "/auth/acme/sso/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/scim/v2/acme/Me" {
			t.Fatalf("login ended at %s with %d, want /Me 200", res.Request.URL, res.StatusCode)
		}
		req, _ := http.NewRequest("POST", srv.URL+"/auth/acme/logout", nil)
		if res, err = browser.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %v %v", res, err)
		}
		res.Body.Close()
		if res, err = browser.Get(srv.URL + "/scim/v2/acme/Me"); err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/Me after logout: %v %v", res, err)
		}
		res.Body.Close()
		res, err = browser.Get(srv.URL + "/auth/acme/sso/login?return_to=" + "https://evil.example/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("an open redirect: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}

		// The secret from a file (its trailing newline dropped).
		op.QueueUser(&mockoidc.MockUser{Subject: "00u-ann", Email: "ann@example.com", EmailVerified: true, PreferredUsername: "ann@example.com"})
		if res, err = browser.Get(srv.URL + "/auth/acme/filed/login"); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/scim/v2/acme/Me" {
			t.Errorf("login through clientSecretFile ended at %s with %d, want /Me 200", res.Request.URL, res.StatusCode)
		}
		// No secret where the configuration says one is: a page saying so.
		if res, err = browser.Get(srv.URL + "/auth/acme/unset/login"); err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(raw), `data-reason="client_secret"`) || strings.Contains(string(raw), op.ClientSecret) {
			t.Errorf("a login without its secret: %d %s", res.StatusCode, raw)
		}
	})
}
