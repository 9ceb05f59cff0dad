package jit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/jit/oidctest"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// acmeConfig is tenant acme: a SCIM connector (okta) and two OIDC
// connectors of one provider, sso (JIT creates users) and known (only
// links and updates users that exist); and tenant globex, whose OIDC
// connector is another provider's app.
const acmeConfig = `
tenants:
  - name: acme
    roles:
      - name: employee
      - name: admin
    connectors:
      - name: okta
        emailDomains: [acme.com]
        allow: {roles: [employee]}
        rules:
          - name: staff
            roles: [employee]
          - name: trainees
            if: userType == "Trainee"
            status: pending
      - name: sso
        kind: oidc
        oidc:
          issuer: %[1]s
          clientId: acme-app
          clientSecretEnv: ACME_SSO_SECRET
        emailDomains: [acme.com]
        create: {groups: true, orgUnits: true}
        allow: {roles: [employee, admin], groups: [Engineering, Admins], orgUnits: [Engineering]}
        precedence:
          title: [scim]
          locale: [{sso: onCreate}]
          nickName: [{sso: ifEmpty}]
        rules:
          - name: everyone
            roles: [employee]
          - name: engineering
            if: has(claims.department) && claims.department == "Engineering"
            orgUnit: Engineering
            groups: [Engineering]
          - name: admins
            if: has(claims.groups) && "Admins" in claims.groups
            groups: [Admins]
            roles: [admin]
          - name: contract
            if: has(claims.contract_start) && has(claims.contract_end)
            accessStart: '${claims.contract_start}'
            accessEnd: '${claims.contract_end}'
      - name: known
        kind: oidc
        oidc:
          issuer: %[1]s
          clientId: acme-app
          createUsers: false
        emailDomains: [acme.com]
        allow: {roles: [employee, admin], groups: [Engineering, Admins], orgUnits: [Engineering]}
      - name: lax
        kind: oidc
        oidc:
          issuer: %[1]s
          clientId: acme-app
          emailVerified: false
  - name: globex
    connectors:
      - name: sso
        kind: oidc
        oidc:
          issuer: %[2]s
          clientId: globex-app
`

// world is scimd's SCIM endpoint and ID-token hook on one database, with
// the two providers the configuration names.
type world struct {
	t      *testing.T
	db     *store.DB
	engine *reconcile.Engine
	url    string
	acme   *provider // acme's provider
	globex *provider
	now    func() time.Time
	tokens map[string]string // "tenant/connector" → bearer token
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	w := &world{t: t, db: db, acme: newProvider(t, "acme-app"), globex: newProvider(t, "globex-app"), tokens: map[string]string{}, now: time.Now}
	cfgText := fmt.Sprintf(acmeConfig, w.acme.issuer(), w.globex.issuer())
	cfg, err := rules.Load("acme.yaml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	w.engine = reconcile.New(db, cfg)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", scim.NewHandler(scim.Config{}, db.Reader(), w.engine))
	mux.Handle("/jit/{tenant}/{connector}", jit.NewHook(jit.HookConfig{Now: func() time.Time { return w.now() }}, db.Reader(), w.engine))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	for _, tc := range []struct{ tenant, connector, kind string }{
		{"acme", "okta", store.KindSCIM}, {"acme", "sso", store.KindOIDC}, {"acme", "known", store.KindOIDC}, {"acme", "lax", store.KindOIDC},
		{"globex", "sso", store.KindOIDC},
	} {
		w.tokens[tc.tenant+"/"+tc.connector] = w.token(tc.tenant, tc.connector, tc.kind)
	}
	return w
}

func (w *world) token(tenant, connector, kind string) string {
	w.t.Helper()
	ctx := context.Background()
	if err := w.engine.SetConnectorKind(ctx, reconcile.CommandLine, tenant, connector, kind); err != nil {
		w.t.Fatal(err)
	}
	tok, err := w.engine.IssueToken(ctx, reconcile.CommandLine, tenant, connector)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok.Secret
}

// hook posts body to tenant's connector's hook with token.
func (w *world) hook(tenant, connector, token, body string) (int, map[string]any) {
	w.t.Helper()
	return w.call("POST", "/jit/"+tenant+"/"+connector, token, body)
}

