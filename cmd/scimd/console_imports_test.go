package main

import (
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store/storetest"
)

// upload is a multipart form as the import page sends it: fields in
// order (name, value), then the file, whose bytes come from file.
func upload(t *testing.T, c *http.Client, u string, fields []string, file io.Reader) (*http.Response, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for i := 0; i+1 < len(fields); i += 2 {
			if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if file != nil {
			f, err := mw.CreateFormFile("file", "users.csv")
			if err == nil {
				_, err = io.Copy(f, file)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest("POST", u, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	pr.Close()
	return res, string(b)
}

// repeat is an endless CSV body: one row, again and again.
type repeat struct{ row []byte }

func (r repeat) Read(p []byte) (int, error) {
	n := 0
	for n+len(r.row) <= len(p) {
		n += copy(p[n:], r.row)
	}
	if n == 0 {
		n = copy(p, r.row)
	}
	return n, nil
}

// TestConsoleImportUpload: the upload takes its CSRF token from the
// form's first field only, before any byte of the file, and starts no
// job without it; a good upload goes on to its job, whose held file the
// load form loads; a file past the import limit is refused (413) while
// it streams through, never held in memory; the export streams a CSV
// download, and its errors are console pages.
func TestConsoleImportUpload(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		c := w.signIn(w.bootstrap())
		imports := w.srv.URL + "/console/acme/imports"
		res, page := do(t, c, "GET", imports, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, `enctype="multipart/form-data"`) {
			t.Fatalf("import page: %d %s", res.StatusCode, page)
		}
		csrf := csrfField.FindStringSubmatch(page)[1]
		jobs := func() int {
			t.Helper()
			status, body := call(t, "GET", w.srv.URL+"/admin/v1/acme/imports", w.admin, "")
			var out struct{ Imports []json.RawMessage }
			if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
				t.Fatalf("jobs: %d %s", status, body)
			}
			return len(out.Imports)
		}
		good := "userId,email\nzed,zed@example.com\n"
		for _, try := range []struct {
			name   string
			fields []string
			status int
		}{
			{"no token", []string{"connector", "csv"}, http.StatusForbidden},
			{"a wrong token", []string{"csrf", "x" + csrf, "connector", "csv"}, http.StatusForbidden},
			{"the token after another field", []string{"connector", "csv", "csrf", csrf}, http.StatusForbidden},
		} {
			if res, page := upload(t, c, imports, try.fields, strings.NewReader(good)); res.StatusCode != try.status {
				t.Errorf("upload with %s: %d %s", try.name, res.StatusCode, page)
			}
		}
		if res, page := upload(t, browser(t), imports, []string{"csrf", csrf}, strings.NewReader(good)); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("upload without a session: %d %s", res.StatusCode, page)
		}
		if res, _ := do(t, c, "POST", imports, url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a form that is not multipart: %d", res.StatusCode)
		}
		if res, page := upload(t, c, imports, []string{"csrf", csrf, "dryRun", "true"}, nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "choose the CSV file") {
			t.Errorf("no file: %d %s", res.StatusCode, page)
		}
		if n := jobs(); n != 0 {
			t.Fatalf("refused uploads started %d job(s)", n)
		}

		res, page = upload(t, c, imports, []string{"csrf", csrf, "connector", "csv", "dryRun", "true"}, strings.NewReader(good))
		job := strings.TrimPrefix(res.Header.Get("Location"), "/console/acme/imports/")
		if res.StatusCode != http.StatusSeeOther || job == res.Header.Get("Location") {
			t.Fatalf("upload: %d %q %s", res.StatusCode, res.Header.Get("Location"), page)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(page, "Load the file") {
			if time.Now().After(deadline) {
				t.Fatalf("the dry run's page offers no load: %s", page)
			}
			time.Sleep(20 * time.Millisecond)
			_, page = do(t, c, "GET", imports+"/"+job, nil, "HX-Request", "true")
		}
		if strings.Contains(page, "<html") || strings.Contains(page, "hx-trigger") {
			t.Errorf("htmx's copy of an ended job: the whole page, or still polling: %s", page)
		}
		load := imports + "/" + job + "/load"
		if res, _ := do(t, c, "POST", load, url.Values{}); res.StatusCode != http.StatusForbidden {
			t.Errorf("load without the token: %d", res.StatusCode)
		}
		res, page = do(t, c, "POST", load, url.Values{"csrf": {csrf}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/acme/imports/") {
			t.Fatalf("load: %d %s", res.StatusCode, page)
		}
		loaded := w.srv.URL + res.Header.Get("Location")
		for !strings.Contains(page, "Users loaded: 1 added") {
			if time.Now().After(deadline) {
				t.Fatalf("the load's page shows no summary: %s", page)
			}
			time.Sleep(20 * time.Millisecond)
			_, page = do(t, c, "GET", loaded, nil)
		}
		if res, page := do(t, c, "POST", load, url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusConflict || !strings.Contains(page, "post the file again") {
			t.Errorf("a second load: %d %s", res.StatusCode, page)
		}

		// Past the limit (100 MiB): the admin API's 413, as a console
		// page, and the file never in memory.
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		big := io.MultiReader(strings.NewReader("userId,email\n"), io.LimitReader(repeat{[]byte("someone,someone@example.com\n")}, 101<<20))
		res, page = upload(t, c, imports, []string{"csrf", csrf, "dryRun", "true"}, big)
		runtime.ReadMemStats(&after)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "larger than the 104857600 bytes") {
			t.Errorf("too large: %d %s", res.StatusCode, page)
		}
		if grew := (after.TotalAlloc - before.TotalAlloc) >> 20; grew > 24 {
			t.Errorf("a 101 MiB upload allocated %d MiB: it was held, not streamed", grew)
		} else {
			t.Logf("a 101 MiB upload allocated %d MiB in all", grew)
		}

		res, csv := do(t, c, "GET", w.srv.URL+"/console/acme/export", nil)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			res.Header.Get("Content-Disposition") != "attachment; filename=users-acme.csv" || res.Header.Get("Content-Security-Policy") == "" ||
			!strings.HasPrefix(csv, "userId,") || !strings.Contains(csv, "zed@example.com") || !strings.Contains(csv, "ann@example.com") {
			t.Errorf("export: %d %v\n%s", res.StatusCode, res.Header, csv)
		}
		if res, page := do(t, c, "GET", w.srv.URL+"/console/acme/export?connector=nosuch", nil); res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("export of an unknown connector: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), page)
		}
	})
}
