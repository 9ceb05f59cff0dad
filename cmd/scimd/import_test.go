package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const (
	seedUsers    = "../../csvio/testdata/002_users.csv"
	seedRevision = "../../csvio/testdata/002_revision.csv"
	// seedAdmin is the tenant admin the 002 seed's admin is logged in as
	// when uploading: there before the file, without the file's role.
	seedAdmin = "userId,email\nadmin,admin@example.com\n"
)

// scimdIn is scimd with stdin.
func scimdIn(t *testing.T, dsn, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	environ := map[string]string{"SCIMD_DATABASE_URL": dsn}
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return environ[k] })
	return code, out.String(), errOut.String()
}

// importFile runs scimd import of the CSV text csv (stdin) with args.
func importFile(t *testing.T, dsn, csv string, args ...string) (int, string, string) {
	t.Helper()
	return scimdIn(t, dsn, csv, append(append([]string{"import", "--tenant", "acme"}, args...), "-")...)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestImport002Seed: the 002 seed's file, then its revision, give the
// seed's counts, through the CLI and through the API's jobs.
func TestImport002Seed(t *testing.T) {
	t.Run("cli", func(t *testing.T) {
		storetest.EachDSN(t, func(t *testing.T, dsn string) {
			newToken(t, dsn, "acme", "okta")
			if code, out, errOut := importFile(t, dsn, seedAdmin); code != 0 || !strings.Contains(out, "Users loaded: 1 added") {
				t.Fatalf("admin: %d %s %s", code, out, errOut)
			}
			// The admin's record gains a role: a decision to make first.
			code, out, errOut := scimdIn(t, dsn, "", "import", "--tenant", "acme", seedUsers)
			if code != exitInvalid || !strings.Contains(out, "line 2: admin: add role TenantAdmin") || !strings.Contains(errOut, "--accept") {
				t.Fatalf("undecided: %d %q %q", code, out, errOut)
			}
			code, out, errOut = scimdIn(t, dsn, "", "import", "--tenant", "acme", "--accept", "all", seedUsers)
			if code != 0 || !strings.Contains(out, "Users loaded: 3 added, 1 updated, 0 deleted, 4 roles added\n") {
				t.Fatalf("users: %d %q %q", code, out, errOut)
			}
			code, out, errOut = scimdIn(t, dsn, "", "import", "--tenant", "acme", seedRevision)
			if code != 0 || !strings.Contains(out, "Users loaded: 1 added, 1 updated, 0 deleted, 1 roles added\n") {
				t.Fatalf("revision: %d %q %q", code, out, errOut)
			}
		})
	})
	t.Run("api", func(t *testing.T) {
		storetest.EachDSN(t, func(t *testing.T, dsn string) {
			admin := newToken(t, dsn, "acme", "admins", "--admin")
			base := serveImports(t, dsn)
			if job := postImport(t, base, admin, seedAdmin, ""); job.State != "done" {
				t.Fatalf("admin: %+v", job)
			}
			// A dry run, then the load; a revised record waits for accept=.
			job := postImport(t, base, admin, readFile(t, seedUsers), "?dryRun=true&accept=all")
			if job.State != "done" || job.Report.Summary != "Users file is valid, nothing written; loading it would give: 3 added, 1 updated, 0 deleted, 4 roles added" {
				t.Fatalf("dry run: %+v", job)
			}
			if job := postImport(t, base, admin, readFile(t, seedUsers), ""); job.State != "failed" || !job.Report.Held || job.Report.Decisions[0].Line != 2 {
				t.Fatalf("undecided: %+v", job)
			}
			job = postImport(t, base, admin, readFile(t, seedUsers), "?accept=2")
			if job.State != "done" || job.Report.Summary != "Users loaded: 3 added, 1 updated, 0 deleted, 4 roles added" || len(job.Report.Created) != 3 || job.RowsDone != 4 {
				t.Fatalf("users: %+v", job)
			}
			job = postImport(t, base, admin, readFile(t, seedRevision), "")
			if job.State != "done" || job.Report.Summary != "Users loaded: 1 added, 1 updated, 0 deleted, 1 roles added" || job.Report.Created[0].UserName != "mary" {
				t.Fatalf("revision: %+v", job)
			}
			status, body := call(t, "GET", base+"/admin/v1/acme/imports", admin, "")
			if status != 200 || strings.Count(body, `"id"`) != 5 {
				t.Fatalf("list: %d %s", status, body)
			}
		})
	})
}

type jobReport struct {
	ID, State           string
	DryRun              bool
	RowsDone, RowsTotal int
	LoadableUntil       *time.Time
	Report              struct {
		Summary    string
		Committed  bool
		Held       bool
		ErrorCount int
		Errors     []struct {
			Line, Column int
			Header       string
		}
		Decisions []struct{ Line int }
		Created   []struct{ UserName string }
	}
}

// serveImports serves dsn and returns the base URL; more is more of the
// environment, as KEY, VALUE.
func serveImports(t *testing.T, dsn string, more ...string) string {
	addr := freeAddr(t)
	environ := map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr}
	for i := 0; i+1 < len(more); i += 2 {
		environ[more[i]] = more[i+1]
	}
	stop := serveInBackground(t, environ)
	t.Cleanup(stop)
	return "http://" + addr
}

