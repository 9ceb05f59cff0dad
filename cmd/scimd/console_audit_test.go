package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// auditWorld is a running scimd with the SCIM request log on, acme
// configured with the radiology rule, and pushes by two connectors: okta
// creates rad (the rule fires) and ann and renames rad (PATCH), entra
// creates bob.
type auditWorld struct {
	*consoleWorld
	ids   map[string]string // userName's local part → id
	entra string
}

func newAuditWorld(t *testing.T, dsn string) *auditWorld {
	t.Helper()
	w := &auditWorld{consoleWorld: &consoleWorld{t: t, dsn: dsn, okta: newToken(t, dsn, "acme", "okta"),
		admin: newToken(t, dsn, "acme", "admins", "--admin"), now: time.Now().UTC()}, ids: map[string]string{}}
	w.entra = newToken(t, dsn, "acme", "entra")
	w.db = storetest.Open(t, dsn)
	w.engine = reconcile.New(w.db, nil)
	reqlog := w.engine.StartRequestLog(reconcile.RequestLogConfig{})
	t.Cleanup(func() { reqlog.Close(context.Background()) })
	w.srv = httptest.NewServer(loggedRoutes(w.db, w.engine, "", 1<<20, 0, slog.New(slog.DiscardHandler), reqlog, limits{}))
	t.Cleanup(w.srv.Close)
	push := func(method, path, token, body string, want int) map[string]any {
		t.Helper()
		res, doc := request(t, method, w.srv.URL+path, token, body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %v, want %d", method, path, res.StatusCode, doc, want)
		}
		return doc
	}
	push("PUT", "/admin/v1/acme/config", w.admin, radiologyConfig, 200)
	w.ids["rad"] = push("POST", "/scim/v2/acme/Users", w.okta, radiologist, 201)["id"].(string)
	w.ids["ann"] = push("POST", "/scim/v2/acme/Users", w.okta, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","externalId":"00u1"}`, 201)["id"].(string)
	w.ids["bob"] = push("POST", "/scim/v2/acme/Users", w.entra, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com","externalId":"e-7"}`, 201)["id"].(string)
	push("PATCH", "/scim/v2/acme/Users/"+w.ids["rad"], w.okta, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Rad Iologist"}]}`, 200)
	if err := reqlog.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	regexpNext    = regexp.MustCompile(`<a href="([^"]+)" rel="next"`)
	regexpRequest = regexp.MustCompile(`/connectors/okta/requests/(\d+)"`)
)

// events is how many audit events acme has, read through the admin API.
func (w *auditWorld) events() int {
	w.t.Helper()
	res, doc := request(w.t, "GET", w.srv.URL+"/admin/v1/acme/audit?limit=500", w.admin, "")
	if res.StatusCode != 200 {
		w.t.Fatalf("GET audit: %d %v", res.StatusCode, doc)
	}
	return len(doc["events"].([]any))
}

// TestConsoleAuditPages drives the audit log, the request log, a request
// and its replay over HTTP: the filters reach the page and its next link,
// a refused filter is said in the page, and a replay needs the session's
// CSRF token and writes nothing.
func TestConsoleAuditPages(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newAuditWorld(t, dsn)
		c := w.signIn(w.bootstrap())
		page := func(path string, want int, header ...string) string {
			t.Helper()
			res, body := do(t, c, "GET", w.srv.URL+path, nil, header...)
			if res.StatusCode != want {
				t.Fatalf("GET %s: %d, want %d\n%s", path, res.StatusCode, want, body)
			}
			return body
		}
		all := page("/console/acme/audit", 200)
		for _, s := range []string{`href="/console/acme/users/` + w.ids["rad"] + `">rad@example.com</a>`, "radiology", `href="/console/acme/connectors/entra"`, "Before and after"} {
			if !strings.Contains(all, s) {
				t.Errorf("the audit log lacks %q", s)
			}
		}
		entra := page("/console/acme/audit?connector=entra", 200, "HX-Request", "true")
		if !strings.Contains(entra, "bob@example.com") || strings.Contains(entra, "rad@example.com") || strings.Contains(entra, "<html") {
			t.Errorf("connector=entra, from htmx: %s", entra)
		}
		rad := page("/console/acme/audit?user=rad@example.com&source=scim", 200)
		if strings.Count(rad, `href="/console/acme/users/`+w.ids["rad"]+`"`) != 2 || strings.Contains(rad, "ann@example.com") {
			t.Errorf("user=rad: want its create and its PATCH alone:\n%s", rad)
		}
		if p := page("/console/acme/audit?user=nobody", 404); !strings.Contains(p, "no user with the id or userName") || !strings.Contains(p, `id="user" name="user" type="search" value="nobody"`) {
			t.Errorf("an unknown user: %s", p)
		}
		if p := page("/console/acme/audit?user=nobody", 200, "HX-Request", "true"); !strings.Contains(p, "no user with the id") {
			t.Errorf("an unknown user, from htmx: %s", p)
		}
		if p := page("/console/acme/audit?from=yesterday", 400); !strings.Contains(p, "give a date and time") {
			t.Errorf("a bad from: %s", p)
		}
		future := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
		if p := page("/console/acme/audit?from="+future, 200); !strings.Contains(p, "No events match.") {
			t.Errorf("from an hour ahead: %s", p)
		}
		// Pages of 50: more events than that, and the next keeps the filters.
		for range 30 {
			request(t, "PATCH", w.srv.URL+"/scim/v2/acme/Users/"+w.ids["ann"], w.okta,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Ann `+time.Now().String()+`"}]}`)
			request(t, "PATCH", w.srv.URL+"/scim/v2/acme/Users/"+w.ids["bob"], w.entra,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Bob `+time.Now().String()+`"}]}`)
		}
		first := page("/console/acme/audit?source=scim", 200)
		next := regexpNext.FindStringSubmatch(first)
		if next == nil {
			t.Fatalf("no next page of 60+ events")
		}
		u, _ := url.Parse(strings.ReplaceAll(next[1], "&amp;", "&"))
		if u.Query().Get("source") != "scim" || u.Query().Get("before") == "" {
			t.Fatalf("next %s", next[1])
		}
		if second := page(u.String(), 200); strings.Count(second, "<tr>") < 10 || !strings.Contains(second, "create") {
			t.Errorf("the second page: %s", second)
		}

		// The request log, a request, and its replay.
		reqs := page("/console/acme/connectors/okta/requests", 200)
		ids := regexpRequest.FindAllStringSubmatch(reqs, -1)
		if len(ids) < 3 || !strings.Contains(reqs, "PATCH") || !strings.Contains(reqs, " ms") {
			t.Fatalf("the request log: %s", reqs)
		}
		oldest := ids[len(ids)-1][1] // rad's POST
		one := page("/console/acme/connectors/okta/requests/"+oldest, 200)
		if !strings.Contains(one, "rad@example.com") || !strings.Contains(one, "Radiology") || !strings.Contains(one, ">201<") {
			t.Errorf("the request: %s", one)
		}
		before := w.events()
		replay := w.srv.URL + "/console/acme/connectors/okta/requests/" + oldest + "/replay"
		if res, body := do(t, c, "POST", replay, url.Values{"csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a replay without the CSRF token: %d %s", res.StatusCode, body)
		}
		csrf := csrfField.FindStringSubmatch(one)[1]
		res, body := do(t, c, "POST", replay, url.Values{"csrf": {csrf}})
		if res.StatusCode != 200 || !strings.Contains(body, "What it would do now") || !strings.Contains(body, "nothing was written") {
			t.Errorf("replay: %d %s", res.StatusCode, body)
		}
		res, frag := do(t, c, "POST", replay, url.Values{"csrf": {csrf}}, "HX-Request", "true")
		if res.StatusCode != 200 || strings.Contains(frag, "<html") || !strings.Contains(frag, `id="replay-status"`) {
			t.Errorf("replay from htmx: %d %s", res.StatusCode, frag)
		}
		if after := w.events(); after != before {
			t.Errorf("replays wrote %d audit events", after-before)
		}
		if res, body := do(t, c, "GET", w.srv.URL+"/console/acme/connectors/nope/requests", nil); res.StatusCode != 404 {
			t.Errorf("an unknown connector's log: %d %s", res.StatusCode, body)
		}
	})
}
