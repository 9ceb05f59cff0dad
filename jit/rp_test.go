package jit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/jit/oidctest"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// rpConfig is tenant acme for the browser login: a SCIM connector (okta),
// an OIDC connector of mockoidc (sso) whose rules map the claims to an org
// unit, groups and roles, and one of an oidctest provider (crafted), whose
// tokens a test makes as it needs them.
const rpConfig = `
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
          clientId: %[2]s
          clientSecretEnv: RP_TEST_SECRET
          scopes: [openid, email, profile, groups]
          returnOrigins: [https://app.acme.com]
        emailDomains: [acme.com]
        create: {groups: true, orgUnits: true}
        allow: {roles: [employee, admin], groups: [Engineering, Admins], orgUnits: [Engineering]}
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
      - name: crafted
        kind: oidc
        oidc:
          issuer: %[3]s
          clientId: crafted-app
        emailDomains: [acme.com]
`

// person is a mockoidc user with any claims: mockoidc's own MockUser has
// a fixed set, and the rules read claims.department.
type person struct {
	sub    string
	claims map[string]any
}

func (p *person) ID() string { return p.sub }

func (p *person) Userinfo([]string) ([]byte, error) {
	c := maps.Clone(p.claims)
	c["sub"] = p.sub
	return json.Marshal(c)
}

func (p *person) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	out := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	for k, v := range p.claims {
		out[k] = v
	}
	return out, nil
}

// grace is a person of acme in Engineering and the Admins group.
func grace() *person {
	return &person{sub: "00u-grace", claims: map[string]any{
		"email": "grace@acme.com", "email_verified": true, "preferred_username": "grace@acme.com",
		"given_name": "Grace", "family_name": "Hopper", "name": "Grace Hopper",
		"department": "Engineering", "groups": []string{"Everyone", "Admins"},
	}}
}

// rpWorld is scimd's SCIM endpoint, /Me, the browser login and logout on
// one database, with mockoidc and an oidctest provider.
type rpWorld struct {
	t       *testing.T
	db      *store.DB
	engine  *reconcile.Engine
	url     string
	op      *mockoidc.MockOIDC
	crafted *oidctest.Server
	okta    string // acme/okta's SCIM token

	mu   sync.Mutex
	skew time.Duration // how far the engine's clock is ahead
}

// later moves the engine's clock on by d.
func (w *rpWorld) later(d time.Duration) {
	w.mu.Lock()
	w.skew += d
	w.mu.Unlock()
}

func newRPWorld(t *testing.T, db *store.DB) *rpWorld {
	t.Helper()
	op := oidctest.Mock(t)
	w := &rpWorld{t: t, db: db, op: op, crafted: oidctest.Start(t)}
	cfg, err := rules.Load("acme.yaml", []byte(fmt.Sprintf(rpConfig, op.Issuer(), op.ClientID, w.crafted.URL)))
	if err != nil {
		t.Fatal(err)
	}
	w.engine = reconcile.New(db, cfg)
	w.engine.SetClock(func() time.Time {
		w.mu.Lock()
		defer w.mu.Unlock()
		return time.Now().Add(w.skew)
	})
	sessions := jit.NewSessions(jit.SessionConfig{}, w.engine)
	rp := jit.NewRP(jit.RPConfig{Getenv: func(k string) string {
		if k == "RP_TEST_SECRET" {
			return op.ClientSecret
		}
		return ""
	}}, db.Reader(), w.engine, sessions)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", scim.NewHandler(scim.Config{Session: sessions.Resolve}, db.Reader(), w.engine))
	mux.HandleFunc("/auth/{tenant}/logout", sessions.ServeLogout)
	mux.HandleFunc("GET /auth/{tenant}/{connector}/login", rp.ServeLogin)
	mux.HandleFunc("GET /auth/{tenant}/{connector}/callback", rp.ServeCallback)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	ctx := context.Background()
	if err := w.engine.SetConnectorKind(ctx, reconcile.CommandLine, "acme", "okta", store.KindSCIM); err != nil {
		t.Fatal(err)
	}
	tok, err := w.engine.IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
	if err != nil {
		t.Fatal(err)
	}
	w.okta = tok.Secret
	return w
}

