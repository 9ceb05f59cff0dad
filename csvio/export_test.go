package csvio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/csvio"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// schools are two tenants with a csv connector each, which may create the
// roles, groups and org units their files name.
const schools = `
tenants:
  - name: acme
    connectors:
      - name: csv
        kind: csv
        allow: {roles: ["*"], groups: ["*"], orgUnits: [School]}
        create: {roles: true, groups: true, orgUnits: true}
  - name: globex
    connectors:
      - name: csv
        kind: csv
        allow: {roles: ["*"], groups: ["*"], orgUnits: [School]}
        create: {roles: true, groups: true, orgUnits: true}
`

// school is a tenant's csv connector on db, as its importer.
func school(t testing.TB, db *store.DB, tenant string) (*reconcile.Engine, store.Principal) {
	t.Helper()
	cfg, err := rules.Load("schools.yaml", []byte(schools))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var p store.Principal
	err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ten, conn, err := tx.EnsureConnector(ctx, tenant, "csv")
		p = store.Principal{TenantID: ten.ID, TenantName: ten.Name, ConnectorID: conn.ID, ConnectorName: conn.Name}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e := reconcile.New(db, cfg)
	by := reconcile.CommandLine
	by.TenantID, by.TenantName = p.TenantID, p.TenantName
	if _, err := e.CreateGroup(ctx, by, "Class of 2027"); err != nil {
		t.Fatal(err)
	}
	return e, p
}

// seedHeader are the columns of the files seed writes.
var seedHeader = []string{"userId", "externalId", "email", "altEmail", "prefix", "firstName", "lastName", "enabled", "status",
	"roles", "groups", "orgUnit", "accessStart", "accessFinish", "reportsTo", "phone", "notes", "gender", "gradYear", "notifyIfNewUser"}

// seedUser is user i of a seed file: every kind of value an export writes,
// formula-like ones among them.
func seedUser(prefix string, i int) []string {
	pick := func(n int, vs ...string) string { return vs[n%len(vs)] }
	id, userName := fmt.Sprintf("%s%05d", prefix, i), seedUserName(prefix, i)
	alt, reportsTo, phone, start, finish := "", "", "", "", ""
	if i%3 == 0 {
		alt = "alt." + id + "@example.org"
	}
	if i%20 == 5 {
		reportsTo = seedUserName(prefix, i-5)
	}
	if i%9 == 0 {
		phone = fmt.Sprintf("+44 20 7946 %04d", i%10000)
	}
	switch i % 8 {
	case 0:
		start, finish = "2026-01-01 08:00:00", "2027-07-31 17:30:00"
	case 1:
		finish = "2026-12-31 23:59:59"
	}
	status := pick(i, "active", "active", "active", "disabled", "pending", "active", "active", "active", "active", "active")
	enabled := "true"
	if status == "disabled" {
		enabled = "false"
	}
	return []string{userName, "E" + id, id + "@example.com", alt, pick(i, "Dr.", "", "Ms.", "", ""),
		pick(i, "=HYPERLINK(\"http://x\")", "-Jo", "@Ann", "+Bea", "Ann", "'=Cy", "NULL"),
		pick(i, "Last"+id, "O'Neil", "Smith, Jr.", "Tab\tin"),
		enabled, status,
		pick(i, "", "student", "teacher|-admin", "@ops|=calc|student"),
		pick(i, "Staff", "=Evil group|Staff", ""),
		pick(i, "", "School/Year1", "School/Year2", "School/=Odd", "School/Year4", "School"),
		start, finish, reportsTo, phone,
		pick(i, "=1+2", "'=already guarded", "two\nlines, \"quoted\"", "", "", "", "", "", "", "", "", "", ""),
		pick(i, "F", "M", "NB"), pick(i, "2027", "", "", "", "", "", "", "", "", "", "", "", "", "", ""), "false"}
}

// seedUserName is the userName of user i of a seed file; some start
// with + (and are guarded in a file).
func seedUserName(prefix string, i int) string {
	if i%101 == 0 {
		return fmt.Sprintf("+%s%05d", prefix, i)
	}
	return fmt.Sprintf("%s%05d", prefix, i)
}