// login posts an ID token to acme's sso hook with its own token.
func (w *world) login(idToken string) (int, map[string]any) {
	w.t.Helper()
	body, _ := json.Marshal(map[string]string{"id_token": idToken})
	return w.hook("acme", "sso", w.tokens["acme/sso"], string(body))
}

func (w *world) call(method, path, token, body string) (int, map[string]any) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var doc map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &doc); err != nil {
			w.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, doc
}

// users counts tenant acme's users.
func (w *world) users() int {
	w.t.Helper()
	t, err := w.db.Tenant(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	page, err := w.db.Users(context.Background(), store.Query{TenantID: t.ID})
	if err != nil {
		w.t.Fatal(err)
	}
	return page.Total
}

// events returns acme's audit events of the user with the given id ("" for
// events of no user).
func (w *world) events(id string) []store.AuditEvent {
	w.t.Helper()
	t, err := w.db.Tenant(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	evs, err := w.db.AuditEvents(context.Background(), t.ID, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return evs
}

// ada is a person of acme in Engineering and the Admins group.
func (w *world) ada() map[string]any {
	c := w.acme.claims("00u-ada")
	c["email"], c["email_verified"] = "ada@acme.com", true
	c["preferred_username"] = "ada@acme.com"
	c["given_name"], c["family_name"], c["name"] = "Ada", "Lovelace", "Ada Lovelace"
	c["department"] = "Engineering"
	c["groups"] = []string{"Everyone", "Admins"}
	return c
}

func grantNames(doc map[string]any) []string {
	var out []string
	list, _ := doc["grants"].([]any)
	for _, g := range list {
		m, _ := g.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", m["kind"], m["name"]))
	}
	slices.Sort(out)
	return out
}

// TestFirstLoginCreatesSecondUpdates: a first login creates exactly one
// user with the org unit, groups and roles the rules map from the claims;
// a second changes only what the provider owns and creates nothing; the
// user's audit trail names oidc as the source.
func TestFirstLoginCreatesSecondUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		status, doc := w.login(w.acme.sign(t, w.ada()))
		if status != http.StatusCreated || doc["created"] != true {
			t.Fatalf("first login: %d %v, want 201 created", status, doc)
		}
		want := []string{"group:Admins", "group:Engineering", "orgUnit:Engineering", "role:admin", "role:employee"}
		if got := grantNames(doc); !slices.Equal(got, want) {
			t.Errorf("grants %v, want %v", got, want)
		}
		if doc["userName"] != "ada@acme.com" || doc["externalId"] != "00u-ada" || doc["id"] == "" {
			t.Errorf("user %v: want userName ada@acme.com, externalId the sub", doc)
		}
		if n := w.users(); n != 1 {
			t.Fatalf("%d users after the first login, want 1", n)
		}
		id, _ := doc["id"].(string)

		// The second login: the provider renamed her; she left Admins.
		c := w.ada()
		c["family_name"], c["name"] = "King", "Ada King"
		c["groups"] = []string{"Everyone"}
		status, doc = w.login(w.acme.sign(t, c))
		if status != http.StatusOK || doc["created"] != false || doc["id"] != id {
			t.Fatalf("second login: %d %v, want 200, not created, the same user", status, doc)
		}
		name, _ := doc["name"].(map[string]any)
		if name["familyName"] != "King" || name["givenName"] != "Ada" || doc["displayName"] != "Ada King" {
			t.Errorf("name after the second login: %v, displayName %v", name, doc["displayName"])
		}
		want = []string{"group:Engineering", "orgUnit:Engineering", "role:employee"}
		if got := grantNames(doc); !slices.Equal(got, want) {
			t.Errorf("grants after leaving Admins: %v, want %v", got, want)
		}
		if n := w.users(); n != 1 {
			t.Errorf("%d users after the second login, want 1", n)
		}

		evs := w.events(id)
		var actions []string
		for _, e := range evs {
			if e.Source != "oidc" {
				t.Errorf("event %s by %s, want source oidc", e.Action, e.Source)
			}
			actions = append(actions, e.Action)
		}
		if !slices.Contains(actions, "create") || !slices.Contains(actions, "update") || !slices.Contains(actions, "signin") {
			t.Errorf("audit trail %v: want the create, the update and the sign-ins", actions)
		}
	})
}

