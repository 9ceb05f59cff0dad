package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// consoleWorld is a running scimd (the top-level routes on loopback)
// with users pushed by okta, an admin token to check what the console
// did through the API, and a clock the test moves.
type consoleWorld struct {
	t      *testing.T
	dsn    string
	srv    *httptest.Server
	db     *store.DB
	engine *reconcile.Engine
	okta   string
	admin  string
	ids    map[string]string // userName → id

	mu  sync.Mutex
	now time.Time
}

func newConsoleWorld(t *testing.T, dsn string) *consoleWorld {
	t.Helper()
	w := &consoleWorld{t: t, dsn: dsn, okta: newToken(t, dsn, "acme", "okta"), admin: newToken(t, dsn, "acme", "admins", "--admin"),
		ids: map[string]string{}, now: time.Now().UTC()}
	newToken(t, dsn, "globex", "okta")
	db := storetest.Open(t, dsn)
	w.db = db
	w.engine = reconcile.New(db, nil)
	w.engine.SetClock(func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now })
	w.srv = httptest.NewServer(routes(db, w.engine, "", 1<<20, 0, slog.New(slog.DiscardHandler)))
	t.Cleanup(w.srv.Close)
	for _, u := range []struct{ name, display string }{
		{"ann@example.com", "Ann Smith"},
		{"bob@example.com", "Bob Jones"},
		{"eve@example.com", `<script>alert("x")</script>`},
	} {
		res, body := request(t, "POST", w.srv.URL+"/scim/v2/acme/Users", w.okta,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+u.name+`","displayName":`+jsonString(u.display)+`,"emails":[{"value":"`+u.name+`","primary":true}]}`)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %d %v", u.name, res.StatusCode, body)
		}
		w.ids[u.name] = body["id"].(string)
	}
	return w
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (w *consoleWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// bootstrap runs scimd admin bootstrap and returns the link it prints.
func (w *consoleWorld) bootstrap(args ...string) string {
	w.t.Helper()
	code, out, errOut := scimd(w.t, nil, append([]string{"admin", "bootstrap", "--tenant", "acme", "--database-url", w.dsn, "--url", w.srv.URL}, args...)...)
	if code != 0 {
		w.t.Fatalf("admin bootstrap: %d %s", code, errOut)
	}
	link := strings.TrimSpace(out)
	if !strings.HasPrefix(link, w.srv.URL+"/console/acme/signin?link=") {
		w.t.Fatalf("bootstrap link %q", link)
	}
	return link
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so that each answer is seen.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request and returns the answer with its body read.
func do(t *testing.T, c *http.Client, method, u string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn uses link in a fresh browser and returns it, signed in.
func (w *consoleWorld) signIn(link string) *http.Client {
	w.t.Helper()
	c := browser(w.t)
	res, page := do(w.t, c, "GET", link, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `name="link"`) {
		w.t.Fatalf("sign-in page: %d %s", res.StatusCode, page)
	}
	secret := regexp.MustCompile(`name="link" value="([^"]+)"`).FindStringSubmatch(page)[1]
	res, page = do(w.t, c, "POST", w.srv.URL+"/console/acme/signin", url.Values{"link": {secret}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/acme/users" {
		w.t.Fatalf("sign in: %d %s", res.StatusCode, page)
	}
	return c
}

func TestConsoleBootstrapSignIn(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		link := w.bootstrap()

		// Opening the link twice changes nothing: the sign-in is the POST.
		c := browser(t)
		for range 2 {
			if res, _ := do(t, c, "GET", link, nil); res.StatusCode != http.StatusOK {
				t.Fatalf("GET link: %d", res.StatusCode)
			}
		}
		secret, _ := url.Parse(link)
		form := url.Values{"link": {secret.Query().Get("link")}}
		res, page := do(t, c, "POST", w.srv.URL+"/console/acme/signin", form)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: %d %s", res.StatusCode, page)
		}
		var cookie *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == console.CookieName {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/console/" || cookie.Secure {
			t.Fatalf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/console/, not Secure over http", cookie)
		}
		if res, page := do(t, c, "GET", w.srv.URL+"/console/acme/users", nil); res.StatusCode != http.StatusOK || !strings.Contains(page, "ann@example.com") {
			t.Fatalf("users after sign-in: %d %s", res.StatusCode, page)
		}

		// The link works once, in any browser.
		res, page = do(t, browser(t), "POST", w.srv.URL+"/console/acme/signin", form)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "used already") {
			t.Fatalf("second use: %d %s", res.StatusCode, page)
		}
		// Nor in another tenant's console.
		other, _ := url.Parse(w.bootstrap())
		res, page = do(t, browser(t), "POST", w.srv.URL+"/console/globex/signin", url.Values{"link": {other.Query().Get("link")}})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("link of acme at globex: %d %s", res.StatusCode, page)
		}
		// An expired link is refused.
		late, _ := url.Parse(w.bootstrap("--ttl", "1m"))
		w.advance(2 * time.Minute)
		res, page = do(t, browser(t), "POST", w.srv.URL+"/console/acme/signin", url.Values{"link": {late.Query().Get("link")}})
		if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "expired") {
			t.Fatalf("expired link: %d %s", res.StatusCode, page)
		}

		// The console session is no person's session: /Me refuses it.
		req, _ := http.NewRequest("GET", w.srv.URL+"/scim/v2/acme/Me", nil)
		req.AddCookie(&http.Cookie{Name: "scimd_session", Value: cookie.Value})
		me, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		me.Body.Close()
		if me.StatusCode != http.StatusUnauthorized {
			t.Errorf("/Me with a console session: %d, want 401", me.StatusCode)
		}

		// Without a session, no page; signing out ends the session.
		if res, _ := do(t, browser(t), "GET", w.srv.URL+"/console/acme/users", nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("users without a session: %d", res.StatusCode)
		}
		_, page = do(t, c, "GET", w.srv.URL+"/console/acme/users", nil)
		csrf := csrfField.FindStringSubmatch(page)[1]
		if res, page := do(t, c, "POST", w.srv.URL+"/console/acme/signout", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusOK {
			t.Fatalf("sign out: %d %s", res.StatusCode, page)
		}
		stale := browser(t)
		u, _ := url.Parse(w.srv.URL + "/console/")
		stale.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: cookie.Value, Path: "/console/"}})
		if res, page := do(t, stale, "GET", w.srv.URL+"/console/acme/users", nil); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "ended") {
			t.Errorf("users after sign-out: %d %s", res.StatusCode, page)
		}

		// A session idle past its idle expiry lets no one in.
		idle := w.signIn(w.bootstrap())
		w.advance(reconcile.DefaultSessionIdle + time.Minute)
		if res, page := do(t, idle, "GET", w.srv.URL+"/console/acme/users", nil); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "without use") {
			t.Errorf("idle session: %d %s", res.StatusCode, page)
		}
	})
}

