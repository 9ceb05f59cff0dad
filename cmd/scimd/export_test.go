package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/csvio"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// exportConfig gives each tenant a csv connector; acme's "hr" has a
// layout of its own.
const exportConfig = `
tenants:
  - name: acme
    connectors:
      - name: hr
        kind: csv
        csv:
          columns: {"E-mail": email, "Login": userName, "Staff No": externalId, "Unit": orgUnit}
        allow: {orgUnits: [School]}
        create: {orgUnits: true}
  - name: globex
    connectors:
      - name: hr
        kind: csv
        allow: {orgUnits: [School]}
        create: {orgUnits: true}
`

// seedExport loads n users into tenant through its hr connector, half of
// them in School/A, the rest in School/B.
func seedExport(t *testing.T, dsn, tenant string, n int) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, dsn)
	cfg, err := rules.Load("scimd.yaml", []byte(exportConfig))
	if err != nil {
		t.Fatal(err)
	}
	var p store.Principal
	if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ten, conn, err := tx.EnsureConnector(ctx, tenant, "hr")
		p = store.Principal{TenantID: ten.ID, TenantName: ten.Name, ConnectorID: conn.ID, ConnectorName: conn.Name}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	file.WriteString("userId,email,externalId,orgUnit,firstName,notifyIfNewUser\n")
	for i := range n {
		fmt.Fprintf(&file, "%s%d,%s%d@example.com,S%d,School/%c,'=Name%d,false\n", tenant, i, tenant, i, i, "AB"[i%2], i)
	}
	f, err := csvio.Open(strings.NewReader(file.String()), csvio.DefaultLayout(), p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reconcile.New(db, cfg).Load(ctx, p, f.All(), reconcile.LoadOptions{})
	if err != nil || res.Added != n {
		t.Fatalf("seed %s: %+v %v", tenant, res, err)
	}
}

// TestExportCommandAndAPI: scimd export and GET /admin/v1/{tenant}/export
// write the same file, of the tenant's users only, in the default layout
// or a connector's; an org unit's administrator gets their unit's users.
func TestExportCommandAndAPI(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		os.WriteFile(config, []byte(exportConfig), 0o600)
		environ := map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_CONFIG": config}
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		seedExport(t, dsn, "acme", 30)
		seedExport(t, dsn, "globex", 7)
		unitAdmin := newToken(t, dsn, "acme", "a-admins", "--admin", "--org-unit", "School/A")
		globexAdmin := newToken(t, dsn, "globex", "admins", "--admin")

		code, plain, errOut := scimd(t, environ, "export", "--tenant", "acme")
		if code != 0 || errOut != "Exported 30 users.\n" {
			t.Fatalf("scimd export: %d %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(plain), "\n")
		if len(lines) != 31 || lines[0] != strings.Join(csvio.DefaultLayout().Headers(), ",") ||
			strings.Contains(plain, "globex") || !strings.Contains(plain, ",'=Name3,") {
			t.Fatalf("scimd export wrote:\n%s", plain)
		}
		code, hr, errOut := scimd(t, environ, "export", "--tenant", "acme", "--connector", "hr")
		if code != 0 || !strings.HasPrefix(hr, "E-mail,Login,Staff No,Unit\nacme0@example.com,acme0,S0,School/A\n") {
			t.Fatalf("scimd export --connector hr: %d %s\n%s", code, errOut, hr)
		}
		for _, c := range []struct {
			args []string
			code int
			err  string
		}{
			{[]string{"export", "--tenant", "acme", "--connector", "nope"}, 1, `no connector "nope" in tenant "acme"`},
			{[]string{"export", "--tenant", "initech"}, 1, `no tenant "initech"`},
			{[]string{"export"}, 2, "--tenant is required"},
		} {
			if code, out, errOut := scimd(t, environ, c.args...); code != c.code || out != "" || !strings.Contains(errOut, c.err) {
				t.Errorf("scimd %v: %d %q %q, want %d and %q", c.args, code, out, errOut, c.code, c.err)
			}
		}

		addr := freeAddr(t)
		environ["SCIMD_ADDR"] = addr
		stop := serveInBackground(t, environ)
		defer stop()
		get := func(path, token string) (int, http.Header, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, res.Header, string(b)
		}
		status, h, body := get("/admin/v1/acme/export", admin)
		if status != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" ||
			h.Get("Content-Disposition") != `attachment; filename=users-acme.csv` || body != plain {
			t.Fatalf("GET export: %d %v\n%s", status, h, body)
		}
		if status, _, body := get("/admin/v1/acme/export?connector=hr", admin); status != 200 || body != hr {
			t.Fatalf("GET export?connector=hr: %d\n%s", status, body)
		}
		status, _, body = get("/admin/v1/acme/export?connector=hr", unitAdmin)
		if rows := strings.Split(strings.TrimSpace(body), "\n"); status != 200 || len(rows) != 16 || strings.Contains(body, "School/B") {
			t.Fatalf("an org unit's administrator's export: %d\n%s", status, body)
		}
		status, _, body = get("/admin/v1/globex/export", globexAdmin)
		if rows := strings.Split(strings.TrimSpace(body), "\n"); status != 200 || len(rows) != 8 || strings.Contains(body, "acme") {
			t.Fatalf("globex's export: %d\n%s", status, body)
		}
		if status, _, body := get("/admin/v1/acme/export", globexAdmin); status != 401 || strings.Contains(body, "acme0") {
			t.Fatalf("another tenant's token: %d %s", status, body)
		}
		if status, h, body := get("/admin/v1/acme/export?connector=nope", admin); status != 404 || !bytes.Contains([]byte(h.Get("Content-Type")), []byte("json")) {
			t.Fatalf("an unknown connector: %d %s", status, body)
		}
	})
}