// browser is a person's browser: a cookie jar, following no redirect by
// itself, so that each step of the login can be looked at.
type browser struct {
	t *testing.T
	c *http.Client
}

func (w *rpWorld) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: w.t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches u and answers the status, the Location and the body.
func (b *browser) get(u string) (int, string, string) {
	b.t.Helper()
	res, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(body)
}

// start begins a login of connector at scimd and answers where scimd sent
// the browser (the provider's authorization URL).
func (w *rpWorld) start(b *browser, connector, returnTo string) *url.URL {
	w.t.Helper()
	u := w.url + "/auth/acme/" + connector + "/login"
	if returnTo != "" {
		u += "?return_to=" + url.QueryEscape(returnTo)
	}
	status, loc, body := b.get(u)
	if status != http.StatusFound {
		w.t.Fatalf("login: %d %s", status, body)
	}
	to, err := url.Parse(loc)
	if err != nil {
		w.t.Fatal(err)
	}
	return to
}

// authorize runs the provider's side of a mockoidc login for p, and
// answers the callback URL the provider sends the browser back to.
func (w *rpWorld) authorize(b *browser, p *person, returnTo string) string {
	w.t.Helper()
	w.op.QueueUser(p)
	auth := w.start(b, "sso", returnTo)
	status, loc, body := b.get(auth.String())
	if status != http.StatusFound || !strings.HasPrefix(loc, w.url+"/auth/acme/sso/callback?") {
		w.t.Fatalf("mockoidc authorize: %d %q %s", status, loc, body)
	}
	return loc
}

// login signs p in through sso in browser b and answers the callback's
// status, Location and body.
func (w *rpWorld) login(b *browser, p *person, returnTo string) (int, string, string) {
	w.t.Helper()
	return b.get(w.authorize(b, p, returnTo))
}

// me is GET /scim/v2/acme/Me in b.
func (w *rpWorld) me(b *browser) (int, map[string]any) {
	w.t.Helper()
	status, _, body := b.get(w.url + "/scim/v2/acme/Me")
	var doc map[string]any
	json.Unmarshal([]byte(body), &doc)
	return status, doc
}

func (w *rpWorld) tenantID() int64 {
	w.t.Helper()
	ten, err := w.db.Tenant(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	return ten.ID
}

func (w *rpWorld) users() int {
	w.t.Helper()
	page, err := w.db.Users(context.Background(), store.Query{TenantID: w.tenantID()})
	if err != nil {
		w.t.Fatal(err)
	}
	return page.Total
}

func (w *rpWorld) grants(id string) []string {
	w.t.Helper()
	ctx := context.Background()
	u, err := w.db.User(ctx, w.tenantID(), 0, id)
	if err != nil {
		w.t.Fatal(err)
	}
	gs, err := w.db.UserGrants(ctx, u.PK)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Kind+":"+g.Target)
	}
	slices.Sort(out)
	return out
}

func (w *rpWorld) scim(method, path, body string) (int, map[string]any) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.okta)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	json.NewDecoder(res.Body).Decode(&doc)
	return res.StatusCode, doc
}

// refusedPage asserts a page refusing with the given status and reason.
func refusedPage(t *testing.T, status int, body string, wantStatus int, reason string) {
	t.Helper()
	if status != wantStatus || !strings.Contains(body, `data-reason="`+reason+`"`) {
		t.Fatalf("answered %d %s; want %d with reason %s", status, body, wantStatus, reason)
	}
}

