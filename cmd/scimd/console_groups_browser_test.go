package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleGroupsInBrowser signs in with a bootstrap link in headless
// Chromium, opens the groups (pushed over SCIM), searches one as it
// types, opens it and pages its members (more than a page), opens a
// member, and filters the users by source connector; screenshots of the
// groups and of a group at desktop and phone width.
func TestConsoleGroupsInBrowser(t *testing.T) {
	ctx := headless(t)
	onSQLite(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		w.addGroups()
		b, step := newBrowserRun(t, ctx, 90*time.Second)
		shot, must, firstPaint := b.shot, b.must, b.firstPaint
		poll := func(what, js string) {
			t.Helper()
			_, err := chromedp.Run(step, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second)))
			must(what, err)
		}
		count := func(js string) int {
			t.Helper()
			n, err := chromedp.Run(step, chromedp.Evaluate[int](js))
			must(js, err)
			return n
		}
		must("sign in", chromedp.Do(step,
			chromedp.Navigate(w.bootstrap()),
			chromedp.WaitVisible(`form[action="/console/acme/signin"] button`),
			chromedp.Click(`form[action="/console/acme/signin"] button`),
			chromedp.WaitVisible(`table.users`),
			chromedp.Click(`nav a[href="/console/acme/groups"]`),
			chromedp.WaitVisible(`table.groups`),
		))
		firstPaint("groups")
		if n := count(`document.querySelectorAll("table.groups tbody tr").length`); n != 3 {
			t.Errorf("the groups page lists %d groups, want 3", n)
		}
		must("groups screenshots", chromedp.Do(step,
			shot("console-groups-1280.png", 1280, 800),
			shot("console-groups-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 800),
			chromedp.SendKeys(`#q`, "eng"),
		))
		poll("search as you type", `(() => { const r = document.querySelector("#results").textContent; return r.includes("Engineering") && !r.includes("Sales") })()`)
		if n := count(dataRequests); n == 0 {
			t.Error("search as you type made no request: the count cannot see htmx's")
		}
		found, err := chromedp.Run(step, chromedp.Location())
		must("location", err)
		if !strings.Contains(found, "q=eng") {
			t.Errorf("the search is not in the address bar: %s", found)
		}

		// Engineering: 61 members, 50 on the first page.
		must("group page", chromedp.Do(step,
			chromedp.Click(`#results a[href*="/groups/"]`),
			chromedp.WaitVisible(`table.members`),
		))
		firstPaint("group")
		const rows = `document.querySelectorAll("table.members tbody tr").length`
		const links = `Array.from(document.querySelectorAll("table.members tbody a")).map(a => a.getAttribute("href")).join(" ")`
		if n := count(rows); n != pageSize50 {
			t.Errorf("the group's first page has %d members, want %d", n, pageSize50)
		}
		first, err := chromedp.Run(step, chromedp.Evaluate[string](links))
		must("links", err)
		must("group screenshots", chromedp.Do(step,
			shot("console-group-1280.png", 1280, 800),
			shot("console-group-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 800),
			chromedp.Click(`a[rel="next"]`),
			chromedp.WaitVisible(`table.members caption`),
		))
		poll("the next page", `document.querySelector("table.members caption").textContent.includes("after the previous pages")`)
		firstPaint("group, page 2")
		second, err := chromedp.Run(step, chromedp.Evaluate[string](links))
		must("links", err)
		seen := map[string]bool{}
		for _, href := range strings.Fields(first + " " + second) {
			if seen[href] {
				t.Errorf("%s on both pages", href)
			}
			seen[href] = true
		}
		if len(seen) != 61 || !seen["/console/acme/users/"+w.ids["m56@example.com"]] || !strings.Contains(second, "/console/acme/groups/") {
			t.Errorf("%d members linked on two pages, want 61 with m56 and the nested group Support", len(seen))
		}
		must("a member", chromedp.Do(step,
			chromedp.Click(`table.members a[href="/console/acme/users/`+w.ids["m56@example.com"]+`"]`),
			chromedp.WaitVisible(`#h-audit`),
		))
		title, err := chromedp.Run(step, chromedp.Title())
		must("title", err)
		if !strings.HasPrefix(title, "m56@example.com") {
			t.Errorf("the member's page title %q", title)
		}

		// The users of a source connector, as the filter is typed.
		must("users", chromedp.Do(step,
			chromedp.Click(`nav a[href="/console/acme/users"]`),
			chromedp.WaitVisible(`#connector`),
			chromedp.SendKeys(`#connector`, "entra"),
		))
		poll("filter by source connector", `(() => { const r = document.querySelector("#results").textContent; return r.includes("carl@example.com") && !r.includes("ann@example.com") })()`)

		// Adding by pasting addresses, the results in place (htmx).
		must("add users", chromedp.Do(step,
			chromedp.Click(`details.add-users summary`),
			chromedp.WaitVisible(`#emails`),
			chromedp.SendKeys(`#emails`, "pasted1@example.com, ann@example.com\npasted2@example.com"),
			chromedp.Click(`form.add button[type="submit"]`),
		))
		poll("what became of each address", `(() => { const r = document.querySelector("#add-results").textContent; return r.includes("2 user(s) added") && r.includes("already a user") })()`)
		if n := count(`document.querySelectorAll("#add-results tbody tr").length`); n != 3 {
			t.Errorf("%d results for three addresses", n)
		}
		must("add screenshot", chromedp.Do(step, shot("console-users-add-1280.png", 1280, 800)))
		t.Logf("screenshots in %s", b.dir)
	})
}

// pageSize50 is the console's page of members (console.pageSize).
const pageSize50 = 50