// postImport posts a file and polls its job until it ends.
func postImport(t *testing.T, base, token, csv, query string) jobReport {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/admin/v1/acme/imports"+query, strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return pollJob(t, base, token, res)
}

// pollJob reads the job res (a 202 of POST /imports or …/load) started
// and polls it until it ends.
func pollJob(t *testing.T, base, token string, res *http.Response) jobReport {
	t.Helper()
	var job jobReport
	json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || job.ID == "" || res.Header.Get("Location") != "/admin/v1/acme/imports/"+job.ID {
		t.Fatalf("POST: %d %+v %q", res.StatusCode, job, res.Header.Get("Location"))
	}
	deadline := time.Now().Add(time.Minute)
	for job.State != "done" && job.State != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("job did not end: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		status, body := call(t, "GET", base+res.Header.Get("Location"), token, "")
		if status != 200 {
			t.Fatalf("GET job: %d %s", status, body)
		}
		job = jobReport{}
		json.Unmarshal([]byte(body), &job)
	}
	return job
}

// TestImportAPI: tenants' jobs are apart, the body is a CSV, and a job a
// stopped process left running shows failed: after a start, and (another
// replica's, gone quiet) when read.
func TestImportAPI(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		other := newToken(t, dsn, "beta", "admins", "--admin")
		// A job its process left loading (it died): failed once scimd starts.
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		tenant, err := db.Tenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		engine := reconcile.New(db, nil)
		loading := func() string {
			t.Helper()
			j, err := engine.StartImportJob(ctx, store.Principal{TenantID: tenant.ID, ConnectorName: "admins"}, 0, false, 10)
			if err == nil {
				err = engine.ImportJobProgress(ctx, j.ID, store.ImportLoading, 5)
			}
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			return j.ID
		}
		interrupted := loading()
		base := serveImports(t, dsn, "SCIMD_IMPORT_STALE", "10ms")
		quiet := loading()
		for _, id := range []string{interrupted, quiet} {
			status, body := call(t, "GET", base+"/admin/v1/acme/imports/"+id, admin, "")
			if status != 200 || !strings.Contains(body, `"state": "failed"`) || !strings.Contains(body, "scimd stopped while this job ran") {
				t.Fatalf("interrupted job: %d %s", status, body)
			}
		}
		if j, _ := db.ImportJob(ctx, tenant.ID, interrupted); j.State != store.ImportFailed || j.FinishedAt == nil {
			t.Fatalf("the start did not mark the job failed: %+v", j)
		}
		job := postImport(t, base, admin, "userId,email\nann,not-an-email\n", "")
		if job.State != "failed" || job.Report.ErrorCount != 1 || job.Report.Errors[0].Line != 2 || job.Report.Errors[0].Column != 2 {
			t.Fatalf("bad file: %+v", job)
		}
		if status, _ := call(t, "GET", base+"/admin/v1/beta/imports/"+job.ID, other, ""); status != 404 {
			t.Fatalf("another tenant's job: %d", status)
		}
		if status, _ := call(t, "GET", base+"/admin/v1/acme/imports/not-a-uuid", admin, ""); status != 404 {
			t.Fatalf("a bad id: %d", status)
		}
		if status, body := call(t, "POST", base+"/admin/v1/acme/imports", admin, "userId,email\n"); status != 415 {
			t.Fatalf("not text/csv: %d %s", status, body)
		}
		req, _ := http.NewRequest("POST", base+"/admin/v1/acme/imports?accept=x", strings.NewReader("userId,email\n"))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "text/csv")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 400 {
			t.Fatalf("bad accept: %v %v", res.StatusCode, err)
		}
	})
}