// TestBrowserLogin: a first login through the provider creates exactly
// one user with the org unit, groups and roles the rules map, starts a
// session (the cookie opens /Me) and sends the browser to return_to; a
// second login creates nothing and updates what the provider owns; the
// user's audit trail names oidc as the source of the login.
func TestBrowserLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		b := w.browser()
		status, loc, body := w.login(b, grace(), "/app/home?tab=1")
		if status != http.StatusSeeOther || loc != "/app/home?tab=1" {
			t.Fatalf("callback: %d %q %s, want 303 to return_to", status, loc, body)
		}
		status, me := w.me(b)
		if status != 200 || me["userName"] != "grace@acme.com" || me["id"] == nil {
			t.Fatalf("/Me after login: %d %v", status, me)
		}
		id, _ := me["id"].(string)
		if n := w.users(); n != 1 {
			t.Fatalf("%d users after the first login, want 1", n)
		}
		want := []string{"group:Admins", "group:Engineering", "orgUnit:Engineering", "role:admin", "role:employee"}
		if got := w.grants(id); !slices.Equal(got, want) {
			t.Errorf("grants %v, want %v", got, want)
		}

		// Again, in another browser: renamed, out of Admins.
		g := grace()
		g.claims["family_name"], g.claims["name"] = "Murray", "Grace Murray"
		g.claims["groups"] = []string{"Everyone"}
		b2 := w.browser()
		if status, loc, body := w.login(b2, g, ""); status != http.StatusSeeOther || loc != "/scim/v2/acme/Me" {
			t.Fatalf("second login: %d %q %s, want 303 to /Me (no return_to)", status, loc, body)
		}
		status, me = w.me(b2)
		name, _ := me["name"].(map[string]any)
		if status != 200 || me["id"] != id || name["familyName"] != "Murray" || me["displayName"] != "Grace Murray" {
			t.Fatalf("/Me after the second login: %d %v", status, me)
		}
		if n := w.users(); n != 1 {
			t.Errorf("%d users after the second login, want 1", n)
		}
		want = []string{"group:Engineering", "orgUnit:Engineering", "role:employee"}
		if got := w.grants(id); !slices.Equal(got, want) {
			t.Errorf("grants after leaving Admins %v, want %v", got, want)
		}
		// The first browser's session is still good.
		if status, _ := w.me(b); status != 200 {
			t.Errorf("the first session after the second login: %d", status)
		}
		evs, err := db.AuditEvents(context.Background(), w.tenantID(), id)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			if e.Source != "oidc" {
				t.Errorf("event %s by %s, want source oidc", e.Action, e.Source)
			}
			actions = append(actions, e.Action)
		}
		for _, a := range []string{"create", "update", "signin", "session-start"} {
			if !slices.Contains(actions, a) {
				t.Errorf("audit trail %v lacks %s", actions, a)
			}
		}
	})
}

// TestBrowserLoginLinksSCIMUser: a person Okta pushed over SCIM signs in
// and is linked to that user, not duplicated.
func TestBrowserLoginLinksSCIMUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		status, pushed := w.scim("POST", "/scim/v2/acme/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"grace@acme.com","title":"Rear Admiral","externalId":"okta-7","emails":[{"value":"grace@acme.com","primary":true}]}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		b := w.browser()
		if status, _, body := w.login(b, grace(), "/"); status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", status, body)
		}
		status, me := w.me(b)
		if status != 200 || me["id"] != pushed["id"] || me["title"] != "Rear Admiral" {
			t.Fatalf("/Me: %d %v, want the pushed user %v with SCIM's title", status, me, pushed["id"])
		}
		if n := w.users(); n != 1 {
			t.Fatalf("%d users, want 1: a login links, never duplicates", n)
		}
	})
}