// seedFile is a CSV file of n users, its cells guarded as an export's.
func seedFile(prefix string, n int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(seedHeader)
	for i := range n {
		rec := seedUser(prefix, i)
		for j := range rec {
			rec[j] = csvio.Guard(rec[j])
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

// load imports a file by the default layout.
func load(t testing.TB, e *reconcile.Engine, p store.Principal, file []byte) *reconcile.LoadResult {
	t.Helper()
	f, err := csvio.Open(bytes.NewReader(file), csvio.DefaultLayout(), p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Load(context.Background(), p, f.All(), reconcile.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, le := range res.Errors[:min(len(res.Errors), 5)] {
		t.Errorf("line %d: %v", le.Line, le.Err)
	}
	return res
}

func export(t testing.TB, db *store.DB, p store.Principal) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := csvio.Export(context.Background(), db.Reader(), &buf, csvio.DefaultLayout(), p)
	if err != nil {
		t.Fatalf("export: %v (%d rows)", err, n)
	}
	return buf.Bytes()
}

// records reads an export: its header and its rows by userId.
func records(t testing.TB, file []byte) ([]string, map[string][]string) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(file))
	all, err := r.ReadAll()
	if err != nil || len(all) == 0 {
		t.Fatalf("export is not CSV: %v", err)
	}
	byUser := map[string][]string{}
	for _, rec := range all[1:] {
		byUser[rec[0]] = rec
	}
	return all[0], byUser
}

// checkCells fails on any cell a spreadsheet would run.
func checkCells(t testing.TB, file []byte) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(file))
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for col, c := range rec {
			if c != "" && strings.ContainsRune("=+-@\t\r\x00", rune(c[0])) || strings.EqualFold(c, "NULL") {
				t.Fatalf("line %d, column %d: the cell %q reaches the export unguarded", line, col+1, c)
			}
		}
	}
}

// TestExportRoundTrip10k: an export of 10,000 users holds what they were
// loaded with, re-imported changes nothing, and exported again is the same
// file, byte for byte.
func TestExportRoundTrip10k(t *testing.T) {
	const n = 10_000
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, p := school(t, db, "acme")
		if res := load(t, e, p, seedFile("u", n)); res.Added != n || !res.Committed {
			t.Fatalf("seed: %d added, %d errors", res.Added, res.ErrorCount)
		}
		first := export(t, db, p)
		checkCells(t, first)
		header, byUser := records(t, first)
		if !slices.Equal(header, csvio.DefaultLayout().Headers()) || len(byUser) != n {
			t.Fatalf("export: header %v, %d users", header, len(byUser))
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		for i := range n {
			want := seedUser("u", i)
			got := byUser[csvio.Guard(want[0])]
			if got == nil {
				t.Fatalf("user %q is not in the export", want[0])
			}
			for j, h := range seedHeader {
				w, g := csvio.Guard(want[j]), got[col[h]]
				if h == "roles" || h == "groups" {
					w, g = sorted(want[j]), sorted(unguarded(g))
				}
				if h != "notifyIfNewUser" && g != w {
					t.Fatalf("user %q: %s is %q, want %q", want[0], h, g, w)
				}
			}
			if got[col["tenant"]] != "acme" {
				t.Fatalf("user %q: tenant %q", want[0], got[col["tenant"]])
			}
		}

		res := load(t, e, p, first)
		if res.Added != 0 || res.Updated != 0 || res.ErrorCount != 0 || res.Unchanged != n {
			t.Fatalf("re-import of the export: %d added, %d updated, %d unchanged, %d errors",
				res.Added, res.Updated, res.Unchanged, res.ErrorCount)
		}
		if second := export(t, db, p); !bytes.Equal(first, second) {
			t.Fatalf("the second export differs from the first (%d and %d bytes)", len(first), len(second))
		}
	})
}

// unguarded is the value of a guarded cell.
func unguarded(cell string) string {
	if v, ok := strings.CutPrefix(cell, "'"); ok && csvio.Guard(v) == cell {
		return v
	}
	return cell
}

// sorted is a |-list's names in order, for comparing as sets.
func sorted(list string) string {
	names := strings.Split(list, "|")
	slices.Sort(names)
	return strings.Join(names, "|")
}

// TestRevisionKeepsCohort: a revision that leaves the gradYear column out,
// or spells its header another way, states nothing about the cohort: the
// learner stays in "Class of 2027" (the rule is named after the layout's
// column, not the file's header).
func TestRevisionKeepsCohort(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, p := school(t, db, "acme")
		load(t, e, p, []byte("userId,email,gradYear,roles\nlea,lea@example.com,2027,student\n"))
		for _, file := range []string{
			"userId,email,roles\nlea,lea@example.com,student\n",
			"userId,email,Grad Year,roles\nlea,lea@example.com,,student\n",
		} {
			if res := load(t, e, p, []byte(file)); res.Updated != 0 || res.DecisionCount != 0 {
				t.Errorf("%q: %d updated, %d decisions %+v, want nothing to change", file, res.Updated, res.DecisionCount, res.Decisions)
			}
		}
	})
}

