package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestConfigImpactAndReapply: scimd config impact shows what a new file
// would change, writing nothing; scimd config reapply makes it so, and
// resumes a job left unfinished.
func TestConfigImpactAndReapply(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		newToken(t, dsn, "acme", "okta")
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p, err := db.ConnectorPrincipal(ctx, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range []string{"HR", "Sales", "HR"} {
			_, err := reconcile.New(db, nil).Apply(ctx, reconcile.Input{Source: reconcile.SourceSCIM, Principal: p, Kind: reconcile.KindUser,
				Op: reconcile.Create, Attrs: map[string]any{"userName": fmt.Sprintf("u%d", i), schemas.EnterpriseUserURN: map[string]any{"department": d}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		file := filepath.Join(t.TempDir(), "new.yaml")
		if err := os.WriteFile(file, []byte(`
tenants:
  - name: acme
    connectors:
      - name: okta
        create: {groups: true}
        allow: {groups: [People]}
        rules:
          - name: hr
            if: department == "HR"
            groups: [People]
`), 0o600); err != nil {
			t.Fatal(err)
		}
		impact := func() string {
			code, out, errOut := scimdIn(t, dsn, "", "config", "impact", "--tenant", "acme", "--config", file)
			if code != 0 {
				t.Fatalf("config impact: %d %s %s", code, out, errOut)
			}
			return out
		}
		if out := impact(); !strings.Contains(out, "3 users read: 2 would change") || !strings.Contains(out, "rule hr                   +2 -0") ||
			!strings.Contains(out, "u0 (okta): add group People (hr)") {
			t.Fatalf("impact:\n%s", out)
		}
		if out := impact(); !strings.Contains(out, "2 would change") {
			t.Fatalf("the impact wrote something:\n%s", out)
		}
		// A job left unfinished, as a killed one is, is resumed.
		by := reconcile.CommandLine
		by.TenantID, by.TenantName = p.TenantID, p.TenantName
		left, _, err := reconcile.New(db, nil).StartReapply(ctx, by)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := scimdIn(t, dsn, "", "config", "reapply", "--tenant", "acme", "--config", file)
		if code != 0 || !strings.Contains(errOut, "Resuming re-apply job "+left.ID) || !strings.Contains(out, "done: 3 users, 2 changed, 0 could not be mapped") {
			t.Fatalf("config reapply: %d %q %q", code, out, errOut)
		}
		if out := impact(); !strings.Contains(out, "3 users read: 0 would change") {
			t.Fatalf("after the job:\n%s", out)
		}
		if code, _, errOut := scimdIn(t, dsn, "", "config", "impact", "--tenant", "acme"); code != exitUsage {
			t.Fatalf("impact without --config: %d %s", code, errOut)
		}
	})
}
