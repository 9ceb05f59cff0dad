package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/scimd/scimd/store/storetest"
)

// TestJITHookServed: serve answers the ID-token hook at
// /jit/{tenant}/{connector} for a connector the configuration file makes an
// OIDC one, with a token made by scimd token create --kind oidc; that token
// does not open SCIM.
func TestJITHookServed(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		op := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: "RS256"}}}
		opSrv := httptest.NewServer(op)
		defer opSrv.Close()
		op.SetIssuer(opSrv.URL)

		config := filepath.Join(t.TempDir(), "scimd.yaml")
		yaml := fmt.Sprintf("tenants:\n  - name: acme\n    connectors:\n      - name: sso\n        kind: oidc\n        oidc: {issuer: %s, clientId: app, clientSecretEnv: SSO_SECRET}\n        emailDomains: [acme.com]\n", opSrv.URL)
		if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		environ := map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_CONFIG": config}
		if code, _, errOut := scimd(t, environ, "migrate"); code != 0 {
			t.Fatalf("migrate: %d %s", code, errOut)
		}
		code, out, errOut := scimd(t, environ, "token", "create", "--tenant", "acme", "--connector", "sso", "--kind", "oidc")
		if code != 0 {
			t.Fatalf("token create --kind oidc: %d %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		token := lines[len(lines)-1]

		addr := freeAddr(t)
		environ["SCIMD_ADDR"] = addr
		stop := serveInBackground(t, environ)
		defer stop()

		now := time.Now().Unix()
		idToken := oidctest.SignIDToken(key, "k1", "RS256", fmt.Sprintf(
			`{"iss":%q,"aud":"app","sub":"u1","iat":%d,"exp":%d,"email":"ada@acme.com","email_verified":true,"preferred_username":"ada@acme.com"}`,
			opSrv.URL, now, now+300))
		res, body := request(t, "POST", "http://"+addr+"/jit/acme/sso", token, fmt.Sprintf(`{"id_token":%q}`, idToken))
		if res.StatusCode != http.StatusCreated || body["userName"] != "ada@acme.com" || body["created"] != true {
			t.Fatalf("hook: %d %v", res.StatusCode, body)
		}
		if res, body := request(t, "GET", "http://"+addr+"/scim/v2/acme/Users", token, ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an oidc connector's token at SCIM: %d %v, want 401", res.StatusCode, body)
		}
	})
}
