package main

import (
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// TestSeed001ExportEditImport is the 001 seed's round trip, through the CLI
// and through the API: export the users, change a cell, import the file
// back: only the changed user is updated, and an unchanged export changes
// nothing.
func TestSeed001ExportEditImport(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		base := serveImports(t, dsn)
		code, out, errOut := importFile(t, dsn, "userId,firstName,lastName,email,roles,notifyIfNewUser\n"+
			"ann,Ann,Smith,ann@example.com,student,false\nbob,Bob,Jones,bob@example.com,student|tutor,false\ncy,Cy,Young,cy@example.com,staff,false\n")
		if code != 0 || !strings.Contains(out, "Users loaded: 3 added, 0 updated, 0 deleted, 3 roles added") {
			t.Fatalf("first import: %d %q %q", code, out, errOut)
		}
		env := map[string]string{"SCIMD_DATABASE_URL": dsn}
		code, file, errOut := scimd(t, env, "export", "--tenant", "acme")
		if code != 0 || strings.Count(file, "\n") != 4 {
			t.Fatalf("export: %d %q\n%s", code, errOut, file)
		}
		if code, out, _ := importFile(t, dsn, file); code != 0 || !strings.Contains(out, "Users loaded: 0 added, 0 updated, 0 deleted, 0 roles added") {
			t.Fatalf("unchanged export re-imported: %d %q", code, out)
		}
		edited := strings.Replace(file, ",Smith,", ",Smyth,", 1)
		if edited == file {
			t.Fatalf("no Smith in the export:\n%s", file)
		}
		if code, out, _ := importFile(t, dsn, edited); code != 0 || !strings.Contains(out, "Users loaded: 0 added, 1 updated, 0 deleted, 0 roles added") {
			t.Fatalf("edited export (CLI): %d %q", code, out)
		}

		status, apiFile := call(t, "GET", base+"/admin/v1/acme/export", admin, "")
		if status != 200 || !strings.Contains(apiFile, ",Smyth,") {
			t.Fatalf("GET export: %d\n%s", status, apiFile)
		}
		if job := postImport(t, base, admin, apiFile, ""); job.State != "done" || !strings.Contains(job.Report.Summary, "0 added, 0 updated") {
			t.Fatalf("unchanged export re-imported (API): %+v", job)
		}
		edited = strings.Replace(apiFile, ",Young,", ",Yang,", 1)
		if job := postImport(t, base, admin, edited, ""); job.State != "done" || !strings.Contains(job.Report.Summary, "0 added, 1 updated") {
			t.Fatalf("edited export (API): %+v", job)
		}
		if _, again := call(t, "GET", base+"/admin/v1/acme/export", admin, ""); !strings.Contains(again, ",Yang,") || !strings.Contains(again, ",Smyth,") {
			t.Fatalf("export after both edits:\n%s", again)
		}
	})
}

// TestSeed000 is the 000 seed's administrator, through the CLI and the
// API: a user file loaded, a revised record held for confirmation and
// loaded once confirmed, people added by address with one role, a guest
// invited to one community, and a deleted user restored without their
// roles.
func TestSeed000(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		base := serveImports(t, dsn)
		code, out, _ := importFile(t, dsn, "userId,email,roles,notifyIfNewUser\nann,ann@example.com,student,false\n")
		if code != 0 || !strings.Contains(out, "1 added") {
			t.Fatalf("import: %d %q", code, out)
		}
		revised := "userId,email,roles\nann,ann@example.com,tutor\n"
		if code, out, _ := importFile(t, dsn, revised); code != exitInvalid || !strings.Contains(out, "line 2: ann") {
			t.Fatalf("revised record not held for confirmation: %d %q", code, out)
		}
		if job := postImport(t, base, admin, revised, "?accept=2"); job.State != "done" || !strings.Contains(job.Report.Summary, "1 updated") {
			t.Fatalf("confirmed through the API: %+v", job)
		}
		status, body := call(t, "POST", base+"/admin/v1/acme/users/add", admin, `{"text":"bo@example.com\ncy@example.com","roles":["student"]}`)
		if status != 200 || !strings.Contains(body, `"added": 2`) {
			t.Fatalf("add users: %d %s", status, body)
		}
		if status, body := call(t, "POST", base+"/admin/v1/acme/groups", admin, `{"displayName":"Cardiology Community"}`); status != 201 {
			t.Fatalf("group: %d %s", status, body)
		}
		env := map[string]string{"SCIMD_DATABASE_URL": dsn}
		code, out, errOut := scimd(t, env, "user", "invite-guest", "--tenant", "acme", "--email", "guest@example.org", "--group", "Cardiology Community", "--end", "2099-01-01 00:00")
		if code != 0 || !strings.Contains(out, "guest@example.org") {
			t.Fatalf("invite-guest: %d %q %q", code, out, errOut)
		}
		guest := strings.Fields(out)[0]
		if status, body := call(t, "PUT", base+"/admin/v1/acme/users/"+guest+"/grants", admin, `{"groups":["Cardiology Community"],"roles":["student"]}`); status != 200 {
			t.Fatalf("the guest's own group and a role: %d %s", status, body)
		}

		_, list := call(t, "GET", base+"/admin/v1/acme/users?q=ann", admin, "")
		id := between(list, `"id": "`, `"`)
		if code, _, errOut := scimd(t, env, "user", "delete", "--tenant", "acme", "--user", id); code != 0 {
			t.Fatalf("delete: %d %s", code, errOut)
		}
		status, body = call(t, "POST", base+"/admin/v1/acme/users/"+id+"/restore", admin, "")
		if status != 200 || !strings.Contains(body, `"status": "disabled"`) {
			t.Fatalf("restore: %d %s", status, body)
		}
		if _, doc := call(t, "GET", base+"/admin/v1/acme/users/"+id, admin, ""); strings.Contains(doc, `"kind": "role"`) {
			t.Fatalf("restored with roles: %s", doc)
		}
	})
}

// between is the text of s after the first before, up to after.
func between(s, before, after string) string {
	_, rest, _ := strings.Cut(s, before)
	v, _, _ := strings.Cut(rest, after)
	return v
}
