package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/reconcile"
)

// TestConsoleFlowInBrowser is the console's acceptance walk in one
// headless Chromium session, as an IT administrator does it: sign in
// through the in-process OpenID provider, find one user among 10,000 and
// open its provenance, edit okta's mapping and see the preview and the
// impact change (nothing saved), import a CSV with an error and see the
// row named, load a good one and see the summary, rotate okta's token,
// and approve a deletion the guard held.
func TestConsoleFlowInBrowser(t *testing.T) {
	ctx := headless(t)
	onSQLite(t, func(t *testing.T, dsn string) {
		w := newSSOWorld(t, dsn, `
      - name: okta
        deletionGuard: {count: 1}
        allow: {groups: [Staff]}
        rules:
          - name: staff
            status: active
`)
		okta := newToken(t, dsn, "acme", "okta")
		seedBulkUsers(t, w.db, "acme", 9997)
		if res, body := request(t, "POST", w.srv.URL+"/admin/v1/acme/groups", w.admin, `{"displayName":"Staff"}`); res.StatusCode != http.StatusCreated {
			t.Fatalf("create group Staff: %d %v", res.StatusCode, body)
		}
		scimURL := w.srv.URL + "/scim/v2/acme/Users"
		ids := map[string]string{}
		for _, name := range []string{"zelda.quist", "bob", "eve"} {
			res, body := request(t, "POST", scimURL, okta,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`@example.org","displayName":"`+name+`"}`)
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("create %s: %d %v", name, res.StatusCode, body)
			}
			ids[name] = body["id"].(string)
		}
		// A guard of one deletion: bob's passes, eve's is held (503).
		if code, _ := call(t, "DELETE", scimURL+"/"+ids["bob"], okta, ""); code != http.StatusNoContent {
			t.Fatalf("delete bob: %d", code)
		}
		if code, body := call(t, "DELETE", scimURL+"/"+ids["eve"], okta, ""); code != http.StatusServiceUnavailable {
			t.Fatalf("delete eve: %d %s, want 503 (held)", code, body)
		}
		files := t.TempDir()
		badFile, goodFile := filepath.Join(files, "bad.csv"), filepath.Join(files, "good.csv")
		for name, text := range map[string]string{
			badFile:  "userId,email\np1,p1@example.com\nbroken,broken@\n",
			goodFile: "userId,email\nxia,xia@example.com\nyun,yun@example.com\n",
		} {
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}

		step, cancel := context.WithTimeout(ctx, 120*time.Second)
		defer cancel()
		must := mustDo(t)
		text := func(sel string) string {
			t.Helper()
			s, err := chromedp.Run(step, chromedp.Text(sel))
			must("the text of "+sel, err)
			return s
		}
		waitFor := func(what, sel, want string, not ...string) string {
			t.Helper()
			return waitText(t, step, what, sel, want, not...)
		}

		// Sign in through the OpenID provider: ann's IdP group IT makes
		// her an administrator (rule it-admins).
		const sso = `a[href^="/auth/acme/sso/login"]`
		w.op.QueueUser(person("ann", "IT"))
		must("sign in with SSO", chromedp.Do(step,
			chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(w.srv.URL+"/console/acme/signin"),
			chromedp.WaitVisible(sso),
			chromedp.Click(sso),
			chromedp.WaitVisible(`table.users`),
		))
		if who := text(`.who`); !strings.Contains(who, "ann@example.com") {
			t.Errorf("signed in as %q, want ann", who)
		}

		// One user among 10,000, and who set what.
		must("search", chromedp.Do(step, chromedp.SendKeys(`#q`, "zelda")))
		waitFor("find zelda among 10,000", "#results", "zelda.quist@example.org", "u00001")
		must("open zelda", chromedp.Do(step, chromedp.Click(`#results a[href*="/users/"]`), chromedp.WaitVisible(`#h-attrs`)))
		if attrs := text(`section[aria-labelledby="h-attrs"]`); !strings.Contains(attrs, "connector okta · rule staff") {
			t.Errorf("zelda's provenance does not name okta's rule staff:\n%s", attrs)
		}

		// okta's mapping: a pasted payload's preview and the impact, then
		// an edit of the rule, unsaved: both follow it.
		must("mapping", chromedp.Do(step, chromedp.Navigate(w.srv.URL+"/console/acme/mapping?connector=okta"), chromedp.WaitVisible(`#yaml`)))
		yaml, err := chromedp.Run(step, chromedp.Value(`#yaml`))
		must("the running YAML", err)
		if !strings.Contains(yaml, "name: staff") {
			t.Fatalf("the editor does not open on the running rules:\n%s", yaml)
		}
		payload := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zoe@example.org"}`
		must("paste a payload", chromedp.Do(step, typeIn(`#payload`, payload)))
		waitFor("the preview", "#preview", "Rules fired staff")
		must("ask the impact", chromedp.Do(step, chromedp.Click(`#impact-form button`)))
		before := waitFor("the impact", "#impact", "live user(s) would change")
		edited := strings.Replace(yaml, "status: active", "status: active\n            groups: [Staff]", 1)
		if edited == yaml {
			t.Fatalf("no rule to edit in:\n%s", yaml)
		}
		must("edit the rule", chromedp.Do(step, typeIn(`#yaml`, edited)))
		waitFor("the preview after the edit", "#preview table.grants", "Staff")
		after := waitFor("the impact after the edit", "#impact", "live user(s) would change", before)
		if !strings.Contains(after, "add group Staff (rule staff)") {
			t.Errorf("impact after the edit: %q (before: %q), want okta's users added to Staff", after, before)
		}
		if res, _ := request(t, "GET", w.srv.URL+"/admin/v1/acme/config", w.admin, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("the edits saved a configuration: %d", res.StatusCode)
		}

		// A CSV with an error names its row; a good one loads.
		must("upload the bad file", chromedp.Do(step,
			chromedp.Navigate(w.srv.URL+"/console/acme/imports"),
			chromedp.WaitVisible(`#file`),
			chromedp.SetUploadFiles(`#file`, []string{badFile}),
			chromedp.Click(`form.upload button[type=submit]`),
			chromedp.WaitVisible(`table.problems`),
		))
		if problems := text(`table.problems tbody`); !strings.Contains(problems, "line 3") || !strings.Contains(problems, "column 2 (email)") {
			t.Errorf("the bad row is not named by line and column: %q", problems)
		}
		must("upload the good file", chromedp.Do(step,
			chromedp.Navigate(w.srv.URL+"/console/acme/imports"),
			chromedp.WaitVisible(`#file`),
			chromedp.SetUploadFiles(`#file`, []string{goodFile}),
			chromedp.Click(`form.upload button[type=submit]`),
			chromedp.WaitVisible(`form.load button[type=submit]`),
			chromedp.Click(`form.load button[type=submit]`),
			chromedp.WaitVisible(`dl.tallies`),
		))
		if summary := text(`.summary`); !strings.Contains(summary, "2 added") {
			t.Errorf("the load's summary: %q, want 2 added", summary)
		}

		// okta's token rotated in the page; eve's held deletion approved.
		must("okta's page", chromedp.Do(step,
			chromedp.Navigate(w.srv.URL+"/console/acme/connectors/okta"),
			chromedp.WaitVisible(`#h-held`),
			chromedp.Click(`button[aria-label^="Rotate"]`),
			chromedp.WaitVisible(`#new-secret`),
		))
		secret, err := chromedp.Run(step, chromedp.Value(`#new-secret`))
		must("new secret", err)
		if !strings.HasPrefix(secret, reconcile.TokenPrefix) {
			t.Fatalf("new secret %q", secret)
		}
		if code, _ := call(t, "GET", scimURL, okta, ""); code != http.StatusUnauthorized {
			t.Errorf("the rotated token at SCIM: %d, want 401", code)
		}
		if held := text(`table.held`); !strings.Contains(held, "eve@example.org") {
			t.Errorf("held writes: %s, want eve's", held)
		}
		must("approve", chromedp.Do(step,
			chromedp.Click(`table.held input[type=checkbox]`),
			chromedp.Click(`#approve-selected`),
			chromedp.WaitVisible(`#no-held`),
		))
		if code, _ := call(t, "GET", scimURL+"/"+ids["eve"], secret, ""); code != http.StatusNotFound {
			t.Errorf("eve after the approval: %d, want 404 (deleted)", code)
		}
	})
}
