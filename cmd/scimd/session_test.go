package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// signedIn is a running scimd (real HTTP on loopback, the top-level
// routes) with a user pushed by okta and a way to sign them in: sessions
// are started through the engine, as the login callback will.
type signedIn struct {
	t      *testing.T
	db     *store.DB
	engine *reconcile.Engine
	srv    *httptest.Server
	okta   string // okta's SCIM token
	admin  string // an admin connector's token
	oidc   store.Connector
	tenant store.Tenant
	userID string

	mu  sync.Mutex
	now time.Time
}

func newSignedIn(t *testing.T, dsn string) *signedIn {
	t.Helper()
	s := &signedIn{t: t, okta: newToken(t, dsn, "acme", "okta"), admin: newToken(t, dsn, "acme", "admins", "--admin"), now: time.Now().UTC()}
	newToken(t, dsn, "globex", "okta")
	s.db = storetest.Open(t, dsn)
	s.engine = reconcile.New(s.db, nil)
	s.engine.SetClock(func() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now })
	err := s.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var err error
		s.tenant, s.oidc, err = tx.EnsureConnector(ctx, "acme", "oidc")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(routes(s.db, s.engine, "", 1<<20, 0, slog.New(slog.DiscardHandler)))
	t.Cleanup(s.srv.Close)
	res, body := request(t, "POST", s.srv.URL+"/scim/v2/acme/Users", s.okta,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","externalId":"00u1","name":{"givenName":"Ann"}}`)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", res.StatusCode, body)
	}
	s.userID = body["id"].(string)
	return s
}

func (s *signedIn) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// signIn starts a session for the user and returns the cookie's value.
func (s *signedIn) signIn() string {
	s.t.Helper()
	is, err := s.engine.StartSession(context.Background(), reconcile.SessionStart{TenantID: s.tenant.ID, ConnectorID: s.oidc.ID, UserID: s.userID})
	if err != nil {
		s.t.Fatal(err)
	}
	return is.Secret
}

// me sends method /scim/v2/{tenant}/Me with the session cookie (none for "").
func (s *signedIn) me(method, tenant, cookie string, header ...string) (*http.Response, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+"/scim/v2/"+tenant+"/Me", strings.NewReader(`{}`))
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "scimd_session", Value: cookie})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

// refused checks that /Me with the cookie answers 401, a SCIM error
// saying to sign in.
func (s *signedIn) refused(cookie, why string) {
	s.t.Helper()
	res, body := s.me("GET", "acme", cookie)
	detail, _ := body["detail"].(string)
	if res.StatusCode != http.StatusUnauthorized || body["status"] != "401" || !strings.Contains(detail, why) ||
		!strings.Contains(res.Header.Get("Content-Type"), "application/scim+json") {
		s.t.Errorf("/Me %s: %d %v, want 401 saying %q", why, res.StatusCode, body, why)
	}
}

func (s *signedIn) logout(cookie string, header ...string) *http.Response {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+"/auth/acme/logout", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "scimd_session", Value: cookie})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// TestMe: /Me answers the signed-in person's user as GET /Users/{id}
// does (RFC 7644 §3.11), with the externalId of the connector that signed
// them in; no session is a 401 SCIM error saying to sign in; other methods
// are 501; a session of acme is refused at globex.
func TestMe(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := newSignedIn(t, dsn)
		cookie := s.signIn()
		res, me := s.me("GET", "acme", cookie)
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("/Me: %d %v", res.StatusCode, me)
		}
		got, user := request(t, "GET", s.srv.URL+"/scim/v2/acme/Users/"+s.userID, s.okta, "")
		if user["externalId"] != "00u1" || me["externalId"] != nil {
			t.Errorf("externalId: okta's %v, /Me's %v; want okta's own, and none for oidc", user["externalId"], me["externalId"])
		}
		delete(user, "externalId")
		if !reflect.DeepEqual(me, user) || res.Header.Get("ETag") != got.Header.Get("ETag") {
			t.Errorf("/Me %v (ETag %s)\nwant GET /Users/{id}'s %v (ETag %s)", me, res.Header.Get("ETag"), user, got.Header.Get("ETag"))
		}
		if res, me := s.me("GET", "acme", cookie, "If-None-Match", got.Header.Get("ETag")); res.StatusCode != http.StatusNotModified {
			t.Errorf("/Me with If-None-Match: %d %v", res.StatusCode, me)
		}
		if _, me := s.me("GET", "acme", cookie); me["userName"] != "ann@example.com" {
			t.Errorf("/Me again: %v", me)
		}

		s.refused("", "sign in")
		s.refused("forged", "sign in")
		for _, m := range []string{"PUT", "PATCH", "DELETE", "POST"} {
			res, body := s.me(m, "acme", cookie)
			if res.StatusCode != http.StatusNotImplemented || body["status"] != "501" ||
				!has(body["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error") {
				t.Errorf("%s /Me: %d %v, want a 501 SCIM error", m, res.StatusCode, body)
			}
		}
		if res, body := s.me("GET", "globex", cookie); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body["detail"].(string), "another tenant") {
			t.Errorf("acme's session at globex's /Me: %d %v, want 401", res.StatusCode, body)
		}
		// A connector's token opens no /Me: it is no person.
		if res, _ := request(t, "GET", s.srv.URL+"/scim/v2/acme/Me", s.okta, ""); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("/Me with okta's token: %d, want 401", res.StatusCode)
		}
		// The session still works after all that.
		if res, _ := s.me("GET", "acme", cookie); res.StatusCode != http.StatusOK {
			t.Errorf("/Me at the end: %d", res.StatusCode)
		}
	})
}