// TestBrowserLoginState: the state a callback carries must be one this
// server issued, to this browser, unused; a code is good once.
func TestBrowserLoginState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		t.Run("unknown state", func(t *testing.T) {
			b := w.browser()
			cb := w.authorize(b, grace(), "")
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("state", "not-a-state-of-ours")
			u.RawQuery = q.Encode()
			status, _, body := b.get(u.String())
			refusedPage(t, status, body, 400, "state_unknown")
		})
		t.Run("no state", func(t *testing.T) {
			status, _, body := w.browser().get(w.url + "/auth/acme/sso/callback?code=x")
			refusedPage(t, status, body, 400, "state_missing")
		})
		t.Run("reused state", func(t *testing.T) {
			b := w.browser()
			cb := w.authorize(b, grace(), "")
			if status, _, body := b.get(cb); status != http.StatusSeeOther {
				t.Fatalf("first callback: %d %s", status, body)
			}
			status, _, body := b.get(cb)
			refusedPage(t, status, body, 400, "state_used")
		})
		t.Run("a code used twice", func(t *testing.T) {
			b := w.browser()
			first := w.authorize(b, grace(), "")
			if status, _, body := b.get(first); status != http.StatusSeeOther {
				t.Fatalf("first callback: %d %s", status, body)
			}
			// A new login's state, with the first login's code.
			second, _ := url.Parse(w.authorize(b, grace(), ""))
			old, _ := url.Parse(first)
			q := second.Query()
			q.Set("code", old.Query().Get("code"))
			second.RawQuery = q.Encode()
			status, _, body := b.get(second.String())
			refusedPage(t, status, body, 400, "code")
		})
		t.Run("expired state", func(t *testing.T) {
			b := w.browser()
			cb := w.authorize(b, grace(), "")
			w.later(reconcile.DefaultLoginTTL + time.Second)
			defer w.later(-reconcile.DefaultLoginTTL - time.Second)
			status, _, body := b.get(cb)
			refusedPage(t, status, body, 400, "state_expired")
		})
		t.Run("the callback names another issuer", func(t *testing.T) {
			b := w.browser()
			cb := w.authorize(b, grace(), "")
			status, _, body := b.get(cb + "&iss=" + url.QueryEscape("https://evil.example"))
			refusedPage(t, status, body, 400, "issuer")
		})
		t.Run("a callback in another browser", func(t *testing.T) {
			cb := w.authorize(w.browser(), grace(), "")
			victim := w.browser()
			status, _, body := victim.get(cb)
			refusedPage(t, status, body, 400, "browser")
			if status, _ := w.me(victim); status == 200 {
				t.Error("the victim's browser is signed in")
			}
		})
		t.Run("the provider's error", func(t *testing.T) {
			b := w.browser()
			auth := w.start(b, "sso", "")
			status, _, body := b.get(w.url + "/auth/acme/sso/callback?error=access_denied&error_description=not+assigned&state=" + auth.Query().Get("state"))
			refusedPage(t, status, body, 400, "provider")
			if !strings.Contains(body, "access_denied") || !strings.Contains(body, "not assigned") {
				t.Errorf("the page does not show the provider's error: %s", body)
			}
		})
		t.Run("an unknown connector", func(t *testing.T) {
			status, _, body := w.browser().get(w.url + "/auth/acme/okta/login")
			refusedPage(t, status, body, 404, "not_found")
		})
	})
}

// craftedClaims are a valid ID token's claims of the crafted connector's
// provider, with the nonce given (none for "").
func (w *rpWorld) craftedClaims(nonce string) map[string]any {
	c := w.crafted.Claims("00u-nonce", "crafted-app")
	c["email"], c["email_verified"], c["preferred_username"], c["name"] = "nonce@acme.com", true, "nonce@acme.com", "N. Once"
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

// craftedLogin runs a login of the crafted connector in b, whose provider
// answers code with the ID token sign makes from the login's nonce (and
// access token "at-"+code), and answers the callback.
func (w *rpWorld) craftedLogin(b *browser, code string, sign func(nonce string) string) (int, string, string) {
	w.t.Helper()
	auth := w.start(b, "crafted", "")
	w.crafted.AddCode(code, oidctest.TokenResponse{AccessToken: "at-" + code, TokenType: "Bearer", IDToken: sign(auth.Query().Get("nonce"))})
	return b.get(w.url + "/auth/acme/crafted/callback?code=" + code + "&state=" + url.QueryEscape(auth.Query().Get("state")))
}

// TestBrowserLoginNonce: the ID token must carry the nonce of the login
// whose state came back: a token of another login (a replayed nonce) and
// a token with none are refused, and nothing is written.
func TestBrowserLoginNonce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		claims, callback := w.craftedClaims, w.craftedLogin
		b := w.browser()
		var first string
		status, _, body := callback(b, "c1", func(n string) string { first = n; return w.crafted.Sign(claims(n)) })
		if status != http.StatusSeeOther {
			t.Fatalf("a crafted login with its nonce: %d %s", status, body)
		}
		before := w.users()
		t.Run("replayed nonce", func(t *testing.T) {
			status, _, body := callback(w.browser(), "c2", func(string) string { return w.crafted.Sign(claims(first)) })
			refusedPage(t, status, body, 401, "nonce")
		})
		t.Run("missing nonce", func(t *testing.T) {
			status, _, body := callback(w.browser(), "c3", func(string) string { return w.crafted.Sign(claims("")) })
			refusedPage(t, status, body, 401, "nonce")
		})
		if n := w.users(); n != before {
			t.Errorf("%d users after the refusals, was %d", n, before)
		}
	})
}

