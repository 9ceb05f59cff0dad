package main

import (
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// TestUserLocal: "scimd user local" marks a user local; a CSV import
// naming them is refused at the row and column of the key that matched,
// nothing loads; --local=false lets the file load again.
func TestUserLocal(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		env := map[string]string{"SCIMD_DATABASE_URL": dsn}
		newToken(t, dsn, "acme", "okta")
		if code, out, errOut := importFile(t, dsn, "userId,email\nann,ann@example.com\n"); code != 0 {
			t.Fatalf("import: %d %s %s", code, out, errOut)
		}
		code, out, errOut := scimd(t, env, "user", "list", "--tenant", "acme")
		if code != 0 {
			t.Fatalf("user list: %d %s", code, errOut)
		}
		var id string
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "ann") {
				id = f[0]
			}
		}
		if id == "" {
			t.Fatalf("no ann in %q", out)
		}
		if code, _, errOut := scimd(t, env, "user", "local", "--tenant", "acme", "--user", id); code != 0 || !strings.Contains(errOut, "is local") {
			t.Fatalf("user local: %d %q", code, errOut)
		}
		file := "userId,email\nbob,bob@example.com\nann,ann@example.com\n"
		code, out, errOut = importFile(t, dsn, file)
		if code != exitInvalid || !strings.Contains(out, "line 3, column 1 (userId): ") || !strings.Contains(out, "local account managed only in scimd") {
			t.Fatalf("import naming a local user: %d %q %q", code, out, errOut)
		}
		if code, _, errOut := scimd(t, env, "user", "local", "--tenant", "acme", "--user", id, "--local=false"); code != 0 || !strings.Contains(errOut, "no longer local") {
			t.Fatalf("user local --local=false: %d %q", code, errOut)
		}
		if code, out, errOut := importFile(t, dsn, file); code != 0 {
			t.Fatalf("import once ann is not local: %d %q %q", code, out, errOut)
		}
	})
}
