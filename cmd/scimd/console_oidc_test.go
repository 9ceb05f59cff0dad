package main

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/jit/oidctest"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// ssoConfig is a tenant whose people sign in through mockoidc (connector
// sso), whose rules make the IT group administrators of the console
// (role scimd-admin), Root tenant-wide ones, and put people in org units
// by group; an administrator's disable holds against a sign-in.
const ssoConfig = `
tenants:
  - name: acme
    roles:
      - name: scimd-admin
      - name: scimd-tenant-admin
    connectors:
      - name: sso
        kind: oidc
        oidc: {issuer: %s, clientId: %s, clientSecretEnv: SCIMD_TEST_SSO_SECRET, scopes: [openid, email, profile, groups]}
        emailDomains: [example.com]
        create: {orgUnits: true, roles: true}
        # An administrator's disable outranks the person's next sign-in
        # (without it, a login's active: true enables them again).
        precedence: {status: [admin]}
        allow:
          roles: [scimd-admin, scimd-tenant-admin]
          orgUnits: [Medicine, Law]
        rules:
          - name: it-admins
            if: has(claims.groups) && "IT" in claims.groups
            roles: [scimd-admin]
          - name: root-admins
            if: has(claims.groups) && "Root" in claims.groups
            roles: [scimd-tenant-admin]
          - name: radiology
            if: has(claims.groups) && "Radiology" in claims.groups
            orgUnit: Medicine/Radiology
          - name: law
            if: has(claims.groups) && "Law" in claims.groups
            orgUnit: Law
`

// ssoWorld is a running scimd whose tenant acme signs people in through
// a real in-process OpenID provider.
type ssoWorld struct {
	t     *testing.T
	op    *mockoidc.MockOIDC
	srv   *httptest.Server
	db    *store.DB
	admin string // an admin token, to check and change things through the API
}

// newSSOWorld starts it; more is YAML appended to acme's connectors.
func newSSOWorld(t *testing.T, dsn, more string) *ssoWorld {
	t.Helper()
	op := oidctest.Mock(t)
	t.Setenv("SCIMD_TEST_SSO_SECRET", op.ClientSecret)
	cfg, err := rules.Load("acme.yaml", []byte(fmt.Sprintf(ssoConfig, op.Issuer(), op.ClientID)+more))
	if err != nil {
		t.Fatal(err)
	}
	w := &ssoWorld{t: t, op: op, admin: newToken(t, dsn, "acme", "admins", "--admin")}
	w.db = storetest.Open(t, dsn)
	w.srv = httptest.NewServer(routes(w.db, reconcile.New(w.db, cfg), "", 1<<20, 0, slog.New(slog.DiscardHandler)))
	t.Cleanup(w.srv.Close)
	return w
}

func person(name string, groups ...string) *mockoidc.MockUser {
	email := name + "@example.com"
	return &mockoidc.MockUser{Subject: "00u-" + name, Email: email, EmailVerified: true, PreferredUsername: email, Groups: groups}
}

var ssoLink = regexp.MustCompile(`href="(/auth/acme/sso/login\?return_to=[^"]+)"`)

// signIn opens the console's sign-in page in a new browser, follows its
// "Sign in with SSO" as u, and returns the browser (which follows
// redirects) with where it ended and the page there.
func (w *ssoWorld) signIn(u *mockoidc.MockUser) (*http.Client, *http.Response, string) {
	w.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, page := do(w.t, c, "GET", w.srv.URL+"/console/acme/signin", nil)
	m := ssoLink.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		w.t.Fatalf("sign-in page: %d, no Sign in with SSO: %s", res.StatusCode, page)
	}
	w.op.QueueUser(u)
	res, page = do(w.t, c, "GET", w.srv.URL+html.UnescapeString(m[1]), nil)
	return c, res, page
}

// consoleCookie is the console session's cookie the browser holds, "" for none.
func (w *ssoWorld) consoleCookie(c *http.Client) string {
	u, _ := url.Parse(w.srv.URL + "/console/")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == console.CookieName {
			return k.Value
		}
	}
	return ""
}