// policyWorld is acme's engine under reconcile's configuration of write
// policies (hr writes names onCreate and phone numbers ifEmpty), the hr file's
// principal, and a function that creates a user as okta pushes one.
func policyWorld(t *testing.T, db *store.DB) (*reconcile.Engine, store.Principal, func(attrs map[string]any) store.User) {
	t.Helper()
	ctx := context.Background()
	file := "../reconcile/testdata/writepolicy.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.Load(file, data)
	if err != nil {
		t.Fatal(err)
	}
	ps := map[string]store.Principal{}
	err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		for _, name := range []string{"okta", "hr"} {
			ten, conn, err := tx.EnsureConnector(ctx, "acme", name)
			if err != nil {
				return err
			}
			ps[name] = store.Principal{TenantID: ten.ID, TenantName: ten.Name, ConnectorID: conn.ID, ConnectorName: conn.Name}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := reconcile.New(db, cfg)
	push := func(attrs map[string]any) store.User {
		t.Helper()
		p, err := e.Apply(ctx, reconcile.Input{Source: reconcile.SourceSCIM, Principal: ps["okta"], Kind: reconcile.KindUser,
			Op: reconcile.Create, Attrs: attrs})
		if err != nil {
			t.Fatal(err)
		}
		return *p.User
	}
	return e, ps["hr"], push
}

func importCSV(t *testing.T, e *reconcile.Engine, by store.Principal, file string) *csvio.Report {
	t.Helper()
	rep, err := csvio.Import(context.Background(), e, by, csvio.DefaultLayout(), strings.NewReader(file), csvio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func storedUser(t *testing.T, db *store.DB, by store.Principal, id string) store.User {
	t.Helper()
	u, err := db.User(context.Background(), by.TenantID, 0, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestImportWritePolicies: a file's names are written onCreate and its
// phone numbers ifEmpty, into a user okta created and one the file
// creates, on a first and a second import.
func TestImportWritePolicies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, hr, push := policyWorld(t, db)
		ann := push(map[string]any{"userName": "ann", "name": map[string]any{"givenName": "Ann", "familyName": "Okta"}})
		rep := importCSV(t, e, hr, "userId,email,firstName,lastName,phone\n"+
			"ann,ann@example.com,Annie,File,+44 20 7946 0001\n"+
			"bob,bob@example.com,Bob,File,+44 20 7946 0002\n")
		if !rep.Committed || rep.Added != 1 || rep.Updated != 1 {
			t.Fatalf("first import: %+v", rep)
		}
		bob := rep.Created[0].ID
		rep = importCSV(t, e, hr, "userId,email,firstName,lastName,phone\n"+
			"ann,ann@example.com,Anna,Again,+44 20 7946 0003\n"+
			"bob,bob@example.com,Robert,Again,+44 20 7946 0004\n")
		if !rep.Committed || rep.ErrorCount != 0 {
			t.Fatalf("second import: %+v", rep)
		}
		for _, c := range []struct {
			id, given, phone string
		}{{ann.ID, "Ann", "+44 20 7946 0001"}, {bob, "Bob", "+44 20 7946 0002"}} {
			u := storedUser(t, db, hr, c.id)
			name, _ := u.Attrs["name"].(map[string]any)
			phones, _ := u.Attrs["phoneNumbers"].([]any)
			phone := ""
			if len(phones) == 1 {
				phone, _ = phones[0].(map[string]any)["value"].(string)
			}
			if name["givenName"] != c.given || phone != c.phone {
				t.Errorf("%s: givenName %v, phone %q; want %s (onCreate) and %s (ifEmpty)", u.UserName, name["givenName"], phone, c.given, c.phone)
			}
		}
	})
}

// TestImportLocalUser: a row that matches a local user fails at its line
// and the userId column, nothing is written, the refusal is audited.
func TestImportLocalUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, hr, push := policyWorld(t, db)
		root := push(map[string]any{"userName": "root", "title": "Ops"})
		root, err := e.SetUserLocal(ctx, store.Principal{TenantID: hr.TenantID, TenantName: hr.TenantName}, root.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		rep := importCSV(t, e, hr, "email,userId,firstName\nnew@example.com,new,New\nroot@example.com,root,Root\n")
		if rep.Committed || rep.ErrorCount != 1 || len(rep.Created) != 0 {
			t.Fatalf("import: %+v", rep)
		}
		if p := rep.Errors[0]; p.Line != 3 || p.Column != 2 || p.Header != "userId" || !strings.Contains(p.Message, "root ("+root.ID+"), a local account") {
			t.Fatalf("problem %+v, want line 3, column 2 (userId), naming the local account", p)
		}
		if got := storedUser(t, db, hr, root.ID); got.Version != root.Version {
			t.Fatalf("local user written: version %d, was %d", got.Version, root.Version)
		}
		if n, err := db.CountLiveUsers(ctx, hr.TenantID); err != nil || n != 1 {
			t.Fatalf("%d users (%v), want root only", n, err)
		}
		events, err := db.AuditEvents(ctx, hr.TenantID, root.ID)
		if err != nil {
			t.Fatal(err)
		}
		refused := false
		for _, ev := range events {
			refused = refused || ev.Action == "refuse" && ev.Source == "csv" && ev.Detail["reason"] == "local"
		}
		if !refused {
			t.Fatalf("no refusal event in %+v", events)
		}
	})
}
