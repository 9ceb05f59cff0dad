package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// TestConsoleConnectorsInBrowser signs in with a bootstrap link in
// headless Chromium, reads the connectors and okta's page (its first
// paint from its own response), rotates okta's token in the page (the
// old token then gets 401 at SCIM, the new one 200) and approves a
// deactivation the deletion guard held (the user is then inactive),
// with screenshots at desktop and phone width.
func TestConsoleConnectorsInBrowser(t *testing.T) {
	ctx := headless(t)
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		if strings.HasPrefix(dsn, "postgres") {
			t.Skip("the browser sees the same pages on both databases; one run is enough")
		}
		w := newConsoleWorld(t, dsn)
		// The same scimd with the request log on, which the page reads.
		reqlog := w.engine.StartRequestLog(reconcile.RequestLogConfig{})
		t.Cleanup(func() { reqlog.Close(context.Background()) })
		w.srv = httptest.NewServer(loggedRoutes(w.db, w.engine, "", 1<<20, 0, slog.New(slog.DiscardHandler), reqlog, limits{}))
		t.Cleanup(w.srv.Close)
		scimURL := w.srv.URL + "/scim/v2/acme/Users"

		// A guard of one deactivation: bob's passes, eve's is held.
		guard := "tenants:\n  - name: acme\n    connectors:\n      - name: okta\n        deletionGuard: {count: 1}\n"
		if res, body := request(t, "PUT", w.srv.URL+"/admin/v1/acme/config", w.admin, guard); res.StatusCode != http.StatusOK {
			t.Fatalf("PUT config: %d %v", res.StatusCode, body)
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
		var codes []int
		for _, u := range []string{"bob@example.com", "eve@example.com"} {
			code, _ := call(t, "PATCH", scimURL+"/"+w.ids[u], w.okta, patch)
			codes = append(codes, code)
		}
		if code, _ := call(t, "GET", scimURL+"/00000000-0000-0000-0000-000000000000", w.okta, ""); code != 404 {
			t.Fatalf("GET of no user: %d", code)
		}
		if codes[0] != 200 || codes[1] != 503 {
			t.Fatalf("deactivations: %v, want [200 503] (the second held)", codes)
		}
		if err := reqlog.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		tokens, err := w.db.Reader().Tokens(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		var oktaToken int64
		for _, tk := range tokens {
			if tk.Connector == "okta" {
				oktaToken = tk.ID
			}
		}

		dir := screenshotDir(t)
		shot := shooter(t, dir)
		step, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		must := mustDo(t)
		text := func(sel string) string {
			t.Helper()
			s, err := chromedp.Run(step, chromedp.Text(sel))
			must("text of "+sel, err)
			return s
		}
		// The first paint of data is the page's own response: every
		// resource but the style sheet and htmx, none a script's request.
		firstPaint := func(page string) {
			t.Helper()
			n, err := chromedp.Run(step, chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(e => !e.name.includes("/console/static/")).length`))
			must("count requests", err)
			if n != 0 {
				t.Errorf("%s: %d requests besides the page's own and its static files, want none (1 request for data)", page, n)
			}
		}

		must("sign in and connectors", chromedp.Do(step,
			chromedp.Navigate(w.bootstrap()),
			chromedp.WaitVisible(`form[action="/console/acme/signin"] button`),
			chromedp.Click(`form[action="/console/acme/signin"] button`),
			chromedp.WaitVisible(`table.users`),
			chromedp.Navigate(w.srv.URL+"/console/acme/connectors"),
			chromedp.WaitVisible(`table.connectors`),
		))
		firstPaint("connectors")
		list := text(`table.connectors`)
		for _, want := range []string{"okta", "admins", "tenant-wide", "→ 404"} {
			if !strings.Contains(list, want) {
				t.Errorf("connectors page lacks %q: %s", want, list)
			}
		}
		must("connectors screenshots", chromedp.Do(step,
			shot("console-connectors-1280.png", 1280, 800),
			shot("console-connectors-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 800),
			chromedp.Click(`table.connectors a[href="/console/acme/connectors/okta"]`),
			chromedp.WaitVisible(`#h-held`),
		))
		firstPaint("connector")
		if held := text(`table.held`); !strings.Contains(held, "eve@example.com") || strings.Contains(held, "bob@example.com") {
			t.Errorf("held writes: %s, want eve's alone", held)
		}
		if facts := text(`.facts`); !strings.Contains(facts, "→ 404") {
			t.Errorf("activity: %s, want the last request, the GET that got 404", facts)
		}
		must("connector screenshots", chromedp.Do(step,
			shot("console-connector-1280.png", 1280, 800),
			shot("console-connector-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 800),
		))

		// Rotate okta's token in the page: the new secret is on the POST's
		// answer, never in its address.
		rotate := `#token-` + strconv.FormatInt(oktaToken, 10) + ` button[aria-label^="Rotate"]`
		must("rotate", chromedp.Do(step, chromedp.Click(rotate), chromedp.WaitVisible(`#new-secret`)))
		secret, err := chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector("#new-secret").value`))
		must("new secret", err)
		loc, err := chromedp.Run(step, chromedp.Location())
		must("location", err)
		if !strings.HasPrefix(secret, reconcile.TokenPrefix) || strings.Contains(loc, secret) {
			t.Fatalf("new secret %q at %s", secret, loc)
		}
		if code, _ := call(t, "GET", scimURL, w.okta, ""); code != 401 {
			t.Errorf("the rotated token at SCIM: %d, want 401", code)
		}
		if code, _ := call(t, "GET", scimURL, secret, ""); code != 200 {
			t.Errorf("the new token at SCIM: %d, want 200", code)
		}
		must("rotated screenshot", chromedp.Do(step, shot("console-connector-rotated-1280.png", 1280, 800)))

		// Approve eve's held deactivation, ticked.
		must("approve", chromedp.Do(step,
			chromedp.Click(`table.held input[type=checkbox]`),
			chromedp.Click(`#approve-selected`),
			chromedp.WaitVisible(`#no-held`),
		))
		if notice := text(`.notice`); !strings.Contains(notice, "approved") {
			t.Errorf("notice after approval: %s", notice)
		}
		if code, body := call(t, "GET", scimURL+"/"+w.ids["eve@example.com"], secret, ""); code != 200 || !strings.Contains(body, `"active":false`) {
			t.Errorf("eve after approval: %d %s, want inactive", code, body)
		}
		t.Logf("screenshots in %s", dir)
	})
}
