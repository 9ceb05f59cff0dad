package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestConsoleMappingInBrowser edits a mapping in headless Chromium: a
// YAML error typed appears at its line and column, a pasted payload's
// preview names the rule that fires, an edit of the rule changes both the
// preview and the impact on the existing users, and the save is re-applied
// to done.
func TestConsoleMappingInBrowser(t *testing.T) {
	ctx := headless(t)
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		if strings.HasPrefix(dsn, "postgres") {
			t.Skip("the browser sees the same pages on both databases; one run is enough")
		}
		w := newConsoleWorld(t, dsn)
		for _, g := range []string{"Staff", "Faculty"} {
			if res, body := request(t, "POST", w.srv.URL+"/admin/v1/acme/groups", w.admin, `{"displayName":"`+g+`"}`); res.StatusCode != http.StatusCreated {
				t.Fatalf("create group %s: %d %v", g, res.StatusCode, body)
			}
		}
		// A push of okta's in its request log, to pick in the preview.
		p, err := w.db.ConnectorPrincipal(context.Background(), "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			return tx.AppendRequests(ctx, []store.LoggedRequest{{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Method: "POST", Path: "/scim/v2/acme/Users", Status: 201,
				Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"yan@example.com","emails":[{"value":"yan@example.com"}]}`}})
		}); err != nil {
			t.Fatal(err)
		}
		dir := screenshotDir(t)
		step, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		must := mustDo(t)
		waitFor := func(what, sel, want string, not ...string) {
			t.Helper()
			waitText(t, step, what, sel, want, not...)
		}
		shot := shooter(t, dir)

		must("sign in", chromedp.Do(step,
			chromedp.Navigate(w.bootstrap()),
			chromedp.WaitVisible(`form[action="/console/acme/signin"] button`),
			chromedp.Click(`form[action="/console/acme/signin"] button`),
			chromedp.WaitVisible(`table.users`),
			chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(w.srv.URL+"/console/acme/mapping?connector=okta"),
			chromedp.WaitVisible(`#yaml`),
		))
		// The first paint's data is the page's own response.
		n, err := chromedp.Run(step, chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(e => e.initiatorType === "xmlhttprequest" || e.initiatorType === "fetch").length`))
		must("count requests", err)
		if n != 0 {
			t.Errorf("mapping: %d data requests of scripts for the first paint, want none (1 request in all)", n)
		}
		waitFor("first paint", "#problems", "No problems")

		bad := strings.Replace(staffRules, `"@example.com")`, `"@example.com"): x`, 1)
		must("type an error", chromedp.Do(step, typeIn(`#yaml`, bad)))
		waitFor("the error at its place", "#problems", "line 8, column 47: YAML syntax")
		must("go to the problem", chromedp.Do(step, chromedp.Click(`#problems a.at`)))
		waitFor("the caret at the problem", "#caret", "line 8, column 47")

		must("fix it", chromedp.Do(step, typeIn(`#yaml`, staffRules)))
		waitFor("the error gone", "#problems", "No problems", "line 8")
		payload := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zoe@example.com","emails":[{"value":"zoe@example.com","primary":true}]}`
		must("paste a payload", chromedp.Do(step, typeIn(`#payload`, payload)))
		waitFor("the preview", "#preview", "Rules fired example-staff")
		waitFor("the preview's grant", "#preview table.grants", "Staff")
		_, err = chromedp.Run(step, chromedp.Evaluate[bool](`(() => { const s = document.querySelector("#request"); s.selectedIndex = 1; return s.dispatchEvent(new Event("change", {bubbles: true})) })()`))
		must("pick the logged push", err)
		waitFor("the logged push's preview", "#preview", "The payload of logged request #")
		waitFor("the logged push's preview", "#preview", "create yan@example.com")
		waitFor("the logged push's rules", "#preview .fired", "example-staff")
		must("ask the impact", chromedp.Do(step, chromedp.Click(`#impact-form button`)))
		waitFor("the impact", "#impact", "3 of 3 live user(s) would change")
		waitFor("the impact by rule", "#impact table.by-rule", "example-staff 3 0")

		// Edit the rule: the preview and the impact follow, unsaved.
		edited := strings.NewReplacer("example-staff", "ann-faculty", `email.endsWith("@example.com")`, `userName.startsWith("ann")`,
			"groups: [Staff]", "groups: [Faculty]").Replace(staffRules)
		must("edit the rule", chromedp.Do(step, typeIn(`#yaml`, edited)))
		waitFor("the preview after the edit", "#preview", "Rules fired none", "example-staff")
		waitFor("the impact after the edit", "#impact", "1 of 3 live user(s) would change")
		waitFor("the impact by rule after the edit", "#impact table.by-rule", "ann-faculty 1 0", "example-staff")
		if res, _ := request(t, "GET", w.srv.URL+"/admin/v1/acme/config", w.admin, ""); res.StatusCode != http.StatusNotFound {
			t.Fatalf("the edits saved a configuration: %d", res.StatusCode)
		}
		must("screenshots", chromedp.Do(step,
			shot("console-mapping-1280.png", 1280, 900),
			shot("console-mapping-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 900),
		))

		must("save", chromedp.Do(step, chromedp.Click(`#mapping-form button[type=submit]`)))
		waitFor("saved", "#save", "Saved as version 1")
		waitFor("saved, its impact", "#save", "changes 1 of 3 existing user(s)")
		// htmx binds the swapped-in form once it settles; a click before
		// that would post the form without it.
		_, err = chromedp.Run(step, chromedp.Poll[bool](`(() => { const f = document.querySelector("#save form"); return !!f && f["htmx-internal-data"] !== undefined })()`,
			chromedp.WithPollingTimeout(5*time.Second)))
		must("the re-apply form bound", err)
		must("re-apply", chromedp.Do(step, chromedp.Click(`#save form button`)))
		waitFor("re-applied", "#job", "Re-apply done: 3 of 3 user(s) done, 1 changed")
		_, ann := request(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+w.ids["ann@example.com"], w.admin, "")
		if !strings.Contains(fmt.Sprint(ann["grants"]), "Faculty") {
			t.Fatalf("after the re-apply ann has %v, want Faculty", ann["grants"])
		}
		t.Logf("screenshots in %s", dir)
	})
}
