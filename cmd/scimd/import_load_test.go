package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store/storetest"
)

// loadDryRun asks for the load of dry run id's held file, with query.
func loadDryRun(t *testing.T, base, token, id, query string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/admin/v1/acme/imports/"+id+"/load"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestImportLoadDryRun: a dry run that found no problem holds its file,
// and POST /imports/{id}/load loads it without the file sent again,
// deciding its rows with accept=; a refused load may be tried again, a
// committed one uses the file up; a dry run with problems, a load, or
// another tenant's job cannot be loaded; and a file refused as too large
// creates no connector.
func TestImportLoadDryRun(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		other := newToken(t, dsn, "beta", "admins", "--admin")
		base := serveImports(t, dsn, "SCIMD_LIMITS_MAX_IMPORT_BYTES", "4096")
		status409 := func(what string, res *http.Response, want string) {
			t.Helper()
			defer res.Body.Close()
			var b strings.Builder
			buf := make([]byte, 4096)
			n, _ := res.Body.Read(buf)
			b.Write(buf[:n])
			if res.StatusCode != http.StatusConflict || !strings.Contains(b.String(), want) {
				t.Fatalf("%s: %d %s, want 409 %q", what, res.StatusCode, b.String(), want)
			}
		}

		dry := postImport(t, base, admin, "userId,email,roles\nlea,lea@example.com,a\nmo,mo@example.com,a|b\n", "?dryRun=true")
		if dry.State != "done" || !dry.DryRun || dry.LoadableUntil == nil || time.Until(*dry.LoadableUntil) < 50*time.Minute {
			t.Fatalf("dry run: %+v", dry)
		}
		if _, body := call(t, "GET", base+"/admin/v1/acme/users?q=lea", admin, ""); strings.Contains(body, `"userName": "lea"`) {
			t.Fatalf("the dry run wrote: %s", body)
		}
		if status, body := call(t, "POST", base+"/admin/v1/beta/imports/"+dry.ID+"/load", other, ""); status != http.StatusNotFound {
			t.Fatalf("another tenant's dry run: %d %s", status, body)
		}
		load := pollJob(t, base, admin, loadDryRun(t, base, admin, dry.ID, ""))
		if load.State != "done" || load.DryRun || !load.Report.Committed || len(load.Report.Created) != 2 ||
			!strings.Contains(load.Report.Summary, "Users loaded: 2 added") {
			t.Fatalf("load: %+v", load)
		}
		if _, body := call(t, "GET", base+"/admin/v1/acme/users?q=lea", admin, ""); !strings.Contains(body, `"userName": "lea"`) {
			t.Fatalf("the load did not write: %s", body)
		}
		if _, body := call(t, "GET", base+"/admin/v1/acme/imports/"+dry.ID, admin, ""); strings.Contains(body, "loadableUntil") {
			t.Fatalf("a loaded dry run is still loadable: %s", body)
		}
		status409("a second load", loadDryRun(t, base, admin, dry.ID, ""), "holds no file for that dry run")
		status409("a load's job", loadDryRun(t, base, admin, load.ID, ""), "only a dry run")

		bad := postImport(t, base, admin, "userId,email\nx1,x1@\n", "?dryRun=true")
		if bad.State != "failed" || bad.LoadableUntil != nil || bad.Report.ErrorCount != 1 {
			t.Fatalf("a dry run with a problem: %+v", bad)
		}
		status409("a dry run with a problem", loadDryRun(t, base, admin, bad.ID, ""), "holds no file")

		// Revised records wait for a decision: still loadable.
		revised := postImport(t, base, admin, "userId,email,roles\nlea,lea@example.com,b\nmo,mo@example.com,a\n", "?dryRun=true")
		if !revised.Report.Held || len(revised.Report.Decisions) != 2 || revised.LoadableUntil == nil {
			t.Fatalf("revised dry run: %+v", revised)
		}
		typo := pollJob(t, base, admin, loadDryRun(t, base, admin, revised.ID, "?accept=3,4"))
		if typo.State != "failed" || typo.Report.Committed || typo.Report.ErrorCount != 1 {
			t.Fatalf("accept of a line that is no decision: %+v", typo)
		}
		again := pollJob(t, base, admin, loadDryRun(t, base, admin, revised.ID, "?accept=3"))
		if again.State != "done" || !strings.Contains(again.Report.Summary, "1 updated, 0 deleted, 0 roles added, 1 skipped") {
			t.Fatalf("accept 3 after a refused load: %+v", again)
		}
		if res := loadDryRun(t, base, admin, revised.ID, "?accept=x"); res.StatusCode != http.StatusConflict {
			t.Fatalf("the committed load did not use the file up: %d", res.StatusCode)
		}

		// Too large: 413, and connector big was never made.
		req, _ := http.NewRequest("POST", base+"/admin/v1/acme/imports?connector=big", strings.NewReader("userId,email\n"+strings.Repeat("a,a@example.com\n", 400)))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "text/csv")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("too large: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
		if status, body := call(t, "GET", base+"/admin/v1/acme/connectors/big", admin, ""); status != http.StatusNotFound {
			t.Fatalf("a refused file made its connector: %d %s", status, body)
		}
	})
}
