package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestReapplyKill9: scimd config reapply killed (-9) mid-job resumes,
// on the next run, after the last batch it committed, and ends with every
// user changed once: as many changed as the impact said.
func TestReapplyKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds scimd and loads 10,000 rows")
	}
	bin := filepath.Join(t.TempDir(), "scimd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	var b strings.Builder
	b.WriteString("userId,email,firstName,lastName,roles\n")
	for i := range 10_000 {
		fmt.Fprintf(&b, "k%05d,k%05d@example.com,Kim,Number %d,learner\n", i, i, i)
	}
	dir := t.TempDir()
	csv, conf := filepath.Join(dir, "big.csv"), filepath.Join(dir, "new.yaml")
	if err := os.WriteFile(csv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(`
tenants:
  - name: acme
    connectors:
      - name: csv
        create: {orgUnits: true}
        allow: {orgUnits: [Bench]}
        rules:
          - name: off
            if: email.endsWith("1@example.com")
            status: disabled
          - name: bench
            if: email.endsWith("2@example.com")
            orgUnit: Bench
`), 0o600); err != nil {
		t.Fatal(err)
	}
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		newToken(t, dsn, "acme", "okta")
		if out, err := exec.Command(bin, "import", "--tenant", "acme", "--database-url", dsn, csv).CombinedOutput(); err != nil {
			t.Fatalf("import: %v %s", err, out)
		}
		code, out, errOut := scimdIn(t, dsn, "", "config", "impact", "--tenant", "acme", "--config", conf)
		if code != 0 || !strings.Contains(out, "10000 users read: 2000 would change") {
			t.Fatalf("impact: %d %s %s", code, out, errOut)
		}
		cmd := exec.Command(bin, "config", "reapply", "--tenant", "acme", "--config", conf, "--database-url", dsn)
		stderr := &lockedBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for !regexp.MustCompile(`\n  [1-9]\d*000/10000 users`).MatchString(stderr.String()) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no progress: %s", stderr.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		t.Logf("killed after: %s", stderr.String())
		code, out, errOut = scimdIn(t, dsn, "", "config", "reapply", "--tenant", "acme", "--config", conf)
		if code != 0 || !regexp.MustCompile(`Resuming re-apply job \S+ after [1-9]\d*000 of 10000 users`).MatchString(errOut) ||
			!strings.Contains(out, "done: 10000 users, 2000 changed, 0 could not be mapped") {
			t.Fatalf("resume: %d %q %q", code, out, errOut)
		}
		if _, out, _ := scimdIn(t, dsn, "", "config", "impact", "--tenant", "acme", "--config", conf); !strings.Contains(out, "10000 users read: 0 would change") {
			t.Fatalf("after the resumed job:\n%s", out)
		}
	})
}
