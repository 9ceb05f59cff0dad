package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestScimbench runs every command and scenario at a small size against a
// real scimd on both databases, and checks what they report: no errors,
// every seeded user seen by the walks.
func TestScimbench(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		engine := reconcile.New(db, nil)
		tok, err := engine.IssueToken(ctx, reconcile.CommandLine, "bench", "okta")
		if err != nil {
			t.Fatal(err)
		}
		token := tok.Secret
		srv := httptest.NewServer(scim.NewHandler(scim.Config{}, db.Reader(), engine))
		t.Cleanup(srv.Close)
		base := srv.URL + "/scim/v2/bench"

		bench := func(args ...string) string {
			t.Helper()
			var out, errs bytes.Buffer
			if err := run(ctx, args, &out, &errs); err != nil {
				t.Fatalf("scimbench %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errs.String())
			}
			t.Logf("scimbench %s:\n%s", strings.Join(args, " "), out.String())
			return out.String()
		}
		bench("seed", "--database-url", dsn, "--users", "250")
		page, err := db.Users(ctx, store.Query{TenantID: 1, StartIndex: 1, Count: 1})
		if err != nil || page.Total != 250 || page.Items[0].UserName != "User0@example.com" {
			t.Fatalf("after seeding: %d users, first %v, err %v", page.Total, page.Items, err)
		}
		common := []string{"--users", "250", "--requests", "40", "--concurrency", "2", "--count", "30"}
		for _, scenario := range []string{"get-eq", "filter", "list-first", "post"} {
			out := bench(append([]string{"run", "--url", base, "--token", token, "--scenario", scenario}, common...)...)
			if !strings.Contains(out, "requests=40 errors=0") {
				t.Errorf("run %s: %s", scenario, out)
			}
			if scenario == "post" {
				continue
			}
			out = bench(append([]string{"ref", "--database-url", dsn, "--scenario", scenario}, common...)...)
			if !strings.Contains(out, "requests=40 errors=0") {
				t.Errorf("ref %s: %s", scenario, out)
			}
		}
		// 250 seeded and 40 posted users, in pages of 30.
		walked := regexp.MustCompile(`pages=10 rows=290 `)
		if out := bench(append([]string{"run", "--url", base, "--token", token, "--scenario", "walk"}, common[4:]...)...); !walked.MatchString(out) {
			t.Errorf("walk over HTTP: %s", out)
		}
		if out := bench(append([]string{"ref", "--database-url", dsn, "--scenario", "walk"}, common[4:]...)...); !walked.MatchString(out) {
			t.Errorf("reference walk: %s", out)
		}
		var out, errs bytes.Buffer
		if err := run(ctx, []string{"run", "--url", "http://192.0.2.1/scim/v2/bench", "--scenario", "get-eq"}, &out, &errs); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("a non-loopback URL: %v", err)
		}
	})
}