// TestImportRows: a cohort puts a learner in "Class of YYYY", a DELETE row
// removes a user (SCIM GET 404), one bad row loads nothing and names its
// line and column, an empty file says so, and revised records load as
// --accept decides; two rows for one person name both lines.
func TestImportRows(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		okta := newToken(t, dsn, "acme", "okta")
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		base := serveImports(t, dsn)
		if status, body := call(t, "POST", base+"/admin/v1/acme/groups", admin, `{"displayName":"Class of 2030"}`); status != 201 {
			t.Fatalf("group: %d %s", status, body)
		}
		code, out, errOut := importFile(t, dsn, "userId,email,gradYear,roles\nlea,lea@example.com,2030,a\nmo,mo@example.com,,a|b\n")
		if code != 0 || !strings.Contains(out, "Users loaded: 2 added, 0 updated, 0 deleted, 2 roles added") {
			t.Fatalf("cohort: %d %s %s", code, out, errOut)
		}
		grants := func(userName string) (string, string) {
			t.Helper()
			_, body := call(t, "GET", base+"/admin/v1/acme/users?q="+userName, admin, "")
			var list struct{ Users []struct{ ID string } }
			json.Unmarshal([]byte(body), &list)
			if len(list.Users) != 1 {
				t.Fatalf("users %s: %s", userName, body)
			}
			_, body = call(t, "GET", base+"/admin/v1/acme/users/"+list.Users[0].ID, admin, "")
			var u struct {
				Grants []struct{ Kind, Target string }
			}
			json.Unmarshal([]byte(body), &u)
			var out []string
			for _, g := range u.Grants {
				out = append(out, g.Kind+":"+g.Target)
			}
			return list.Users[0].ID, strings.Join(out, ",")
		}
		if _, g := grants("lea"); !strings.Contains(g, "group:Class of 2030") {
			t.Fatalf("lea's grants: %s", g)
		}

		// One bad row of three: nothing loads, the row and column named.
		code, out, errOut = importFile(t, dsn, "userId,email\nx1,x1@example.com\nx2,x2@\nx3,x3@example.com\n")
		if code != exitInvalid || !strings.Contains(out, "line 3, column 2 (email): ") || !strings.Contains(errOut, "Users file has 1 error: nothing loaded") {
			t.Fatalf("bad row: %d %q %q", code, out, errOut)
		}
		if code, out, _ := importFile(t, dsn, "userId,email\nx1,x1@example.com\n", "--dry-run"); code != 0 || !strings.Contains(out, "1 added") {
			t.Fatalf("x1 was written: %d %s", code, out)
		}
		if code, out, _ := importFile(t, dsn, ""); code != 0 || out != "Users file is empty\n" {
			t.Fatalf("empty: %d %q", code, out)
		}
		// Two rows for one person: a conflict naming both lines.
		code, out, _ = importFile(t, dsn, "userId,email\nz1,z@example.com\nz2,Z@example.com\n")
		if code != exitInvalid || !strings.Contains(out, "line 3, column 2 (email): the same person as line 2") {
			t.Fatalf("duplicate: %d %q", code, out)
		}

		// Revised records: lea a→b (line 2), mo a|b→a (line 3).
		revised := "userId,email,roles\nlea,lea@example.com,b\nmo,mo@example.com,a\n"
		if code, out, _ := importFile(t, dsn, revised); code != exitInvalid || !strings.Contains(out, "line 2: lea") || !strings.Contains(out, "line 3: mo") {
			t.Fatalf("undecided: %d %q", code, out)
		}
		if code, out, _ := importFile(t, dsn, revised, "--accept", "none"); code != 0 || !strings.Contains(out, "0 updated, 0 deleted, 0 roles added, 2 skipped") {
			t.Fatalf("none: %d %q", code, out)
		}
		if _, g := grants("mo"); g != "role:a,role:b" {
			t.Fatalf("mo after none: %s", g)
		}
		// A line that is no decision (a typo: 4 for 3) loads nothing.
		if code, out, _ := importFile(t, dsn, revised, "--accept", "3,4"); code != exitInvalid || !strings.Contains(out, "accept names line 4, which is not a row waiting for a decision") {
			t.Fatalf("accept 3,4: %d %q", code, out)
		}
		if _, g := grants("mo"); g != "role:a,role:b" {
			t.Fatalf("mo after a refused accept: %s", g)
		}
		if code, out, _ := importFile(t, dsn, revised, "--accept", "3"); code != 0 || !strings.Contains(out, "1 updated, 0 deleted, 0 roles added, 1 skipped") {
			t.Fatalf("line 3: %d %q", code, out)
		}
		if _, g := grants("mo"); g != "role:a" {
			t.Fatalf("mo after line 3: %s", g)
		}
		if _, g := grants("lea"); !strings.Contains(g, "role:a") {
			t.Fatalf("lea after line 3: %s", g)
		}
		if code, out, _ := importFile(t, dsn, revised, "--accept", "all"); code != 0 || !strings.Contains(out, "Users loaded: 0 added, 1 updated") {
			t.Fatalf("all: %d %q", code, out)
		}
		if _, g := grants("lea"); strings.Contains(g, "role:a") || !strings.Contains(g, "role:b") {
			t.Fatalf("lea after all: %s", g)
		}

		// A DELETE row: SCIM answers 404 for the user.
		id, _ := grants("mo")
		if status, _ := call(t, "GET", base+"/scim/v2/acme/Users/"+id, okta, ""); status != 200 {
			t.Fatalf("SCIM GET before: %d", status)
		}
		if code, out, _ := importFile(t, dsn, "userId,email,transaction\nmo,mo@example.com,DELETE\n"); code != 0 || !strings.Contains(out, "0 updated, 1 deleted") {
			t.Fatalf("delete: %d %q", code, out)
		}
		if status, _ := call(t, "GET", base+"/scim/v2/acme/Users/"+id, okta, ""); status != 404 {
			t.Fatalf("SCIM GET after DELETE: %d", status)
		}
	})
}

