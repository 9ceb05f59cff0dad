package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/store/storetest"
)

// TestConsoleAuditInBrowser signs in with a bootstrap link in headless
// Chromium, filters the audit log by connector and by user (htmx, the
// filters kept in the address bar), opens okta's request log and its
// PATCH, replays it and sees its plan, with screenshots of each page at
// desktop and phone width.
func TestConsoleAuditInBrowser(t *testing.T) {
	ctx := headless(t)
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		if strings.HasPrefix(dsn, "postgres") {
			t.Skip("the browser sees the same pages on both databases; one run is enough")
		}
		w := newAuditWorld(t, dsn)
		dir := screenshotDir(t)
		step, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		must := func(what string, err error) { t.Helper(); browserMust(t, what, err) }
		shots := func(name string) {
			t.Helper()
			for _, size := range [][2]int64{{1280, 800}, {390, 844}} {
				must("viewport", chromedp.Do(step, chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(100*time.Millisecond)))
				wide, err := chromedp.Run(step, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
				if must("page width", err); wide > int(size[0]) {
					what, _ := chromedp.Run(step, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).slice(0, 8).join(", ")`))
					t.Errorf("%s at %d px is %d px wide: it scrolls sideways (%s)", name, size[0], wide, what)
				}
				png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
				must("screenshot "+name, err)
				file := filepath.Join(dir, fmt.Sprintf("console-%s-%d.png", name, size[0]))
				must("write "+file, os.WriteFile(file, png, 0o644))
			}
			must("viewport", chromedp.Do(step, chromedp.EmulateViewport(1280, 800)))
		}
		firstPaint := func(page string) { t.Helper(); checkFirstPaint(t, step, page) }
		results := func(what, js string) {
			t.Helper()
			_, err := chromedp.Run(step, chromedp.Poll[bool](`(() => { const r = document.querySelector("#results").textContent; return `+js+` })()`,
				chromedp.WithPollingTimeout(10*time.Second)))
			must(what, err)
		}
		signInBrowser(t, step, w.bootstrap())
		must("audit log", chromedp.Do(step, chromedp.Navigate(w.srv.URL+"/console/acme/audit"), chromedp.WaitVisible(`table.audit`)))
		firstPaint("audit")
		results("every event", `r.includes("rad@example.com") && r.includes("bob@example.com") && r.includes("radiology")`)
		_, err := chromedp.Run(step, chromedp.Evaluate[bool](`document.querySelector("#results details").open = true`))
		must("open a before and after", err)
		shots("audit")

		// By connector, as the field changes (Enter).
		must("connector filter", chromedp.Do(step, chromedp.SendKeys(`#connector`, "entra\n")))
		results("entra's events", `r.includes("bob@example.com") && !r.includes("rad@example.com")`)
		loc, err := chromedp.Run(step, chromedp.Location())
		must("location", err)
		if !strings.Contains(loc, "connector=entra") {
			t.Errorf("the connector filter is not in the address bar: %s", loc)
		}
		// By user, the connector cleared.
		_, err = chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector("#connector").value = ""`))
		must("clear the connector", err)
		must("user filter", chromedp.Do(step, chromedp.SendKeys(`#user`, "rad@example.com\n")))
		results("rad's events", `r.includes("rad@example.com") && !r.includes("bob@example.com") && !r.includes("ann@example.com") && r.includes("radiology")`)
		if loc, err = chromedp.Run(step, chromedp.Location()); err != nil || !strings.Contains(loc, "user=rad%40example.com") || strings.Contains(loc, "connector=entra") {
			t.Errorf("the user filter in the address bar: %s %v", loc, err)
		}
		links, err := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll('#results a[href="/console/acme/users/`+w.ids["rad"]+`"]').length`))
		if must("user links", err); links != 2 {
			t.Errorf("%d links to rad's page, want 2 (the create, the PATCH)", links)
		}

		// The request log, its newest request (the PATCH), its replay.
		must("request log", chromedp.Do(step,
			chromedp.Navigate(w.srv.URL+"/console/acme/connectors/okta/requests"),
			chromedp.WaitVisible(`table.requests`),
		))
		firstPaint("requests")
		rows, err := chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector("table.requests tbody").innerText`))
		must("request rows", err)
		if !strings.Contains(rows, "PATCH") || !strings.Contains(rows, "POST") || !strings.Contains(rows, " ms") {
			t.Errorf("the request log shows:\n%s", rows)
		}
		shots("requests")
		must("request", chromedp.Do(step,
			chromedp.Click(`table.requests tbody tr:first-child a`),
			chromedp.WaitVisible(`#h-replay`),
		))
		firstPaint("request")
		body, err := chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector("pre.body").textContent`))
		if must("body", err); !strings.Contains(body, "Rad Iologist") {
			t.Errorf("the request's body: %s", body)
		}
		before := w.events()
		must("replay", chromedp.Do(step, chromedp.Click(`#h-replay + form button`)))
		_, err = chromedp.Run(step, chromedp.Poll[bool](`(() => { const r = document.querySelector("#replay").textContent;
			return r.includes("What it would do now") && r.includes("radiology") && document.querySelector("#replay-status").textContent === "200" })()`,
			chromedp.WithPollingTimeout(10*time.Second)))
		must("the replay's plan", err)
		if after := w.events(); after != before {
			t.Errorf("the replay wrote %d audit events", after-before)
		}
		shots("request")
		t.Logf("screenshots in %s", dir)
	})
}