// TestBrowserLoginReturnTo: return_to is a path on this server or a URL of
// a configured origin; anything a browser could read as another place is
// refused with a page saying why, before the provider is involved.
func TestBrowserLoginReturnTo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		for _, bad := range []string{
			"https://evil.example/",
			"http://app.acme.com/", // the configured origin is https
			"//evil.example/",
			"///evil.example/",
			`\\evil.example`,
			`/\evil.example`,
			"javascript:alert(1)",
			"JavaScript:alert(1)",
			"data:text/html,hi",
			"/%2F%2Fevil.example",
			"%2F%2Fevil.example",
			"/%5Cevil.example",
			"/%252F%252Fevil.example",
			"https://app.acme.com@evil.example/",
			"https:evil.example",
			"/app\r\nSet-Cookie: x=y",
			"app/home",
		} {
			t.Run(bad, func(t *testing.T) {
				b := w.browser()
				status, loc, body := b.get(w.url + "/auth/acme/sso/login?return_to=" + url.QueryEscape(bad))
				refusedPage(t, status, body, 400, "return_to")
				if loc != "" {
					t.Errorf("redirected to %q", loc)
				}
			})
		}
		for _, good := range []string{"/app", "https://app.acme.com/after?x=1", "https://APP.acme.com/"} {
			t.Run(good, func(t *testing.T) {
				b := w.browser()
				status, loc, _ := w.login(b, grace(), good)
				if status != http.StatusSeeOther || loc != good {
					t.Errorf("return_to %q: %d to %q", good, status, loc)
				}
			})
		}
	})
}