// TestImportSample: the sample has every column of the layout and loads.
func TestImportSample(t *testing.T) {
	code, out, _ := scimd(t, nil, "import", "--sample")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "userId,tenant,firstName,lastName,email,") || !strings.Contains(lines[0], ",gradYear,") {
		t.Fatalf("sample: %d %q", code, out)
	}
	dsn := storetest.SQLiteDSN(t)
	newToken(t, dsn, "acme", "okta")
	if code, out, errOut := importFile(t, dsn, out); code != 0 || !strings.Contains(out, "Users loaded: 1 added") {
		t.Fatalf("sample load: %d %q %q", code, out, errOut)
	}
}

// TestImportKill9: scimd import of 50,000 rows killed (SIGKILL) mid-load
// leaves none of them.
func TestImportKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds scimd and loads 50,000 rows")
	}
	bin := filepath.Join(t.TempDir(), "scimd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	var b strings.Builder
	b.WriteString("userId,email,firstName,lastName,roles\n")
	for i := range 50_000 {
		fmt.Fprintf(&b, "k%05d,k%05d@example.com,Kim,Number %d,learner\n", i, i, i)
	}
	file := filepath.Join(t.TempDir(), "big.csv")
	os.WriteFile(file, []byte(b.String()), 0o600)
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		newToken(t, dsn, "acme", "okta")
		cmd := exec.Command(bin, "import", "--tenant", "acme", "--progress", "--database-url", dsn, file)
		stderr := &lockedBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for !regexp.MustCompile(`loading: \[[#.]+\] [1-9]\d*000/`).MatchString(stderr.String()) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no progress: %s", stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		t.Logf("killed at %s", lastProgress(stderr.String()))
		if code, out, errOut := scimd(t, nil, "user", "list", "--tenant", "acme", "--database-url", dsn); code != 0 || strings.Contains(out, "k0") {
			t.Fatalf("users after kill: %d %q %q", code, out, errOut)
		}
		// Run to its end, the same import loads every row.
		start := time.Now()
		out, err := exec.Command(bin, "import", "--tenant", "acme", "--database-url", dsn, file).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Users loaded: 50000 added") {
			t.Fatalf("import: %v %s", err, out)
		}
		t.Logf("50,000 rows in %v: %.0f rows/s", time.Since(start), 50_000/time.Since(start).Seconds())
	})
}

func lastProgress(s string) string {
	parts := strings.Split(s, "\r")
	return parts[len(parts)-1]
}
