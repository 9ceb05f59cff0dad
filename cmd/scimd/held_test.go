package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// TestConnectorHeld drives the deletion guard through serve and the CLI:
// the third and fourth deactivations of a connector guarded at 2 an hour
// are held (503), listed by scimd connector held, and applied by
// --approve all.
func TestConnectorHeld(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		if err := os.WriteFile(config, []byte("tenants:\n  - name: acme\n    connectors:\n      - name: okta\n        deletionGuard: {count: 2}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		token := newToken(t, dsn, "acme", "okta")
		addr := freeAddr(t)
		t.Cleanup(serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_CONFIG": config}))
		base := "http://" + addr + "/scim/v2/acme/Users"
		var ids []string
		for i := range 4 {
			code, body := call(t, "POST", base, token, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u%d@acme.org"}`, i))
			if code != 201 {
				t.Fatalf("POST: %d %s", code, body)
			}
			var u struct{ ID string }
			json.Unmarshal([]byte(body), &u)
			ids = append(ids, u.ID)
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
		var codes []int
		for _, id := range ids {
			code, _ := call(t, "PATCH", base+"/"+id, token, patch)
			codes = append(codes, code)
		}
		if fmt.Sprint(codes) != "[200 200 503 503]" {
			t.Fatalf("PATCH statuses %v, want [200 200 503 503]", codes)
		}
		args := []string{"connector", "held", "--tenant", "acme", "--connector", "okta", "--database-url", dsn, "--config", config}
		code, out, errOut := scimd(t, nil, args...)
		if code != 0 || strings.Count(out, `"state": "pending"`) != 2 {
			t.Fatalf("connector held: %d %s %s", code, out, errOut)
		}
		if code, _, errOut := scimd(t, nil, append(args, "--approve", "all")...); code != 0 || !strings.Contains(errOut, "2 held writes approved") {
			t.Fatalf("--approve all: %d %s", code, errOut)
		}
		for _, id := range ids {
			if code, body := call(t, "GET", base+"/"+id, token, ""); code != 200 || !strings.Contains(body, `"active":false`) {
				t.Errorf("GET %s after approval: %d %s", id, code, body)
			}
		}
		if code, out, _ := scimd(t, nil, args...); code != 0 || strings.Contains(out, `"state": "pending"`) {
			t.Errorf("still pending after approval: %s", out)
		}
	})
}

// TestImportDeletionGuard: a CSV file whose DELETE rows cross the csv
// connector's deletion guard loads nothing and says how to approve it;
// with --approve-deletions it loads, all of it.
func TestImportDeletionGuard(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		newToken(t, dsn, "acme", "okta")
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		if err := os.WriteFile(config, []byte("tenants:\n  - name: acme\n    connectors:\n      - name: csv\n        kind: csv\n        deletionGuard: {count: 3}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var add, del strings.Builder
		add.WriteString("userId,email\n")
		del.WriteString("userId,email,transaction\n")
		for i := range 20 {
			fmt.Fprintf(&add, "u%d,u%d@example.com\n", i, i)
			if i < 5 {
				fmt.Fprintf(&del, "u%d,u%d@example.com,DELETE\n", i, i)
			}
		}
		if code, out, errOut := importFile(t, dsn, add.String(), "--config", config); code != 0 || !strings.Contains(out, "20 added") {
			t.Fatalf("load: %d %s %s", code, out, errOut)
		}
		// A dry run says the guard would stop the file, and is no failure:
		// the file is valid.
		code, out, errOut := importFile(t, dsn, del.String(), "--config", config, "--dry-run")
		if code != 0 || !strings.Contains(out, "would stop it") || !strings.Contains(out, "5 deleted") || !strings.Contains(out, "allows 3") {
			t.Fatalf("dry run of the guarded DELETE file: %d %s %s", code, out, errOut)
		}
		code, out, errOut = importFile(t, dsn, del.String(), "--config", config)
		// The dry run counted nothing against the guard's window.
		if code == 0 || !strings.Contains(out+errOut, "deletion guard") || !strings.Contains(out+errOut, "--approve-deletions") ||
			!strings.Contains(out+errOut, "(0 done in the window)") {
			t.Fatalf("guarded DELETE file: %d %s %s", code, out, errOut)
		}
		// Nothing was deleted: the file loads, as a whole, once approved.
		code, out, errOut = importFile(t, dsn, del.String(), "--config", config, "--approve-deletions")
		if code != 0 || !strings.Contains(out, "5 deleted") {
			t.Fatalf("approved DELETE file: %d %s %s", code, out, errOut)
		}
	})
}
