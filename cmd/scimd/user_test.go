package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// TestUserLifecycle: a SCIM DELETE, then GET 404; the deleted user is
// listed by "scimd user list --deleted" only; the admin API restores them
// (GET 200, without their grants, active false until enabled); the CLI
// enables, disables and erases, and SCIM shows each.
func TestUserLifecycle(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		config := filepath.Join(dir, "scimd.yaml")
		os.WriteFile(config, []byte(radiologyConfig), 0o600)
		okta := newToken(t, dsn, "acme", "okta")
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_CONFIG": config})
		defer stop()
		base := "http://" + addr
		status, body := call(t, "POST", base+"/scim/v2/acme/Users", okta, strings.Replace(radiologist, `"userName"`, `"active":true,"userName"`, 1))
		if status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		var created struct{ ID string }
		json.Unmarshal([]byte(body), &created)
		id := created.ID
		scimUser := base + "/scim/v2/acme/Users/" + id
		adminUser := base + "/admin/v1/acme/users/" + id
		grants := func() string {
			t.Helper()
			status, body := call(t, "GET", adminUser, admin, "")
			if status != 200 {
				t.Fatalf("admin GET: %d %s", status, body)
			}
			var doc struct {
				Grants []struct{ Kind, Target string }
			}
			json.Unmarshal([]byte(body), &doc)
			var out []string
			for _, g := range doc.Grants {
				out = append(out, g.Kind+":"+g.Target)
			}
			return strings.Join(out, ",")
		}
		active := func() bool {
			t.Helper()
			status, body := call(t, "GET", scimUser, okta, "")
			if status != 200 {
				t.Fatalf("SCIM GET: %d %s", status, body)
			}
			var doc struct{ Active bool }
			json.Unmarshal([]byte(body), &doc)
			return doc.Active
		}
		if g := grants(); !strings.Contains(g, "role:faculty") || !active() {
			t.Fatalf("before: grants %q", g)
		}

		if status, body := call(t, "DELETE", scimUser, okta, ""); status != 204 {
			t.Fatalf("DELETE: %d %s", status, body)
		}
		if status, _ := call(t, "GET", scimUser, okta, ""); status != 404 {
			t.Fatalf("GET after DELETE: %d, want 404", status)
		}
		if status, body := call(t, "GET", base+`/scim/v2/acme/Users?filter=userName+eq+%22rad@example.com%22`, okta, ""); status != 200 || !strings.Contains(body, `"totalResults":0`) {
			t.Fatalf("filter after DELETE: %d %s", status, body)
		}
		cli := func(args ...string) (int, string, string) {
			t.Helper()
			return scimd(t, map[string]string{"SCIMD_DATABASE_URL": dsn}, append([]string{"user"}, args...)...)
		}
		if _, out, _ := cli("list", "--tenant", "acme"); strings.Contains(out, id) {
			t.Fatalf("user list shows the deleted user:\n%s", out)
		}
		if _, out, _ := cli("list", "--tenant", "acme", "--deleted"); !strings.Contains(out, id) || !strings.Contains(out, "deleted") {
			t.Fatalf("user list --deleted:\n%s", out)
		}

		status, body = call(t, "POST", adminUser+"/restore", admin, "")
		if status != 200 || !strings.Contains(body, `"status": "disabled"`) || !strings.Contains(body, "reassign them to a group and role") {
			t.Fatalf("restore: %d %s", status, body)
		}
		if g := grants(); g != "orgUnit:Medicine/Radiology" {
			t.Fatalf("restored with grants %q, want their org unit only (no roles, no groups)", g)
		}
		if active() {
			t.Fatal("restored user is active before an administrator enables them")
		}
		if status, body := call(t, "POST", adminUser+"/restore", admin, ""); status != 409 || !strings.Contains(body, "not deleted") {
			t.Fatalf("restore again: %d %s", status, body)
		}
		if code, out, errOut := cli("grant", "--tenant", "acme", "--user", id, "--role", "faculty"); code != 0 || !strings.Contains(out, "role     faculty             cli") {
			t.Fatalf("grant: %d %s %s", code, out, errOut)
		}
		if g := grants(); g != "orgUnit:Medicine/Radiology,role:faculty" {
			t.Fatalf("grants after scimd user grant: %q", g)
		}
		if code, _, errOut := cli("grant", "--tenant", "acme", "--user", id, "--group", "Nope"); code != 1 || !strings.Contains(errOut, `group "Nope" does not exist`) {
			t.Fatalf("grant of an unknown group: %d %s", code, errOut)
		}
		if code, _, errOut := cli("enable", "--tenant", "acme", "--user", id); code != 0 || !strings.Contains(errOut, "now active") || !active() {
			t.Fatalf("enable: %d %s", code, errOut)
		}
		if status, body := call(t, "POST", adminUser+"/disable", admin, ""); status != 200 || active() {
			t.Fatalf("disable: %d %s", status, body)
		}
		if status, body := call(t, "POST", adminUser+"/enable", admin, ""); status != 200 || !active() {
			t.Fatalf("admin enable: %d %s", status, body)
		}
		if code, _, errOut := cli("disable", "--tenant", "acme", "--user", id); code != 0 || active() {
			t.Fatalf("cli disable: %d %s", code, errOut)
		}
		if status, body := call(t, "DELETE", adminUser, admin, ""); status != 204 {
			t.Fatalf("admin DELETE: %d %s", status, body)
		}
		if status, _ := call(t, "GET", scimUser, okta, ""); status != 404 {
			t.Fatalf("GET after admin DELETE: %d", status)
		}
		if code, _, errOut := cli("erase", "--tenant", "acme", "--user", id); code != 0 {
			t.Fatalf("erase a deleted user: %d %s", code, errOut)
		}
		if code, _, errOut := cli("restore", "--tenant", "acme", "--user", id); code != 1 || !strings.Contains(errOut, "no user "+id) {
			t.Fatalf("restore an erased user: %d %s", code, errOut)
		}
	})
}
