package rules

import (
	"slices"
	"strings"
	"testing"
)

// TestOIDCConnector: an oidc connector's settings load with their
// defaults, and each mistake an IT team makes is a problem with a hint,
// the inline client secret first among them.
func TestOIDCConnector(t *testing.T) {
	cfg, err := Load("sso.yaml", []byte(`
tenants:
  - name: acme
    connectors:
      - name: sso
        kind: oidc
        oidc:
          issuer: https://acme.okta.com
          clientId: app
          clientSecretEnv: SSO_SECRET
          returnOrigins: [https://App.acme.com]
        rules:
          - name: admins
            if: has(claims.groups) && "Admins" in claims.groups
            status: active
      - name: okta
`))
	if err != nil {
		t.Fatal(err)
	}
	sso, _ := cfg.Connector("acme", "sso")
	o := sso.OIDC
	if sso.Kind != KindOIDC || o == nil || o.Issuer != "https://acme.okta.com" || o.ClientID != "app" || o.ClientSecretEnv != "SSO_SECRET" {
		t.Fatalf("sso: kind %q, oidc %+v", sso.Kind, o)
	}
	if !o.EmailVerified || !o.CreateUsers || o.UserNameClaim != "preferred_username" ||
		!slices.Equal(o.Scopes, []string{"openid", "email", "profile"}) || !slices.Equal(o.ReturnOrigins, []string{"https://app.acme.com"}) {
		t.Errorf("defaults: %+v", o)
	}
	if okta, _ := cfg.Connector("acme", "okta"); okta.Kind != KindSCIM || okta.OIDC != nil {
		t.Errorf("a connector without kind: %q %+v, want scim", okta.Kind, okta.OIDC)
	}
	r, err := sso.Eval(Input{Claims: map[string]any{"groups": []any{"Admins"}}})
	if err != nil || !slices.Equal(r.Fired, []string{"admins"}) {
		t.Errorf("claims.groups rule: fired %v (%v)", r.Fired, err)
	}
	if r, err := sso.Eval(Input{}); err != nil || len(r.Fired) != 0 {
		t.Errorf("no claims (another source): fired %v (%v)", r.Fired, err)
	}

	for _, tc := range []struct{ name, oidc, want string }{
		{"an inline client secret", "{issuer: https://a.example, clientId: x, clientSecret: s3cret}", `key "clientSecret" in oidc is not used by scimd (hint: a client secret is never written`},
		{"no issuer", "{clientId: x}", "has no issuer"},
		{"no clientId", "{issuer: https://a.example}", "has no clientId"},
		{"an http issuer", "{issuer: http://a.example, clientId: x}", "is not an https URL"},
		{"Entra's common issuer", "{issuer: https://login.microsoftonline.com/common/v2.0, clientId: x}", "is not one tenant's issuer"},
		{"a template issuer", "{issuer: 'https://login.microsoftonline.com/{tid}/v2.0', clientId: x}", "is not one tenant's issuer"},
		{"both secret sources", "{issuer: https://a.example, clientId: x, clientSecretEnv: A, clientSecretFile: /b}", "sets both clientSecretEnv and clientSecretFile"},
		{"scopes without openid", "{issuer: https://a.example, clientId: x, scopes: [email]}", "scopes lacks openid"},
		{"a return URL that is not an origin", "{issuer: https://a.example, clientId: x, returnOrigins: [https://a.example/home]}", "is not an origin"},
		{"an unknown userNameClaim", "{issuer: https://a.example, clientId: x, userNameClaim: mail}", `unknown userNameClaim "mail"`},
		{"a typo", "{issuer: https://a.example, clientID: x}", `did you mean clientId?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("sso.yaml", []byte("tenants:\n  - name: acme\n    connectors:\n      - name: sso\n        kind: oidc\n        oidc: "+tc.oidc+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a problem containing %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, connector, want string }{
		{"kind oidc without settings", "{name: sso, kind: oidc}", "is of kind oidc but has no oidc settings"},
		{"settings without kind oidc", "{name: sso, oidc: {issuer: https://a.example, clientId: x}}", "has oidc settings but is of kind scim"},
		{"an unknown kind", "{name: sso, kind: saml}", `unknown connector kind "saml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("sso.yaml", []byte("tenants:\n  - name: acme\n    connectors:\n      - "+tc.connector+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a problem containing %q", err, tc.want)
			}
		})
	}
}