// TestSameTokenTwice: a retried hook call (the same ID token twice) creates
// one user, and the second answers it as not created.
func TestSameTokenTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		tok := w.acme.sign(t, w.ada())
		s1, d1 := w.login(tok)
		s2, d2 := w.login(tok)
		if s1 != 201 || s2 != 200 || d1["id"] != d2["id"] || d2["created"] != false {
			t.Fatalf("twice: %d %v / %d %v", s1, d1["id"], s2, d2)
		}
		if n := w.users(); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
	})
}

// TestConcurrentFirstLogins: 50 first logins of the same new person at
// once create exactly one user, and every one of them signs in.
func TestConcurrentFirstLogins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const n = 50
		toks := make([]string, n)
		for i := range toks {
			toks[i] = w.acme.sign(t, w.ada()) // each login its own token
		}
		var wg sync.WaitGroup
		statuses := make([]int, n)
		ids := make([]any, n)
		for i := range n {
			wg.Go(func() {
				body, _ := json.Marshal(map[string]string{"id_token": toks[i]})
				req, _ := http.NewRequest("POST", w.url+"/jit/acme/sso", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+w.tokens["acme/sso"])
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				defer res.Body.Close()
				var doc map[string]any
				json.NewDecoder(res.Body).Decode(&doc)
				statuses[i], ids[i] = res.StatusCode, doc["id"]
				if res.StatusCode >= 300 {
					ids[i] = doc
				}
			})
		}
		wg.Wait()
		created := 0
		for i, s := range statuses {
			switch {
			case s == 201:
				created++
			case s != 200:
				t.Errorf("login %d: %d %v", i, s, ids[i])
			}
			if ids[i] != ids[0] {
				t.Errorf("login %d signed in %v, login 0 %v", i, ids[i], ids[0])
			}
		}
		if created != 1 {
			t.Errorf("%d logins answered created, want 1", created)
		}
		if got := w.users(); got != 1 {
			t.Fatalf("%d users after %d concurrent first logins, want 1", got, n)
		}
	})
}

// TestLoginLinksUserPushedBySCIM: a person Okta pushed over SCIM who then
// signs in is linked (by userName, then the sub is her external ID at the
// OIDC connector), never duplicated; what SCIM owns by precedence stays.
func TestLoginLinksUserPushedBySCIM(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		status, pushed := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"ada@acme.com","title":"Countess","externalId":"okta-1",
			"emails":[{"value":"ada@acme.com","primary":true},{"value":"ada@home.example"}]}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		c := w.ada()
		c["title"] = "ignored: not a claim scimd maps"
		status, doc := w.login(w.acme.sign(t, c))
		if status != 200 || doc["created"] != false || doc["id"] != pushed["id"] {
			t.Fatalf("login of a pushed user: %d %v, want 200 and user %v", status, doc, pushed["id"])
		}
		if doc["externalId"] != "00u-ada" || doc["title"] != "Countess" {
			t.Errorf("linked user %v: want the sub as this connector's externalId, SCIM's title kept", doc)
		}
		emails, _ := doc["emails"].([]any)
		if len(emails) != 2 {
			t.Errorf("emails %v: the login's address is one of the user's; the other stays", emails)
		}
		if n := w.users(); n != 1 {
			t.Fatalf("%d users, want 1: a login must link, never duplicate", n)
		}
		// A second login finds her by the sub now.
		if status, doc = w.login(w.acme.sign(t, c)); status != 200 || doc["id"] != pushed["id"] {
			t.Fatalf("second login: %d %v", status, doc)
		}
	})
}