func (w *ssoWorld) userID(userName string) string {
	w.t.Helper()
	res, body := request(w.t, "GET", w.srv.URL+"/admin/v1/acme/users?q="+url.QueryEscape(userName), w.admin, "")
	users, _ := body["users"].([]any)
	if res.StatusCode != http.StatusOK || len(users) != 1 {
		w.t.Fatalf("find %s: %d %v", userName, res.StatusCode, body)
	}
	return users[0].(map[string]any)["id"].(string)
}

// events are the audit events of a resource, as action → actor's userName
// ("" when the event names none).
func (w *ssoWorld) events(resourceID string) []string {
	w.t.Helper()
	t, err := w.db.Tenant(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	evs, err := w.db.AuditEvents(context.Background(), t.ID, resourceID)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		actor, _ := e.Detail["actor"].(map[string]any)
		name, _ := actor["userName"].(string)
		out = append(out, e.Action+" by "+name)
	}
	return out
}

// TestConsoleSSO: the console's sign-in through an OIDC connector, on
// both databases. A person the rules grant scimd-admin gets a console
// session scoped to their org unit (tenant-wide without one, or with
// scimd-tenant-admin); one without it gets a 403 page and no session;
// a disabled one is refused at the door and their console session ends,
// as it does when the rules stop granting the role;
// the sign-in is used once; audit events name the person.
func TestConsoleSSO(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newSSOWorld(t, dsn, "")

		// People who are no administrators: signed in (and made) through
		// the pipeline, refused by the console.
		for _, u := range []*mockoidc.MockUser{person("bob", "Radiology"), person("carl", "Law")} {
			c, res, page := w.signIn(u)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "does not hold the role scimd-admin") || w.consoleCookie(c) != "" {
				t.Fatalf("%s, no admin: %d at %s, console cookie %q: %s", u.Subject, res.StatusCode, res.Request.URL, w.consoleCookie(c), page)
			}
		}
		bob, carl := w.userID("bob@example.com"), w.userID("carl@example.com")

		t.Run("an administrator of an org unit sees that unit", func(t *testing.T) {
			c, res, page := w.signIn(person("ann", "IT", "Radiology"))
			if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/console/acme/users" || w.consoleCookie(c) == "" {
				_, body := request(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+w.userID("ann@example.com"), w.admin, "")
				t.Fatalf("ann: %d at %s (her grants: %v): %s", res.StatusCode, res.Request.URL, body["grants"], page)
			}
			if !strings.Contains(page, "console · ann@example.com, administrator of org unit Medicine/Radiology") {
				t.Errorf("the header does not name ann and her scope:\n%s", page)
			}
			if !strings.Contains(page, "bob@example.com") || !strings.Contains(page, "ann@example.com") || strings.Contains(page, "carl@example.com") {
				t.Errorf("Medicine/Radiology's administrator sees:\n%s", page)
			}
			if res, _ := do(t, c, "GET", w.srv.URL+"/console/acme/users/"+carl, nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("a user outside the unit: %d, want 404", res.StatusCode)
			}
			// An action through the console names ann in its audit event.
			res, page = do(t, c, "GET", w.srv.URL+"/console/acme/users/"+bob, nil)
			csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
			if res.StatusCode != http.StatusOK || csrf == nil {
				t.Fatalf("bob's page: %d %s", res.StatusCode, page)
			}
			if res, page = do(t, c, "POST", w.srv.URL+"/console/acme/users/"+bob+"/end-sessions", url.Values{"csrf": {csrf[1]}}); res.StatusCode != http.StatusOK {
				t.Fatalf("end bob's sessions: %d %s", res.StatusCode, page)
			}
			if evs := strings.Join(w.events(bob), ", "); !strings.Contains(evs, "session-end by ann@example.com") {
				t.Errorf("bob's events: %s", evs)
			}
			if evs := strings.Join(w.events(w.userID("ann@example.com")), ", "); !strings.Contains(evs, "console-sign-in by ann@example.com") {
				t.Errorf("ann's events: %s", evs)
			}
			// The sign-in became the console session: it does not sign in twice.
			if res, page := do(t, c, "GET", w.srv.URL+"/console/acme/sso", nil); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "ended") {
				t.Errorf("the sign-in used again: %d %s", res.StatusCode, page)
			}
			// A console session is no person's sign-in session (/Me).
			req, _ := http.NewRequest("GET", w.srv.URL+"/scim/v2/acme/Me", nil)
			req.AddCookie(&http.Cookie{Name: "scimd_session", Value: w.consoleCookie(c)})
			if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
				t.Errorf("/Me with a console session: %v %v", res, err)
			} else {
				res.Body.Close()
			}
		})

		t.Run("an administrator without an org unit, or with scimd-tenant-admin, sees the tenant", func(t *testing.T) {
			for _, u := range []*mockoidc.MockUser{person("dana", "IT"), person("rita", "Root", "Radiology")} {
				_, res, page := w.signIn(u)
				if res.StatusCode != http.StatusOK || !strings.Contains(page, "carl@example.com") || !strings.Contains(page, "bob@example.com") {
					t.Errorf("%s: %d at %s:\n%s", u.Subject, res.StatusCode, res.Request.URL, page)
				}
			}
		})

		t.Run("a session ends when the rules stop granting the role", func(t *testing.T) {
			c, res, page := w.signIn(person("fay", "IT"))
			if res.StatusCode != http.StatusOK || w.consoleCookie(c) == "" {
				t.Fatalf("fay: %d %s", res.StatusCode, page)
			}
			// Fay left IT: at her next sign-in the rule it-admins does not
			// fire, and its grant goes.
			if _, res, _ := w.signIn(person("fay")); res.StatusCode != http.StatusForbidden {
				t.Fatalf("fay out of IT: %d, want 403", res.StatusCode)
			}
			if res, page := do(t, c, "GET", w.srv.URL+"/console/acme/users", nil); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "does not hold the role scimd-admin") {
				t.Errorf("fay's console session after the role went: %d %s", res.StatusCode, page)
			}
		})

		t.Run("a disabled administrator is refused, and their session ends", func(t *testing.T) {
			c, res, page := w.signIn(person("eve", "IT"))
			if res.StatusCode != http.StatusOK || w.consoleCookie(c) == "" {
				t.Fatalf("eve: %d %s", res.StatusCode, page)
			}
			eve := w.userID("eve@example.com")
			if res, body := request(t, "POST", w.srv.URL+"/admin/v1/acme/users/"+eve+"/disable", w.admin, ""); res.StatusCode != http.StatusOK {
				t.Fatalf("disable eve: %d %v", res.StatusCode, body)
			}
			if res, _ := do(t, c, "GET", w.srv.URL+"/console/acme/users", nil); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("eve's console session after her disable: %d, want 401", res.StatusCode)
			}
			c, res, page = w.signIn(person("eve", "IT"))
			if res.StatusCode != http.StatusForbidden || !strings.Contains(page, `data-reason="disabled"`) || w.consoleCookie(c) != "" {
				t.Errorf("disabled eve signs in: %d at %s, cookie %q: %s", res.StatusCode, res.Request.URL, w.consoleCookie(c), page)
			}
		})

		t.Run("a role an administrator grants by hand makes no administrator", func(t *testing.T) {
			res, body := request(t, "PUT", w.srv.URL+"/admin/v1/acme/users/"+carl+"/grants", w.admin, `{"roles":["scimd-tenant-admin"],"groups":[]}`)
			if res.StatusCode >= 300 {
				t.Fatalf("grant by hand: %d %v", res.StatusCode, body)
			}
			c, res, page := w.signIn(person("carl", "Law"))
			if res.StatusCode != http.StatusForbidden || w.consoleCookie(c) != "" {
				t.Errorf("carl with a hand-granted role: %d %s", res.StatusCode, page)
			}
		})

		t.Run("a tenant without an OIDC connector offers no SSO", func(t *testing.T) {
			newToken(t, dsn, "globex", "okta")
			res, page := do(t, browser(t), "GET", w.srv.URL+"/console/globex/signin", nil)
			if res.StatusCode != http.StatusOK || strings.Contains(page, "Sign in with SSO") || !strings.Contains(page, "scimd admin bootstrap") {
				t.Errorf("globex's sign-in page: %d %s", res.StatusCode, page)
			}
		})
	})
}