// TestDisableEndsLiveSession: disabling the user over SCIM ends their
// live session at once: the next /Me with the cookie is refused, and so is
// their next login, with a page saying why and an audit event.
func TestDisableEndsLiveSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		b := w.browser()
		if status, _, body := w.login(b, grace(), ""); status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", status, body)
		}
		status, me := w.me(b)
		if status != 200 {
			t.Fatalf("/Me: %d %v", status, me)
		}
		id, _ := me["id"].(string)
		if s, d := w.scim("PATCH", "/scim/v2/acme/Users/"+id,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`); s != 200 {
			t.Fatalf("SCIM disable: %d %v", s, d)
		}
		if status, me := w.me(b); status != http.StatusUnauthorized {
			t.Fatalf("/Me after the disable: %d %v, want 401", status, me)
		}
		before, _ := db.AuditEvents(context.Background(), w.tenantID(), id)
		status, _, body := w.login(w.browser(), grace(), "")
		refusedPage(t, status, body, 403, reconcile.RefusedDisabled)
		after, _ := db.AuditEvents(context.Background(), w.tenantID(), id)
		if len(after) != len(before)+1 || after[len(after)-1].Action != "refuse" {
			t.Errorf("events after the refused login: %d (was %d), want one refuse", len(after), len(before))
		}
	})
}

// TestPendingActivatesAtBrowserLogin: a user pending activation signs in
// through the browser and is active from then on.
func TestPendingActivatesAtBrowserLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		ctx := context.Background()
		status, pushed := w.scim("POST", "/scim/v2/acme/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"grace@acme.com","userType":"Trainee"}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		id, _ := pushed["id"].(string)
		if u, err := db.User(ctx, w.tenantID(), 0, id); err != nil || u.Status != store.StatusPending {
			t.Fatalf("pushed trainee: status %q (%v), want pending", u.Status, err)
		}
		b := w.browser()
		if status, _, body := w.login(b, grace(), ""); status != http.StatusSeeOther {
			t.Fatalf("login of a pending user: %d %s", status, body)
		}
		if u, err := db.User(ctx, w.tenantID(), 0, id); err != nil || u.Status != store.StatusActive {
			t.Fatalf("after the first login: status %q (%v), want active", u.Status, err)
		}
	})
}

// TestConcurrentBrowserLogins: 50 first logins of the same new person at
// once, each in its own browser, create one user, and each starts a
// session of that user.
func TestConcurrentBrowserLogins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		const n = 50
		browsers := make([]*browser, n)
		callbacks := make([]string, n)
		for i := range n {
			browsers[i] = w.browser()
			callbacks[i] = w.authorize(browsers[i], grace(), "")
		}
		var wg sync.WaitGroup
		statuses := make([]int, n)
		bodies := make([]string, n)
		for i := range n {
			wg.Go(func() {
				res, err := browsers[i].c.Get(callbacks[i])
				if err != nil {
					bodies[i] = err.Error()
					return
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				statuses[i], bodies[i] = res.StatusCode, string(raw)
			})
		}
		wg.Wait()
		var ids []string
		for i := range n {
			if statuses[i] != http.StatusSeeOther {
				t.Errorf("login %d: %d %s", i, statuses[i], bodies[i])
				continue
			}
			status, me := w.me(browsers[i])
			if status != 200 {
				t.Errorf("login %d: /Me %d %v", i, status, me)
				continue
			}
			id, _ := me["id"].(string)
			ids = append(ids, id)
		}
		if slices.Sort(ids); len(slices.Compact(ids)) != 1 {
			t.Errorf("the logins signed in %v, want one user", slices.Compact(ids))
		}
		if got := w.users(); got != 1 {
			t.Fatalf("%d users after %d concurrent first logins, want 1", got, n)
		}
	})
}

// TestLoginAgainEndsPreviousSession: signing in again in a browser ends
// the session its old cookie held.
func TestLoginAgainEndsPreviousSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		b := w.browser()
		if status, _, body := w.login(b, grace(), ""); status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", status, body)
		}
		u, _ := url.Parse(w.url)
		var old string
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == jit.CookieName {
				old = c.Value
			}
		}
		if old == "" {
			t.Fatal("no session cookie after the login")
		}
		if status, _, body := w.login(b, grace(), ""); status != http.StatusSeeOther {
			t.Fatalf("second login: %d %s", status, body)
		}
		if status, _ := w.me(b); status != 200 {
			t.Fatalf("/Me with the new session: %d", status)
		}
		req, _ := http.NewRequest("GET", w.url+"/scim/v2/acme/Me", nil)
		req.AddCookie(&http.Cookie{Name: jit.CookieName, Value: old})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("/Me with the old cookie: %d, want 401", res.StatusCode)
		}
	})
}

// TestBrowserLoginRefusals: at the callback, a userinfo sub other than the
// ID token's, an unverified email and an email outside the connector's
// domains are refused with a page saying why, and nobody is created.
func TestBrowserLoginRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRPWorld(t, db)
		t.Run("userinfo of another subject", func(t *testing.T) {
			status, _, body := w.craftedLogin(w.browser(), "u1", func(n string) string {
				c := w.craftedClaims(n)
				delete(c, "name") // so that userinfo is fetched
				w.crafted.SetUserInfo("at-u1", map[string]any{"sub": "00u-someone-else", "name": "Mallory"})
				return w.crafted.Sign(c)
			})
			refusedPage(t, status, body, 401, "userinfo_sub")
		})
		t.Run("unverified email", func(t *testing.T) {
			status, _, body := w.craftedLogin(w.browser(), "u2", func(n string) string {
				c := w.craftedClaims(n)
				c["email_verified"] = false
				return w.crafted.Sign(c)
			})
			refusedPage(t, status, body, 403, jit.RefusedEmailUnverified)
		})
		t.Run("email outside the domains", func(t *testing.T) {
			status, _, body := w.craftedLogin(w.browser(), "u3", func(n string) string {
				c := w.craftedClaims(n)
				c["email"], c["preferred_username"] = "eve@evil.example", "eve@evil.example"
				return w.crafted.Sign(c)
			})
			refusedPage(t, status, body, 403, jit.RefusedEmailDomain)
		})
		t.Run("another app's token", func(t *testing.T) {
			status, _, body := w.craftedLogin(w.browser(), "u4", func(n string) string {
				c := w.craftedClaims(n)
				c["aud"] = "other-app"
				return w.crafted.Sign(c)
			})
			refusedPage(t, status, body, 401, "audience")
		})
		if n := w.users(); n != 0 {
			t.Errorf("%d users after the refusals, want 0", n)
		}
	})
}
