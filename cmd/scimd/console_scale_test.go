package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// atScale runs a scale test on each database, in a console world whose
// okta connector is p, if the environment variable env sets N (what N is
// of says the skip).
func atScale(t *testing.T, env, what string, test func(t *testing.T, w *consoleWorld, n int, p store.Principal)) {
	n, _ := strconv.Atoi(os.Getenv(env))
	if n <= 0 {
		t.Skip("set " + env + "=N to time " + what)
	}
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		p, err := w.db.ConnectorPrincipal(context.Background(), "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		test(t, w, n, p)
	})
}

// analyze runs ANALYZE of tables on PostgreSQL: what autovacuum does
// within a minute or so of a bulk load; without statistics the planner
// does not know the indexes pay.
func (w *consoleWorld) analyze(tables string) {
	t := w.t
	t.Helper()
	if w.db.Dialect() != store.Postgres {
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE "+tables); err != nil {
		t.Fatal(err)
	}
}

// timer returns a function that GETs a console page three times with
// the browser c and logs the best latency and the fewest bytes the
// process allocated for it; it fails past a second, or past maxAlloc
// bytes (0: no bound).
func (w *consoleWorld) timer(c *http.Client, maxAlloc uint64) func(what, u string, header ...string) string {
	t := w.t
	return func(what, u string, header ...string) string {
		t.Helper()
		best, least := time.Duration(1<<62), uint64(1<<63)
		var page string
		for range 3 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			began := time.Now()
			var res *http.Response
			res, page = do(t, c, "GET", w.srv.URL+u, nil, header...)
			best = min(best, time.Since(began))
			runtime.ReadMemStats(&after)
			least = min(least, after.TotalAlloc-before.TotalAlloc)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", what, res.StatusCode)
			}
		}
		t.Logf("%-44s %8.1f ms %8.0f KiB allocated", what, float64(best.Microseconds())/1000, float64(least)/1024)
		if best > time.Second || maxAlloc > 0 && least > maxAlloc {
			t.Errorf("%s took %s and %d bytes", what, best, least)
		}
		return page
	}
}

// TestConsoleScale times the users page over many users: set
// SCIMD_CONSOLE_SCALE to their number (1000000 for the figure).
// It logs each page's latency, and fails past a second.
func TestConsoleScale(t *testing.T) {
	atScale(t, "SCIMD_CONSOLE_SCALE", "the console's users page over N users", func(t *testing.T, w *consoleWorld, n int, p store.Principal) {
		ctx := context.Background()
		start := time.Now()
		for base := 0; base < n; base += 10000 {
			var users []store.User
			for i := base; i < min(base+10000, n); i++ {
				name := fmt.Sprintf("u%07d@example.org", i)
				status := store.StatusActive
				if i%1000 == 999 {
					status = store.StatusDisabled
				}
				users = append(users, store.User{TenantID: p.TenantID, UserName: name, DisplayName: fmt.Sprintf("User %07d", i),
					Active: status == store.StatusActive, Status: status,
					Attrs: map[string]any{"userName": name, "emails": []any{map[string]any{"value": name}}}})
			}
			if err := w.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, users) }); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%d users seeded in %s", n, time.Since(start).Round(time.Millisecond))
		w.analyze("users, user_emails")
		c := w.signIn(w.bootstrap())
		next := regexp.MustCompile(`href="(/console/acme/users\?[^"]+)" rel="next"`)
		timed := w.timer(c, 0)
		page := timed("first page", "/console/acme/users")
		u := ""
		for range 20 {
			m := next.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no next page")
			}
			u = strings.ReplaceAll(m[1], "&amp;", "&")
			page = timed("page by cursor", u)
		}
		mid := fmt.Sprintf("u%07d", n/2)
		timed("search "+mid+" (htmx)", "/console/acme/users?q="+mid, "HX-Request", "true")
		timed("search 'User 05' by display name", "/console/acme/users?q=User+05", "HX-Request", "true")
		timed("status disabled (1 in 1000)", "/console/acme/users?status=disabled")
		timed("status deleted (none)", "/console/acme/users?status=deleted")
	})
}