// TestRefusals: each refusal answers with its reason, writes no user, and
// leaves an audit event (refuse) saying why.
func TestRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		cases := []struct {
			name, reason string
			status       int
			edit         func(c map[string]any)
		}{
			{"an unverified email where verification is required", jit.RefusedEmailUnverified, 403, func(c map[string]any) { c["email_verified"] = false }},
			{"an email outside the allowed domains", jit.RefusedEmailDomain, 403, func(c map[string]any) { c["email"] = "ada@evil.example" }},
			{"no email where domains are required", jit.RefusedEmailDomain, 403, func(c map[string]any) { delete(c, "email") }},
			{"an access window that has ended", reconcile.RefusedExpired, 403, func(c map[string]any) {
				c["contract_start"], c["contract_end"] = "2001-01-01", "2002-01-01"
			}},
			{"an access window that has not opened", reconcile.RefusedNotYet, 403, func(c map[string]any) {
				c["contract_start"], c["contract_end"] = "2090-01-01", "2091-01-01"
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := w.ada()
				tc.edit(c)
				status, doc := w.login(w.acme.sign(t, c))
				if status != tc.status || doc["error"] != tc.reason || doc["detail"] == "" {
					t.Fatalf("%d %v, want %d %s with a detail", status, doc, tc.status, tc.reason)
				}
				if n := w.users(); n != 0 {
					t.Fatalf("%d users written", n)
				}
				evs := w.events("")
				if len(evs) == 0 || evs[len(evs)-1].Action != "refuse" || evs[len(evs)-1].Detail["reason"] != tc.reason {
					t.Fatalf("no refuse event with reason %s: %+v", tc.reason, evs)
				}
			})
		}
		t.Run("a connector that may not create users, and nobody matches", func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"id_token": w.acme.sign(t, w.ada())})
			status, doc := w.hook("acme", "known", w.tokens["acme/known"], string(body))
			if status != 403 || doc["error"] != reconcile.RefusedNotProvisioned {
				t.Fatalf("%d %v, want 403 %s", status, doc, reconcile.RefusedNotProvisioned)
			}
			if n := w.users(); n != 0 {
				t.Fatalf("%d users written", n)
			}
		})
		t.Run("the same connector links a user who exists", func(t *testing.T) {
			if s, d := w.login(w.acme.sign(t, w.ada())); s != 201 {
				t.Fatalf("create through sso: %d %v", s, d)
			}
			body, _ := json.Marshal(map[string]string{"id_token": w.acme.sign(t, w.ada())})
			if status, doc := w.hook("acme", "known", w.tokens["acme/known"], string(body)); status != 200 || doc["created"] != false {
				t.Fatalf("%d %v, want 200, linked", status, doc)
			}
		})
	})
}