// has reports whether list, a JSON array, holds v.
func has(list, v any) bool {
	s, _ := list.([]any)
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestDeprovisioningReachesSessions: a SCIM PATCH active=false, a SCIM
// DELETE and an administrator's end-all each end the person's live
// session: the next /Me is refused. The user's audit trail shows the
// sessions' start and end.
func TestDeprovisioningReachesSessions(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := newSignedIn(t, dsn)
		user := s.srv.URL + "/scim/v2/acme/Users/" + s.userID
		patch := func(active bool) {
			res, body := request(t, "PATCH", user, s.okta, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":`+map[bool]string{true: "true", false: "false"}[active]+`}]}`)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("PATCH active=%v: %d %v", active, res.StatusCode, body)
			}
		}

		cookie := s.signIn()
		patch(true) // changes nothing: the session stays
		if res, _ := s.me("GET", "acme", cookie); res.StatusCode != http.StatusOK {
			t.Fatalf("/Me: %d", res.StatusCode)
		}
		patch(false)
		s.refused(cookie, "user disabled")
		patch(true)
		s.refused(cookie, "sign in again") // ended stays ended

		// An administrator ends every session of the user.
		one, two := s.signIn(), s.signIn()
		res, body := request(t, "GET", s.srv.URL+"/admin/v1/acme/users/"+s.userID+"/sessions", s.admin, "")
		list, _ := body["sessions"].([]any)
		if res.StatusCode != http.StatusOK || len(list) != 3 || list[0].(map[string]any)["live"] != true || list[2].(map[string]any)["live"] != false ||
			list[0].(map[string]any)["connector"] != "oidc" {
			t.Fatalf("admin sessions: %d %v", res.StatusCode, body)
		}
		raw, _ := json.Marshal(body)
		if strings.Contains(string(raw), one) || strings.Contains(string(raw), "hash") {
			t.Errorf("the admin list shows a secret or hash: %s", raw)
		}
		if res, body := request(t, "DELETE", s.srv.URL+"/admin/v1/acme/users/"+s.userID+"/sessions", s.admin, ""); res.StatusCode != http.StatusOK || body["ended"] != float64(2) {
			t.Fatalf("admin end all: %d %v", res.StatusCode, body)
		}
		s.refused(one, "ended by an administrator")
		s.refused(two, "ended by an administrator")
		if res, _ := request(t, "GET", s.srv.URL+"/admin/v1/globex/users/"+s.userID+"/sessions", s.admin, ""); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("acme's admin at globex: %d", res.StatusCode)
		}

		// The audit trail.
		_, body = request(t, "GET", s.srv.URL+"/admin/v1/acme/users/"+s.userID+"/events", s.admin, "")
		var trail []string
		events, _ := body["events"].([]any)
		for _, e := range events {
			e := e.(map[string]any)
			if a := e["action"].(string); strings.HasPrefix(a, "session-") {
				trail = append(trail, e["source"].(string)+":"+a)
			}
		}
		want := []string{"oidc:session-start", "scim:session-end", "oidc:session-start", "oidc:session-start", "admin:session-end"}
		if !reflect.DeepEqual(trail, want) {
			t.Errorf("the audit trail's sessions: %v, want %v (events: %v)", trail, want, body)
		}

		// A SCIM DELETE.
		cookie = s.signIn()
		if res, _ := request(t, "DELETE", user, s.okta, ""); res.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", res.StatusCode)
		}
		s.refused(cookie, "user deleted")
	})
}

