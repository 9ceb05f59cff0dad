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

// TestConsoleSSOInBrowser signs in to the console in headless Chromium
// through a real in-process OpenID provider (mockoidc, behind jit's
// browser login), finds one user among 10,000 on the users page, opens
// it and sees its provenance: the attribute set by connector okta's rule.
// It writes console-signin-1280.png and -390.png.
func TestConsoleSSOInBrowser(t *testing.T) {
	ctx := headless(t)
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		if strings.HasPrefix(dsn, "postgres") {
			t.Skip("the browser sees the same pages on both databases; one run is enough")
		}
		w := newSSOWorld(t, dsn, `
      - name: okta
        rules:
          - name: staff
            status: active
`)
		okta := newToken(t, dsn, "acme", "okta")
		// 9,999 users in one transaction (the store's bulk insert), and
		// the one to find pushed by okta, whose rule sets its status.
		began := time.Now()
		seedBulkUsers(t, w.db, "acme", 9999)
		res, body := request(t, "POST", w.srv.URL+"/scim/v2/acme/Users", okta,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zelda.quist@example.org","displayName":"Zelda Quist"}`)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create zelda: %d %v", res.StatusCode, body)
		}
		t.Logf("10,000 users seeded in %s", time.Since(began).Round(time.Millisecond))

		dir := screenshotDir(t)
		shot := shooter(t, dir)
		step, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		must := mustDo(t)
		const sso = `a[href^="/auth/acme/sso/login"]`
		must("sign-in page", chromedp.Do(step,
			chromedp.Navigate(w.srv.URL+"/console/acme/signin"),
			chromedp.WaitVisible(sso),
			shot("console-signin-1280.png", 1280, 800),
			shot("console-signin-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 800),
		))
		// Ann's IdP groups make her an administrator (rule it-admins:
		// role scimd-admin) of the whole tenant (she holds no org unit).
		w.op.QueueUser(person("ann", "IT"))
		must("sign in with SSO", chromedp.Do(step,
			chromedp.Click(sso),
			chromedp.WaitVisible(`table.users`),
		))
		loc, err := chromedp.Run(step, chromedp.Location())
		must("location", err)
		if !strings.HasSuffix(loc, "/console/acme/users") {
			t.Errorf("signed in at %s, want the users", loc)
		}
		who, err := chromedp.Run(step, chromedp.Text[string](`.who`))
		must("who", err)
		must("search", chromedp.Do(step, chromedp.SendKeys(`#q`, "zelda")))
		_, err = chromedp.Run(step, chromedp.Poll[bool](`(() => { const r = document.querySelector("#results"); return r.textContent.includes("zelda.quist@example.org") && r.querySelectorAll('a[href*="/users/"]').length === 1 })()`,
			chromedp.WithPollingTimeout(10*time.Second)))
		must("find zelda among 10,000", err)
		must("open zelda", chromedp.Do(step,
			chromedp.Click(`#results a[href*="/users/"]`),
			chromedp.WaitVisible(`#h-attrs`),
		))
		attrs, err := chromedp.Run(step, chromedp.Text[string](`section[aria-labelledby="h-attrs"]`))
		must("provenance", err)
		if !strings.Contains(attrs, "connector okta · rule staff") {
			t.Errorf("zelda's provenance does not name okta's rule staff:\n%s", attrs)
		}
		if !strings.Contains(attrs, "scim · connector okta") {
			t.Errorf("zelda's attributes do not say scim via okta set them:\n%s", attrs)
		}
		if !strings.Contains(who, "console") {
			t.Errorf("signed in as %q", who)
		}
		t.Logf("screenshots in %s", dir)
	})
}

// seedBulkUsers puts n active users u00000@example.org… in tenant, in one
// transaction (the store's bulk insert, not n SCIM requests).
func seedBulkUsers(t *testing.T, db *store.DB, tenant string, n int) {
	t.Helper()
	bg := context.Background()
	tn, err := db.Tenant(bg, tenant)
	if err != nil {
		t.Fatal(err)
	}
	users := make([]store.User, 0, n)
	for i := range n {
		name := fmt.Sprintf("u%05d@example.org", i)
		users = append(users, store.User{TenantID: tn.ID, UserName: name, DisplayName: fmt.Sprintf("User %05d", i), Active: true,
			Status: store.StatusActive, Attrs: map[string]any{"userName": name, "emails": []any{map[string]any{"value": name}}}})
	}
	if err := db.RunInTx(bg, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, users) }); err != nil {
		t.Fatal(err)
	}
}