// TestLifecycleAtTheDoor: a user disabled over SCIM, or outside their
// access window, is refused with the reason and an audit event, and the
// refusal writes nothing; a pending user becomes active at their first
// login.
func TestLifecycleAtTheDoor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		status, doc := w.login(w.acme.sign(t, w.ada()))
		if status != 201 {
			t.Fatalf("first login: %d %v", status, doc)
		}
		id, _ := doc["id"].(string)
		if s, d := w.call("PATCH", "/scim/v2/acme/Users/"+id, w.tokens["acme/okta"],
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`); s != 200 {
			t.Fatalf("SCIM disable: %d %v", s, d)
		}
		before := len(w.events(id))
		status, doc = w.login(w.acme.sign(t, w.ada()))
		if status != 403 || doc["error"] != reconcile.RefusedDisabled {
			t.Fatalf("login of a disabled user: %d %v, want 403 disabled", status, doc)
		}
		evs := w.events(id)
		if len(evs) != before+1 || evs[len(evs)-1].Action != "refuse" {
			t.Fatalf("events after the refusal: %d (was %d), want one refuse", len(evs), before)
		}
		u, err := db.User(context.Background(), evs[0].TenantID, 0, id)
		if err != nil || u.Active || u.Status != store.StatusDisabled {
			t.Fatalf("the refusal wrote the user: %+v %v", u, err)
		}
	})
}

// TestPendingBecomesActive: a user a SCIM rule made pending signs in, and
// is active from then on.
func TestPendingBecomesActive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		status, pushed := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"ada@acme.com","userType":"Trainee"}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		ten, _ := db.Tenant(ctx, "acme")
		id, _ := pushed["id"].(string)
		if u, err := db.User(ctx, ten.ID, 0, id); err != nil || u.Status != store.StatusPending {
			t.Fatalf("pushed trainee: status %q (%v), want pending", u.Status, err)
		}
		status, doc := w.login(w.acme.sign(t, w.ada()))
		if status != 200 || doc["id"] != id {
			t.Fatalf("login of a pending user: %d %v", status, doc)
		}
		if u, err := db.User(ctx, ten.ID, 0, id); err != nil || u.Status != store.StatusActive {
			t.Fatalf("after the first login: status %q (%v), want active", u.Status, err)
		}
	})
}

// TestHookAuthorization: the hook takes a token of that OIDC connector of
// that tenant only, and an ID token of that connector's provider and app
// only.
func TestHookAuthorization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		body, _ := json.Marshal(map[string]string{"id_token": w.acme.sign(t, w.ada())})
		cases := []struct {
			name, tenant, connector, token string
			status                         int
		}{
			{"no token", "acme", "sso", "", 401},
			{"another tenant's token", "acme", "sso", w.tokens["globex/sso"], 401},
			{"a SCIM connector's token", "acme", "sso", w.tokens["acme/okta"], 401},
			{"another OIDC connector's token", "acme", "sso", w.tokens["acme/known"], 403},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, doc := w.hook(tc.tenant, tc.connector, tc.token, string(body))
				if status != tc.status || doc["detail"] == "" {
					t.Fatalf("%d %v, want %d", status, doc, tc.status)
				}
			})
		}
		t.Run("an ID token of another tenant's connector", func(t *testing.T) {
			c := w.globex.claims("g-1")
			c["email"], c["email_verified"], c["preferred_username"] = "ada@acme.com", true, "ada@acme.com"
			status, doc := w.login(w.globex.sign(t, c))
			if status != 401 || !slices.Contains([]any{"issuer", "kid", "signature"}, doc["error"]) {
				t.Fatalf("%d %v, want 401 issuer (or its key unknown)", status, doc)
			}
			// Even claiming acme's issuer and audience, globex's key does not sign for acme.
			c["iss"], c["aud"] = w.acme.issuer(), "acme-app"
			status, doc = w.login(w.globex.signAs(w.acme.Key().ID, c))
			if status != 401 || doc["error"] != "signature" {
				t.Fatalf("%d %v, want 401 signature", status, doc)
			}
		})
		t.Run("an ID token issued to another app of the same provider", func(t *testing.T) {
			c := w.ada()
			c["aud"] = "other-app"
			if status, doc := w.login(w.acme.sign(t, c)); status != 401 || doc["error"] != "audience" {
				t.Fatalf("%d %v, want 401 audience", status, doc)
			}
		})
		t.Run("an expired ID token", func(t *testing.T) {
			c := w.ada()
			c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
			if status, doc := w.login(w.acme.sign(t, c)); status != 401 || doc["error"] != "expired" {
				t.Fatalf("%d %v, want 401 expired", status, doc)
			}
		})
		t.Run("the hook needs no nonce: the application checked its own", func(t *testing.T) {
			c := w.ada()
			c["nonce"] = "the app's"
			if status, doc := w.login(w.acme.sign(t, c)); status != 201 {
				t.Fatalf("%d %v, want 201", status, doc)
			}
		})
		t.Run("a body over the limit", func(t *testing.T) {
			big := `{"id_token":"` + strings.Repeat("a", 70<<10) + `"}`
			if status, doc := w.hook("acme", "sso", w.tokens["acme/sso"], big); status != 413 {
				t.Fatalf("%d %v, want 413", status, doc)
			}
		})
		t.Run("no id_token", func(t *testing.T) {
			if status, doc := w.hook("acme", "sso", w.tokens["acme/sso"], `{"access_token":"x"}`); status != 400 {
				t.Fatalf("%d %v, want 400", status, doc)
			}
		})
		t.Run("GET", func(t *testing.T) {
			if status, doc := w.call("GET", "/jit/acme/sso", w.tokens["acme/sso"], ""); status != 405 {
				t.Fatalf("%d %v, want 405", status, doc)
			}
		})
		if n := w.users(); n != 1 {
			t.Errorf("%d users after the refusals and one login, want 1", n)
		}
	})
}

// TestUserinfoAtTheHook: an ID token with only sub gets the rest from
// userinfo with the access token given; a userinfo of someone else is
// refused.
func TestUserinfoAtTheHook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		c := w.acme.claims("00u-ada")
		w.acme.serveUserinfo("at-ada", map[string]any{"sub": "00u-ada", "email": "ada@acme.com", "email_verified": true,
			"preferred_username": "ada@acme.com", "name": "Ada Lovelace", "groups": []string{"Admins"}})
		w.acme.serveUserinfo("at-bob", map[string]any{"sub": "00u-bob", "email": "bob@acme.com", "email_verified": true})
		tok := w.acme.sign(t, c)
		body, _ := json.Marshal(map[string]string{"id_token": tok, "access_token": "at-bob"})
		if status, doc := w.hook("acme", "sso", w.tokens["acme/sso"], string(body)); status != 401 || doc["error"] != "userinfo_sub" {
			t.Fatalf("someone else's userinfo: %d %v, want 401 userinfo_sub", status, doc)
		}
		body, _ = json.Marshal(map[string]string{"id_token": tok, "access_token": "at-ada"})
		status, doc := w.hook("acme", "sso", w.tokens["acme/sso"], string(body))
		if status != 201 || doc["userName"] != "ada@acme.com" || !slices.Contains(grantNames(doc), "role:admin") {
			t.Fatalf("with userinfo: %d %v", status, doc)
		}
	})
}

// TestConfigThroughAdminAPI: an OIDC connector saved with PUT
// /admin/v1/{tenant}/config is an OIDC connector in the store, so that a
// token issued for it opens its hook; a configuration with the client
// secret written inline is refused, with the hint, and nothing is saved.
func TestConfigThroughAdminAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		op := newProvider(t, "acme-app")
		engine := reconcile.New(db, nil)
		mux := http.NewServeMux()
		mux.Handle("/admin/v1/", admin.NewHandler(admin.Config{}, db.Reader(), engine))
		mux.Handle("/jit/{tenant}/{connector}", jit.NewHook(jit.HookConfig{}, db.Reader(), engine))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		w := &world{t: t, db: db, engine: engine, url: srv.URL, acme: op}
		if err := engine.SetConnectorAdmin(ctx, reconcile.CommandLine, "acme", "admins", ""); err != nil {
			t.Fatal(err)
		}
		adminTok, err := engine.IssueToken(ctx, reconcile.CommandLine, "acme", "admins")
		if err != nil {
			t.Fatal(err)
		}
		inline := fmt.Sprintf("tenants:\n  - name: acme\n    connectors:\n      - name: sso\n        kind: oidc\n        oidc: {issuer: %s, clientId: acme-app, clientSecret: s3cret}\n", op.issuer())
		if status, doc := w.call("PUT", "/admin/v1/acme/config", adminTok.Secret, inline); status != 400 || !strings.Contains(fmt.Sprint(doc), "clientSecretEnv") {
			t.Fatalf("PUT config with an inline secret: %d %v, want 400 with the hint", status, doc)
		}
		good := fmt.Sprintf("tenants:\n  - name: acme\n    connectors:\n      - name: sso\n        kind: oidc\n        oidc: {issuer: %s, clientId: acme-app, clientSecretEnv: ACME_SSO_SECRET}\n        emailDomains: [acme.com]\n", op.issuer())
		if status, doc := w.call("PUT", "/admin/v1/acme/config", adminTok.Secret, good); status != 200 {
			t.Fatalf("PUT config: %d %v", status, doc)
		}
		if p, err := db.ConnectorPrincipal(ctx, "acme", "sso"); err != nil || p.Kind != store.KindOIDC {
			t.Fatalf("connector sso after PUT config: kind %q (%v), want oidc", p.Kind, err)
		}
		tok, err := engine.IssueToken(ctx, reconcile.CommandLine, "acme", "sso")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens = map[string]string{"acme/sso": tok.Secret}
		if status, doc := w.login(op.sign(t, w.ada())); status != 201 {
			t.Fatalf("hook after PUT config: %d %v", status, doc)
		}
	})
}

// TestUnverifiedEmailNeverMatches: where a connector lets people with an
// unverified email sign in, that email neither matches an account nor is
// stored: the nOAuth attack (claiming someone's address at a provider that
// does not check it) takes over nobody.
func TestUnverifiedEmailNeverMatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		status, pushed := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"ada","emails":[{"value":"ada@acme.com","primary":true}]}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		c := w.acme.claims("00u-mallory")
		c["email"], c["email_verified"], c["preferred_username"] = "ada@acme.com", false, "mallory"
		body, _ := json.Marshal(map[string]string{"id_token": w.acme.sign(t, c)})
		status, doc := w.hook("acme", "lax", w.tokens["acme/lax"], string(body))
		if status != 201 || doc["id"] == pushed["id"] || doc["userName"] != "mallory" || doc["emails"] != nil {
			t.Fatalf("login with ada's address, unverified: %d %v; want a new account, mallory's, without the address", status, doc)
		}
		if n := w.users(); n != 2 {
			t.Fatalf("%d users, want 2", n)
		}
	})
}

// TestUnknownKidFloodAtTheHook: 1,000 ID tokens naming a key the provider
// never published, posted to the hook, cost at most one JWKS fetch beyond
// the first (the Verifier is the connector's, kept across requests, and
// refetches for unknown keys once per cooldown), and are all refused.
func TestUnknownKidFloodAtTheHook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		if status, doc := w.login(w.acme.sign(t, w.ada())); status != 201 {
			t.Fatalf("first login: %d %v", status, doc)
		}
		before := w.acme.Count(oidctest.JWKS)
		forged := w.acme.signAs("never-published", w.ada())
		body, _ := json.Marshal(map[string]string{"id_token": forged})
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		sem := make(chan struct{}, 16)
		for range 1000 {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				req, _ := http.NewRequest("POST", w.url+"/jit/acme/sso", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+w.tokens["acme/sso"])
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusUnauthorized {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if refused != 1000 {
			t.Errorf("%d of 1000 forged tokens refused", refused)
		}
		if fetches := w.acme.Count(oidctest.JWKS) - before; fetches > 1 {
			t.Errorf("%d JWKS fetches for 1000 tokens of an unknown kid, want at most 1 per cooldown", fetches)
		}
	})
}

// TestDeletedUserRefused: a person the identity provider deprovisioned
// (SCIM DELETE) who signs in again is refused, with an audit event and
// no user created, where the connector may create users; once SCIM
// provisions them again, they sign in; someone never provisioned is still
// created.
func TestDeletedUserRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		status, pushed := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"ada@acme.com","emails":[{"value":"ada@acme.com","type":"work","primary":true}]}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		id, _ := pushed["id"].(string)
		if status, doc := w.login(w.acme.sign(t, w.ada())); status != 200 || doc["id"] != id {
			t.Fatalf("login of the pushed user: %d %v", status, doc)
		}
		if status, doc := w.call("DELETE", "/scim/v2/acme/Users/"+id, w.tokens["acme/okta"], ""); status != 204 {
			t.Fatalf("SCIM DELETE: %d %v", status, doc)
		}
		refusals := len(w.events(""))
		status, doc := w.login(w.acme.sign(t, w.ada()))
		if status != 403 || doc["error"] != reconcile.RefusedDeleted {
			t.Fatalf("login after the delete: %d %v, want 403 %s", status, doc, reconcile.RefusedDeleted)
		}
		if n := w.users(); n != 0 {
			t.Fatalf("the refused login left %d users, want 0", n)
		}
		if evs := w.events(""); len(evs) != refusals+1 || evs[len(evs)-1].Action != "refuse" {
			t.Fatalf("events of no user after the refusal: %d (was %d), want one more, a refuse", len(evs), refusals)
		}

		// The same person under another sub still matches a tombstone by
		// userName and email.
		other := w.ada()
		other["sub"] = "00u-ada-again"
		if status, doc := w.login(w.acme.sign(t, other)); status != 403 || doc["error"] != reconcile.RefusedDeleted {
			t.Fatalf("login with a new sub: %d %v, want 403 deleted", status, doc)
		}

		// Someone never provisioned is created as before.
		bob := w.acme.claims("00u-bob")
		bob["email"], bob["email_verified"], bob["preferred_username"] = "bob@acme.com", true, "bob@acme.com"
		if status, doc := w.login(w.acme.sign(t, bob)); status != 201 {
			t.Fatalf("login of a new person: %d %v, want 201", status, doc)
		}

		// Provisioned again by SCIM: a live user, whom the login links.
		status, again := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"ada@acme.com"}`)
		if status != 201 {
			t.Fatalf("SCIM POST again: %d %v", status, again)
		}
		if status, doc := w.login(w.acme.sign(t, w.ada())); status != 200 || doc["id"] != again["id"] {
			t.Fatalf("login after provisioning again: %d %v, want 200 as %v", status, doc, again["id"])
		}
	})
}
