package jit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestOIDCExamples signs the first user of each OIDC example in through
// the hook, against a provider on loopback standing in for the example's
// issuer, and checks the grants its comments promise: the examples are
// what IT teams copy, so they must work as written.
func TestOIDCExamples(t *testing.T) {
	cases := []struct {
		file, tenant, connector, issuer, clientID string
		claims                                    map[string]any
		want                                      []string
		userName                                  string
	}{
		{
			file: "okta-oidc.yaml", tenant: "acme", connector: "okta-sso",
			issuer: "https://acme.okta.com", clientID: "0oa1exampleclientid",
			claims: map[string]any{"email": "ada@acme.com", "email_verified": true, "preferred_username": "ada@acme.com",
				"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
				"groups": []string{"Everyone", "Engineering"}, "team": "PLATFORM"},
			want:     []string{"group:Engineering", "group:Team PLATFORM", "orgUnit:Engineering", "role:employee", "role:engineer"},
			userName: "ada@acme.com",
		},
		{
			file: "entra-oidc.yaml", tenant: "contoso", connector: "entra-sso",
			issuer:   "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
			clientID: "11111111-2222-3333-4444-555555555555",
			claims: map[string]any{"email": "grace@contoso.com", "xms_edov": true, "preferred_username": "grace@contoso.com",
				"name": "Grace Hopper", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "0c5b0b4e-4f4e-4d0e-9a55-1f1f2a2b3c4d",
				"groups": []string{"6f1c2a9e-0b7d-4c55-9d0e-3a8b51f2c7d4"}},
			want:     []string{"group:Finance", "orgUnit:Finance", "role:employee", "role:finance-approver"},
			userName: "grace@contoso.com",
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				raw, err := os.ReadFile("../schemas/examples/" + tc.file)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(raw), "issuer: "+tc.issuer+"\n") {
					t.Fatalf("%s no longer names issuer %s: update this test with it", tc.file, tc.issuer)
				}
				op := newProvider(t, tc.clientID)
				text := strings.Replace(string(raw), "issuer: "+tc.issuer+"\n", "issuer: "+op.issuer()+"\n", 1)
				cfg, err := rules.Load(tc.file, []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				engine := reconcile.New(db, cfg)
				mux := http.NewServeMux()
				mux.Handle("/jit/{tenant}/{connector}", jit.NewHook(jit.HookConfig{}, db.Reader(), engine))
				srv := httptest.NewServer(mux)
				defer srv.Close()
				ctx := context.Background()
				// The connector is an OIDC one in the store once a token is issued
				// with the configuration saved, or with scimd token create --kind oidc.
				if err := engine.SetConnectorKind(ctx, reconcile.CommandLine, tc.tenant, tc.connector, store.KindOIDC); err != nil {
					t.Fatal(err)
				}
				tok, err := engine.IssueToken(ctx, reconcile.CommandLine, tc.tenant, tc.connector)
				if err != nil {
					t.Fatal(err)
				}
				c := op.claims("sub-1")
				for k, v := range tc.claims {
					c[k] = v
				}
				body, _ := json.Marshal(map[string]string{"id_token": op.sign(t, c)})
				req, _ := http.NewRequest("POST", srv.URL+"/jit/"+tc.tenant+"/"+tc.connector, strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+tok.Secret)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var doc map[string]any
				json.NewDecoder(res.Body).Decode(&doc)
				if res.StatusCode != 201 || doc["userName"] != tc.userName {
					t.Fatalf("first sign-in: %d %v", res.StatusCode, doc)
				}
				if got := grantNames(doc); !slices.Equal(got, tc.want) {
					t.Errorf("grants %v, want %v", got, tc.want)
				}
			})
		})
	}
}