func TestConsolePages(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		c := w.signIn(w.bootstrap())

		res, page := do(t, c, "GET", w.srv.URL+"/console/acme/users", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("users: %d %s", res.StatusCode, page)
		}
		for k, v := range map[string]string{"Content-Security-Policy": console.CSP, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		// The first paint has the data: the page's own response lists the users.
		for _, name := range []string{"ann@example.com", "bob@example.com", "eve@example.com"} {
			if !strings.Contains(page, name) {
				t.Errorf("users page lacks %s", name)
			}
		}
		if strings.Contains(page, `<script>alert`) || !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
			t.Errorf("the hostile displayName is not escaped:\n%s", page)
		}
		if inline := regexp.MustCompile(`<script(\s[^>]*)?>`).FindAllString(page, -1); len(inline) != 1 || !strings.Contains(inline[0], `src="/console/static/htmx.min.js"`) {
			t.Errorf("scripts %q: want htmx from a file, nothing inline", inline)
		}
		if strings.Contains(page, "style=") || strings.Contains(page, "<style") {
			t.Error("inline style: the CSP refuses it")
		}
		// Static files are served, htmx among them.
		if res, js := do(t, c, "GET", w.srv.URL+"/console/static/htmx.min.js", nil); res.StatusCode != http.StatusOK || !strings.Contains(js, "htmx") ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("htmx.min.js: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}

		// Search as you type: htmx asks for the table alone.
		res, frag := do(t, c, "GET", w.srv.URL+"/console/acme/users?q=an", nil, "HX-Request", "true")
		if res.StatusCode != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "ann@example.com") ||
			strings.Contains(frag, "bob@example.com") || strings.Contains(frag, "eve@example.com") {
			t.Errorf("search 'an': %d\n%s", res.StatusCode, frag)
		}
		_, frag = do(t, c, "GET", w.srv.URL+"/console/acme/users?q=Bob", nil, "HX-Request", "true")
		if !strings.Contains(frag, "bob@example.com") || strings.Contains(frag, "ann@example.com") {
			t.Errorf("search by display name 'Bob':\n%s", frag)
		}
		if res, _ := do(t, c, "GET", w.srv.URL+"/console/acme/users?status=nonsense", nil); res.StatusCode != http.StatusBadRequest {
			t.Errorf("status nonsense: %d, want 400", res.StatusCode)
		}

		if _, frag := do(t, c, "GET", w.srv.URL+"/console/acme/users?orgUnit=Nowhere", nil, "HX-Request", "true"); !strings.Contains(frag, "No users match") {
			t.Errorf("org unit Nowhere:\n%s", frag)
		}

		// A person's live sessions are listed, and ended from the page.
		ann := w.ids["ann@example.com"]
		var oidc store.Connector
		err := w.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			var err error
			_, oidc, err = tx.EnsureConnector(ctx, "acme", "oidc")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := w.engine.StartSession(context.Background(), reconcile.SessionStart{TenantID: oidc.TenantID, ConnectorID: oidc.ID, UserID: ann})
		if err != nil {
			t.Fatal(err)
		}
		_, page = do(t, c, "GET", w.srv.URL+"/console/acme/users/"+ann, nil)
		if !strings.Contains(page, "End 1 live session(s)") || !strings.Contains(page, ">oidc<") {
			t.Fatalf("ann's page lacks her session:\n%s", page)
		}
		csrf0 := csrfField.FindStringSubmatch(page)[1]
		if res, _ := do(t, c, "POST", w.srv.URL+"/console/acme/users/"+ann+"/end-sessions", url.Values{"csrf": {csrf0}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("end sessions: %d", res.StatusCode)
		}
		if _, err := w.engine.Session(context.Background(), "acme", sess.Secret); err == nil {
			t.Error("the session lives on after the console ended it")
		}
		_, page = do(t, c, "GET", w.srv.URL+"/console/acme/users/"+ann+"?done=end-sessions", nil)
		if strings.Contains(page, "live session(s)") || !strings.Contains(page, "ended (ended by an administrator)") || !strings.Contains(page, "done: end-sessions") {
			t.Errorf("ann's page after ending her sessions:\n%s", page)
		}

		eve := w.ids["eve@example.com"]
		res, page = do(t, c, "GET", w.srv.URL+"/console/acme/users/"+eve, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Audit trail") || !strings.Contains(page, "connector okta") ||
			strings.Contains(page, `<script>alert`) {
			t.Fatalf("user page: %d\n%s", res.StatusCode, page)
		}
		csrf := csrfField.FindStringSubmatch(page)[1]
		disable := w.srv.URL + "/console/acme/users/" + eve + "/disable"

		// Cross-origin POSTs are refused, with the right token or not.
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
			if res, page := do(t, c, "POST", disable, url.Values{"csrf": {csrf}}, h...); res.StatusCode != http.StatusForbidden {
				t.Errorf("cross-origin POST (%s): %d %s", h[0], res.StatusCode, page)
			}
		}
		// A same-origin POST without the session's token is refused.
		if res, _ := do(t, c, "POST", disable, url.Values{"csrf": {"forged"}}, "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST without the CSRF token: %d", res.StatusCode)
		}
		if _, u := request(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+eve, w.admin, ""); u["status"] != "active" {
			t.Fatalf("a refused POST changed the user: %v", u["status"])
		}

		// The disable works, and is audited as the console's admin connector.
		res, _ = do(t, c, "POST", disable, url.Values{"csrf": {csrf}}, "Sec-Fetch-Site", "same-origin", "Origin", w.srv.URL)
		if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "?done=disable") {
			t.Fatalf("disable: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if _, u := request(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+eve, w.admin, ""); u["status"] != "disabled" {
			t.Fatalf("after disable: %v", u["status"])
		}
		_, evs := request(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+eve+"/events", w.admin, "")
		list, _ := evs["events"].([]any)
		last, _ := list[len(list)-1].(map[string]any)
		if last["action"] != "disable" || last["source"] != "admin" || last["connector"] != reconcile.ConsoleConnector {
			t.Errorf("last event %v: want a disable by admin connector %q", last, reconcile.ConsoleConnector)
		}
		// Disabled users are marked in the list, with enable at hand.
		_, frag = do(t, c, "GET", w.srv.URL+"/console/acme/users?status=disabled", nil, "HX-Request", "true")
		if !strings.Contains(frag, "eve@example.com") || strings.Contains(frag, "ann@example.com") || !strings.Contains(frag, `badge-disabled`) ||
			!strings.Contains(frag, "/users/"+eve+"/enable") {
			t.Errorf("disabled users:\n%s", frag)
		}
		// Deleted ones too, with restore.
		if res, _ := do(t, c, "POST", w.srv.URL+"/console/acme/users/"+eve+"/delete", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete: %d", res.StatusCode)
		}
		_, frag = do(t, c, "GET", w.srv.URL+"/console/acme/users?status=deleted", nil, "HX-Request", "true")
		if !strings.Contains(frag, "eve@example.com") || !strings.Contains(frag, "/users/"+eve+"/restore") {
			t.Errorf("deleted users:\n%s", frag)
		}
		if res, _ := do(t, c, "POST", w.srv.URL+"/console/acme/users/"+eve+"/restore", url.Values{"csrf": {csrf}, "back": {"list"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("restore: %d", res.StatusCode)
		}
		if _, u := request(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+eve, w.admin, ""); u["status"] != "disabled" {
			t.Errorf("after restore: %v", u["status"])
		}
		// An unknown user is the API's 404, shown as a page.
		if res, _ := do(t, c, "GET", w.srv.URL+"/console/acme/users/00000000-0000-0000-0000-000000000000", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown user: %d", res.StatusCode)
		}
		// The session is acme's: globex's console does not open with it.
		if res, _ := do(t, c, "GET", w.srv.URL+"/console/globex/users", nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("acme's session at globex: %d", res.StatusCode)
		}
	})
}