// TestSessionExpiryOverHTTP: /Me refuses a session idle too long, and one
// past its absolute lifetime however often used.
func TestSessionExpiryOverHTTP(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := newSignedIn(t, dsn)
		s.engine.SetSessionLifetimes(10*time.Minute, time.Hour)
		cookie := s.signIn()
		s.advance(9 * time.Minute)
		if res, _ := s.me("GET", "acme", cookie); res.StatusCode != http.StatusOK {
			t.Fatalf("/Me after 9 idle minutes: %d", res.StatusCode)
		}
		s.advance(10 * time.Minute)
		s.refused(cookie, "without use")

		cookie = s.signIn()
		for range 6 {
			s.advance(9 * time.Minute)
			if res, _ := s.me("GET", "acme", cookie); res.StatusCode != http.StatusOK {
				t.Fatalf("/Me used every 9 minutes: %d", res.StatusCode)
			}
		}
		s.advance(9 * time.Minute) // 63 minutes in
		s.refused(cookie, "expired")
	})
}

// TestLogout: POST /auth/{tenant}/logout ends the session and clears the
// cookie; a GET does not; a request a browser marks cross-origin is
// refused; return_to redirects only to a path on this server.
func TestLogout(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := newSignedIn(t, dsn)
		cookie := s.signIn()

		res, err := http.Get(s.srv.URL + "/auth/acme/logout")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
			t.Errorf("GET logout: %d", res.StatusCode)
		}
		for _, h := range [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
			{"Origin", "https://evil.example"},
		} {
			if res := s.logout(cookie, h...); res.StatusCode != http.StatusForbidden {
				t.Errorf("logout with %v: %d, want 403", h, res.StatusCode)
			}
		}
		if res, _ := s.me("GET", "acme", cookie); res.StatusCode != http.StatusOK {
			t.Fatalf("/Me after refused logouts: %d, want the session still live", res.StatusCode)
		}

		res = s.logout(cookie, "Sec-Fetch-Site", "same-origin", "Origin", s.srv.URL)
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d", res.StatusCode)
		}
		var cleared bool
		for _, c := range res.Cookies() {
			cleared = cleared || c.Name == "scimd_session" && c.Value == "" && c.MaxAge < 0 && c.HttpOnly && c.Path == "/"
		}
		if !cleared {
			t.Errorf("logout's Set-Cookie %v: want scimd_session cleared", res.Header["Set-Cookie"])
		}
		s.refused(cookie, "logout")
		if res := s.logout(cookie); res.StatusCode != http.StatusNoContent {
			t.Errorf("a second logout: %d", res.StatusCode)
		}
		if res := s.logout(""); res.StatusCode != http.StatusNoContent {
			t.Errorf("logout without a session: %d", res.StatusCode)
		}

		for to, want := range map[string]string{"/signed-out?x=1": "/signed-out?x=1", "//evil.example/": "", "/\\evil.example": "",
			"https://evil.example/": "", "javascript:alert(1)": ""} {
			req, _ := http.NewRequest("POST", s.srv.URL+"/auth/acme/logout", strings.NewReader("return_to="+url.QueryEscape(to)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Location"); got != want || (want == "") != (res.StatusCode == http.StatusNoContent) {
				t.Errorf("logout with return_to %q: %d to %q, want %q", to, res.StatusCode, got, want)
			}
		}
	})
}

// TestSessionCommands: scimd session list shows a user's sessions without
// secrets, session end ends them (audited as the command line's).
func TestSessionCommands(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		s := newSignedIn(t, dsn)
		cookie := s.signIn()
		code, out, errOut := scimd(t, nil, "session", "list", "--tenant", "acme", "--user", s.userID, "--database-url", dsn)
		if code != 0 || !strings.Contains(out, "oidc") || !strings.Contains(out, "live") || strings.Contains(out, cookie) {
			t.Fatalf("session list: %d %q %q", code, out, errOut)
		}
		code, _, errOut = scimd(t, nil, "session", "end", "--tenant", "acme", "--user", s.userID, "--database-url", dsn)
		if code != 0 || !strings.Contains(errOut, "Ended 1 live session") {
			t.Fatalf("session end: %d %q", code, errOut)
		}
		s.refused(cookie, "ended by an administrator")
		if _, out, _ := scimd(t, nil, "session", "list", "--tenant", "acme", "--user", s.userID, "--database-url", dsn); !strings.Contains(out, "ended") {
			t.Errorf("session list after end: %q", out)
		}
		if code, _, errOut := scimd(t, nil, "session", "end", "--tenant", "acme", "--database-url", dsn); code != exitUsage || !strings.Contains(errOut, "--user") {
			t.Errorf("session end without --user: %d %q", code, errOut)
		}
		if code, _, errOut := scimd(t, nil, "session", "end", "--tenant", "globex", "--user", s.userID, "--database-url", dsn); code == 0 || !strings.Contains(errOut, "no user") {
			t.Errorf("session end of acme's user in globex: %d %q", code, errOut)
		}
		if code, _, errOut := scimd(t, nil, "session", "list", "--help"); code != 0 || !strings.Contains(errOut, "-user") {
			t.Errorf("session list --help: %d %q", code, errOut)
		}
	})
}
