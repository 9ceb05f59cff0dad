package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/store/storetest"
)

// chromium finds Debian's chromium (.ci/run installs it). Without it the
// browser tests skip, except under CI, where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI runs the console's browser tests")
	}
	t.Skip("chromium is not installed (apt-get install chromium): the console's browser tests skip")
	return ""
}

// screenshotDir is where the browser tests write their screenshots:
// $SCIMD_SCREENSHOTS, else a temporary folder.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SCIMD_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// headless starts a headless Chromium with a fresh profile, talking to
// nothing but the servers the test gives it.
func headless(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser, for as long as ctx lives: no
	// timeout on it, or the timeout stops the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shooter returns an action that writes a full-page screenshot of the
// page at width×height pixels to dir/name.
func shooter(t *testing.T, dir string) func(name string, width, height int64) chromedp.Action[chromedp.Void] {
	return func(name string, width, height int64) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Steps(chromedp.EmulateViewport(width, height), chromedp.Sleep(100*time.Millisecond))(ctx, tg); err != nil {
				return err
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			if !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Errorf("%s: not a PNG", name)
			}
			return os.WriteFile(filepath.Join(dir, name), png, 0o644)
		})
	}
}

// mustDo returns a check that stops the test at a browser step's error.
func mustDo(t *testing.T) func(what string, err error) {
	return func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser, %s: %v", what, err)
		}
	}
}

// waitText polls the page of ctx until the text of the element sel holds
// want and none of not, and returns it; past 20 s it fails t with what the
// element showed.
func waitText(t *testing.T, ctx context.Context, what, sel, want string, not ...string) string {
	t.Helper()
	cond := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; const s = e.innerText.replace(/\s+/g, " "); return s.includes(%q)`, sel, want)
	for _, n := range not {
		cond += fmt.Sprintf(` && !s.includes(%q)`, n)
	}
	cond += ` })()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText`, sel)))
		t.Fatalf("browser, %s: %s never showed %q (not %q): %v; it shows %q", what, sel, want, not, err, got)
	}
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).innerText.replace(/\s+/g, " ")`, sel)))
	return s
}

// typeIn puts text in a field as a paste and its last character as a
// keystroke: the input event htmx listens to.
func typeIn(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.SetValue(sel, text[:len(text)-1]), chromedp.SendKeys(sel, text[len(text)-1:]))
}

// TestConsoleInBrowser signs in with a bootstrap link in headless
// Chromium, searches as it types (htmx, loaded under the strict CSP),
// opens a user, and writes screenshots at desktop and phone width.
func TestConsoleInBrowser(t *testing.T) {
	ctx := headless(t)
	onSQLite(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		dir := screenshotDir(t)
		shot := shooter(t, dir)
		step, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		must := func(what string, err error) { t.Helper(); browserMust(t, what, err) }
		signInBrowser(t, step, w.bootstrap())
		htmx, err := chromedp.Run(step, chromedp.Evaluate[bool](`typeof window.htmx === "object"`))
		must("htmx", err)
		firstPaint := func(page string) { t.Helper(); checkFirstPaint(t, step, page) }
		firstPaint("users")
		must("users screenshots", chromedp.Do(step,
			shot("console-users-1280.png", 1280, 800),
			shot("console-users-390.png", 390, 844),
			chromedp.EmulateViewport(1280, 800),
			chromedp.SendKeys(`#q`, "ann"),
		))
		_, err = chromedp.Run(step, chromedp.Poll[bool](`(() => { const r = document.querySelector("#results").textContent; return r.includes("ann@example.com") && !r.includes("bob@example.com") })()`,
			chromedp.WithPollingTimeout(10*time.Second)))
		must("search as you type", err)
		if n, err := chromedp.Run(step, chromedp.Evaluate[int](dataRequests)); err != nil || n == 0 {
			t.Errorf("search as you type made %d requests (%v): the count cannot see htmx's", n, err)
		}
		found, err := chromedp.Run(step, chromedp.Location())
		must("location", err)
		must("user page", chromedp.Do(step,
			shot("console-search-1280.png", 1280, 800),
			chromedp.Click(`#results a[href*="/users/"]`),
			chromedp.WaitVisible(`#h-audit`),
		))
		firstPaint("user")
		must("user screenshots", chromedp.Do(step,
			shot("console-user-1280.png", 1280, 800),
			shot("console-user-390.png", 390, 844),
		))
		title, err := chromedp.Run(step, chromedp.Title())
		must("title", err)
		if !htmx {
			t.Error("htmx did not load under the console's CSP")
		}
		if !strings.Contains(found, "q=ann") {
			t.Errorf("the search is not in the address bar: %s", found)
		}
		if !strings.HasPrefix(title, "ann@example.com") {
			t.Errorf("user page title %q", title)
		}
		t.Logf("screenshots in %s", dir)
	})
}

// browserMust fails t, saying what the browser was doing, if err is one.
func browserMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("browser, %s: %v", what, err)
	}
}

// dataRequests counts the requests the page's scripts made.
const dataRequests = `performance.getEntriesByType("resource").filter(e => e.initiatorType === "xmlhttprequest" || e.initiatorType === "fetch").length`

// checkFirstPaint holds the page open in ctx to the console's rule: the
// first paint of its data is its own response, no request of a script
// fetched it (1 request in all).
func checkFirstPaint(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](dataRequests))
	browserMust(t, "count requests", err)
	if n != 0 {
		t.Errorf("%s: %d data requests of scripts for the first paint, want none (1 request in all)", page, n)
	}
}

// signInBrowser signs the browser of ctx in with a bootstrap link of
// acme, and waits for the users page it lands on.
func signInBrowser(t *testing.T, ctx context.Context, link string) {
	t.Helper()
	browserMust(t, "sign in", chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`form[action="/console/acme/signin"] button`),
		chromedp.Click(`form[action="/console/acme/signin"] button`),
		chromedp.WaitVisible(`table.users`),
	))
}

// onSQLite runs a browser test on SQLite alone: the browser sees the
// same pages on both databases, and one run is enough.
func onSQLite(t *testing.T, test func(t *testing.T, dsn string)) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		if strings.HasPrefix(dsn, "postgres") {
			t.Skip("the browser sees the same pages on both databases; one run is enough")
		}
		test(t, dsn)
	})
}

// browserRun is what a browser test of a console page uses: its steps'
// context, and where its screenshots go.
type browserRun struct {
	t    *testing.T
	step context.Context
	dir  string
}

// newBrowserRun gives a test in browser ctx its steps' context, which
// ends after timeout or with the test.
func newBrowserRun(t *testing.T, ctx context.Context, timeout time.Duration) (*browserRun, context.Context) {
	step, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	return &browserRun{t: t, step: step, dir: screenshotDir(t)}, step
}

// shot writes a full-page screenshot at a width and height.
func (b *browserRun) shot(name string, width, height int64) chromedp.Action[chromedp.Void] {
	return shooter(b.t, b.dir)(name, width, height)
}

func (b *browserRun) must(what string, err error) {
	b.t.Helper()
	browserMust(b.t, what, err)
}

// firstPaint checks that the page's first paint of data was its own
// response: no request of a script fetched it.
func (b *browserRun) firstPaint(page string) {
	b.t.Helper()
	checkFirstPaint(b.t, b.step, page)
}