// TestConsolePaging walks the users a page at a time by the cursor.
func TestConsolePaging(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		for i := range 60 {
			name := "p" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@example.com"
			if res, body := request(t, "POST", w.srv.URL+"/scim/v2/acme/Users", w.okta,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`"}`); res.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d %v", res.StatusCode, body)
			}
		}
		c := w.signIn(w.bootstrap())
		seen := map[string]bool{}
		next := regexp.MustCompile(`href="(/console/acme/users\?[^"]+)" rel="next"`)
		row := regexp.MustCompile(`>(p[a-z]{2}@example\.com)<`)
		u, pages := "/console/acme/users?q=p", 0
		for u != "" {
			pages++
			_, page := do(t, c, "GET", w.srv.URL+strings.ReplaceAll(u, "&amp;", "&"), nil)
			for _, m := range row.FindAllStringSubmatch(page, -1) {
				if seen[m[1]] {
					t.Fatalf("%s on two pages", m[1])
				}
				seen[m[1]] = true
			}
			u = ""
			if m := next.FindStringSubmatch(page); m != nil {
				u = m[1]
			}
		}
		if len(seen) != 60 || pages != 2 {
			t.Errorf("%d users on %d pages, want 60 on 2", len(seen), pages)
		}
	})
}

// TestConsoleSearchFurther: a filter that few users pass stops a page
// once it has read a page's share of the directory (store.SearchRounds
// scans of store.DefaultSearchScan users), says so, and the next page goes on:
// one disabled user among more than that is found a page later, rather
// than by reading the whole directory at once.
func TestConsoleSearchFurther(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		p, err := w.db.ConnectorPrincipal(context.Background(), "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		n := store.SearchRounds*store.DefaultSearchScan + 200
		users := make([]store.User, n)
		for i := range users {
			name := fmt.Sprintf("far%05d@example.com", i)
			users[i] = store.User{TenantID: p.TenantID, UserName: name, Active: true, Status: store.StatusActive, Attrs: map[string]any{"userName": name}}
		}
		users[n-100].Active, users[n-100].Status = false, store.StatusDisabled
		if err := w.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, users) }); err != nil {
			t.Fatal(err)
		}
		w.analyze("users")
		c := w.signIn(w.bootstrap())
		next := regexp.MustCompile(`href="(/console/acme/users\?[^"]+)" rel="next">Search further`)
		disabled := users[n-100].UserName
		for _, u := range []string{"/console/acme/users?status=disabled", "/console/acme/users?q=far&status=disabled"} {
			_, page := do(t, c, "GET", w.srv.URL+u, nil)
			m := next.FindStringSubmatch(page)
			if m == nil || !strings.Contains(page, "No users match in this stretch") || strings.Contains(page, disabled) {
				t.Fatalf("%s: the first page, before the disabled user: %s", u, page)
			}
			_, page = do(t, c, "GET", w.srv.URL+strings.ReplaceAll(m[1], "&amp;", "&"), nil)
			if !strings.Contains(page, ">"+disabled+"<") || strings.Contains(page, "Search further") || strings.Contains(page, `rel="next"`) {
				t.Fatalf("%s: the page after: %s", u, page)
			}
		}
	})
}
