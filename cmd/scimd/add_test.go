package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// TestUserAddAndInviteGuest: "scimd user add" reads addresses one per
// line, writes none when a line is bad (exit 3, the line named), all
// otherwise; "scimd user invite-guest" makes a guest of one group.
func TestUserAddAndInviteGuest(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		env := map[string]string{"SCIMD_DATABASE_URL": dsn}
		newToken(t, dsn, "acme", "okta")
		dir := t.TempDir()
		list := func(lines ...string) string {
			f := filepath.Join(dir, "list.txt")
			os.WriteFile(f, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600)
			return f
		}
		users := func() string {
			t.Helper()
			code, out, errOut := scimd(t, env, "user", "list", "--tenant", "acme")
			if code != 0 {
				t.Fatalf("user list: %d %s", code, errOut)
			}
			return out
		}
		code, _, errOut := scimd(t, env, "user", "add", "--tenant", "acme", "--role", "reader", list("ann@example.com", "", "bob at example.com"))
		if code != exitInvalid || !strings.Contains(errOut, "line 3:") || !strings.Contains(errOut, "nothing was written") {
			t.Fatalf("bad list: %d %q", code, errOut)
		}
		if strings.Contains(users(), "ann@") {
			t.Fatal("a refused list wrote ann")
		}
		code, out, errOut := scimd(t, env, "user", "add", "--tenant", "acme", "--role", "reader", list("ann@example.com", "bob@example.com"))
		if code != 0 || strings.Count(out, "@example.com") != 2 || !strings.Contains(errOut, "2 new, 0 updated, 0 unchanged, 1 roles added") {
			t.Fatalf("add: %d %q %q", code, out, errOut)
		}
		if got := users(); !strings.Contains(got, "ann@example.com") || !strings.Contains(got, "bob@example.com") {
			t.Fatalf("users after the add: %s", got)
		}
		// A guest needs their group to exist.
		if code, _, errOut := scimd(t, env, "user", "invite-guest", "--tenant", "acme", "--email", "vi@example.org", "--group", "Library"); code == 0 || !strings.Contains(errOut, "Library") {
			t.Fatalf("guest of a missing group: %d %q", code, errOut)
		}
		if code, _, errOut := scimd(t, env, "user", "invite-guest", "--tenant", "acme", "--email", "vi@example.org", "--group", "Library", "--end", "next week"); code != exitUsage {
			t.Fatalf("bad --end: %d %q", code, errOut)
		}
		db, by, err := userTenant(context.Background(), dsn, "acme")
		if err != nil {
			t.Fatal(err)
		}
		_, err = reconcile.New(db, nil).CreateGroup(context.Background(), by, "Library")
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut = scimd(t, env, "user", "invite-guest", "--tenant", "acme", "--email", "vi@example.org", "--group", "Library",
			"--start", "2026-01-01 00:00", "--end", "2099-01-01T00:00:00Z")
		if code != 0 || !strings.Contains(out, "vi@example.org") {
			t.Fatalf("invite-guest: %d %q %q", code, out, errOut)
		}
		if !strings.Contains(users(), "vi@example.org") {
			t.Fatal("the guest is not listed")
		}
	})
}
