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

// TestConsoleImportsInBrowser signs in with a bootstrap link in headless
// Chromium and imports CSV files through the console: a file with an
// error (validated while the page polls its progress) names the row by
// line and column; a good one, a revision of two users, waits for its
// rows to be confirmed, loads the one confirmed and shows the summary;
// the export downloads as a CSV holding the users loaded. Screenshots of
// the import page and of a job page at desktop and phone width.
func TestConsoleImportsInBrowser(t *testing.T) {
	ctx := headless(t)
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		if strings.HasPrefix(dsn, "postgres") {
			t.Skip("the browser sees the same pages on both databases; one run is enough")
		}
		w := newConsoleWorld(t, dsn)
		// zoe and yan, with role a, from an earlier file.
		if code, out, errOut := importFile(t, dsn, "userId,email,roles\nzoe,zoe@example.com,a\nyan,yan@example.com,a\n"); code != 0 {
			t.Fatalf("seed: %d %s %s", code, out, errOut)
		}
		dir := screenshotDir(t)
		files := t.TempDir()
		// The bad file is long enough that its validation outlasts a
		// poll or two: row 3,002's email is broken.
		var bad strings.Builder
		bad.WriteString("userId,email\n")
		for i := range 3000 {
			fmt.Fprintf(&bad, "p%d,p%d@example.com\n", i, i)
		}
		bad.WriteString("broken,broken@\n")
		badFile, goodFile := filepath.Join(files, "bad.csv"), filepath.Join(files, "good.csv")
		for name, text := range map[string]string{badFile: bad.String(),
			goodFile: "userId,email,roles\nzoe,zoe@example.com,b\nyan,yan@example.com,b\nxia,xia@example.com,a\n"} {
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		shot := shooter(t, dir)
		step, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		must := mustDo(t)
		text := func(sel string) string {
			t.Helper()
			s, err := chromedp.Run(step, chromedp.Text(sel))
			must("text of "+sel, err)
			return s
		}
		requests := func() int {
			t.Helper()
			n, err := chromedp.Run(step, chromedp.Evaluate[int](dataRequests))
			must("count requests", err)
			return n
		}
		// The first paint of data is the page's own response: no request
		// of a script fetched it.
		firstPaint := func(page string) {
			t.Helper()
			if n := requests(); n != 0 {
				t.Errorf("%s: %d data requests of scripts for the first paint, want none (1 request in all)", page, n)
			}
		}
		imports := w.srv.URL + "/console/acme/imports"
		must("sign in", chromedp.Do(step,
			chromedp.Navigate(w.bootstrap()),
			chromedp.WaitVisible(`form[action="/console/acme/signin"] button`),
			chromedp.Click(`form[action="/console/acme/signin"] button`),
			chromedp.WaitVisible(`table.users`),
			chromedp.Navigate(imports),
			chromedp.WaitVisible(`#file`),
		))
		firstPaint("imports")

		// The bad file, validated first (the box is checked): the job page
		// polls while it runs, then names the row and stops.
		must("upload the bad file", chromedp.Do(step,
			chromedp.SetUploadFiles(`#file`, []string{badFile}),
			chromedp.Click(`form.upload button[type=submit]`),
			chromedp.WaitVisible(`#h-job`),
		))
		running, err := chromedp.Run(step, chromedp.Evaluate[bool](`document.querySelector("#job").hasAttribute("hx-trigger")`))
		must("running", err)
		must("problems", chromedp.Do(step, chromedp.WaitVisible(`table.problems`)))
		polls := requests()
		if running && polls == 0 {
			t.Error("the job page showed a running job but never polled it")
		}
		must("problems screenshot", chromedp.Do(step, shot("console-import-problems-1280.png", 1280, 800), chromedp.EmulateViewport(1280, 800)))
		if problems := text(`table.problems tbody`); !strings.Contains(problems, "line 3002") || !strings.Contains(problems, "column 2 (email)") {
			t.Errorf("the bad row is not named by line and column: %q", problems)
		}
		if summary := text(`.summary`); !strings.Contains(summary, "Users file has 1 error: nothing loaded") {
			t.Errorf("bad file's summary: %q", summary)
		}
		if n, _ := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("form.load").length`)); n != 0 {
			t.Error("a file with an error offers a load")
		}
		must("wait", chromedp.Do(step, chromedp.Sleep(2500*time.Millisecond)))
		if n := requests(); n != polls {
			t.Errorf("the job page went on polling after its job ended: %d requests, then %d", polls, n)
		}
		t.Logf("the bad file's job page: running at first paint %v, %d poll(s)", running, polls)

		// The good file: zoe's and yan's roles change (rows to confirm),
		// xia is new. Load zoe's change only.
		must("upload the good file", chromedp.Do(step,
			chromedp.Navigate(imports),
			chromedp.WaitVisible(`#file`),
			chromedp.SetUploadFiles(`#file`, []string{goodFile}),
			chromedp.Click(`form.upload button[type=submit]`),
			chromedp.WaitVisible(`table.decisions`),
		))
		if d := text(`table.decisions tbody`); !strings.Contains(d, "line 2") || !strings.Contains(d, "zoe") || !strings.Contains(d, "line 3") || !strings.Contains(d, "yan") || !strings.Contains(d, "remove role a") {
			t.Errorf("rows to confirm: %q", d)
		}
		if badge := text(`#job .badge`); badge != "ready to load" {
			t.Errorf("the validated dry run's state: %q", badge)
		}
		must("confirm screenshot", chromedp.Do(step, shot("console-import-confirm-1280.png", 1280, 800), chromedp.EmulateViewport(1280, 800)))
		must("confirm and load", chromedp.Do(step,
			chromedp.Click(`#line-2`),
			chromedp.Click(`form.load button[type=submit]`),
			chromedp.WaitVisible(`dl.tallies`),
		))
		if summary := text(`.summary`); !strings.Contains(summary, "Users loaded: 1 added, 1 updated, 0 deleted") || !strings.Contains(summary, "1 skipped") {
			t.Errorf("load summary: %q", summary)
		}
		if created := text(`table.created`); !strings.Contains(created, "xia") || strings.Contains(created, "zoe") {
			t.Errorf("users created: %q", created)
		}
		loaded, err := chromedp.Run(step, chromedp.Location())
		must("location", err)
		must("reload the job page", chromedp.Do(step, chromedp.Navigate(loaded), chromedp.WaitVisible(`dl.tallies`)))
		firstPaint("import job")
		must("job screenshots", chromedp.Do(step,
			shot("console-import-1280.png", 1280, 800),
			shot("console-import-390.png", 390, 844),
		))
		for user, want := range map[string]string{"zoe": "role:b", "yan": "role:a"} {
			status, body := call(t, "GET", w.srv.URL+"/admin/v1/acme/users?q="+user, w.admin, "")
			id := between(body, `"id": "`, `"`)
			status2, doc := call(t, "GET", w.srv.URL+"/admin/v1/acme/users/"+id, w.admin, "")
			if status != 200 || status2 != 200 || !strings.Contains(doc, `"target": "`+strings.TrimPrefix(want, "role:")+`"`) {
				t.Errorf("%s after the load, want %s: %d %d %s", user, want, status, status2, doc)
			}
		}

		// The import page lists the jobs; its export downloads the users.
		must("imports page", chromedp.Do(step, chromedp.Navigate(imports), chromedp.WaitVisible(`table.jobs`)))
		firstPaint("imports with jobs")
		if jobs := text(`table.jobs tbody`); strings.Count(jobs, "dry run") != 2 || strings.Count(jobs, "load") != 1 || strings.Contains(jobs, "ready to load") {
			t.Errorf("recent jobs: %q", jobs)
		}
		must("imports screenshots", chromedp.Do(step,
			shot("console-imports-1280.png", 1280, 800),
			shot("console-imports-390.png", 390, 844),
		))
		export, err := chromedp.Run(step, chromedp.Evaluate[[]string](`fetch(document.querySelector("a[download]").href).then(async r => [String(r.status), r.headers.get("Content-Type"), r.headers.get("Content-Disposition"), await r.text()])`, chromedp.EvalAwaitPromise))
		must("export", err)
		if len(export) != 4 || export[0] != "200" || !strings.HasPrefix(export[1], "text/csv") || !strings.Contains(export[2], `attachment; filename=users-acme.csv`) {
			t.Fatalf("export: %q", export)
		}
		csv := export[3]
		if !strings.HasPrefix(csv, "userId,") || !strings.Contains(csv, "xia@example.com") || !strings.Contains(csv, "ann@example.com") || strings.Contains(csv, "p1@example.com") {
			t.Errorf("exported CSV:\n%s", csv)
		}
		t.Logf("screenshots in %s", dir)
	})
}
