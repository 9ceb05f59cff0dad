package csvio

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
)

var testPrincipal = store.Principal{TenantID: 1, TenantName: "acme", ConnectorID: 2, ConnectorName: "csv", Kind: "csv"}

func rows(t *testing.T, layout *Layout, in string) []reconcile.LoadRow {
	t.Helper()
	f, err := Open(strings.NewReader(in), layout, testPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	var out []reconcile.LoadRow
	for r := range f.All() {
		out = append(out, r)
	}
	return out
}

func rowErrors(t *testing.T, r reconcile.LoadRow) []*RowError {
	t.Helper()
	var es RowErrors
	if !errors.As(r.Err, &es) {
		t.Fatalf("line %d: error %v, want RowErrors", r.Line, r.Err)
	}
	return es
}

func TestDecode002Seed(t *testing.T) {
	b, err := os.ReadFile("testdata/002_users.csv")
	if err != nil {
		t.Fatal(err)
	}
	rs := rows(t, DefaultLayout(), string(b))
	if len(rs) != 4 {
		t.Fatalf("%d rows, want 4", len(rs))
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("line %d: %v", r.Line, r.Err)
		}
	}
	in := rs[1].In
	if rs[1].Line != 3 || in.Op != reconcile.Upsert || in.Attrs["userName"] != "jsmith" || in.ManagerUserName != "admin" || in.Notify {
		t.Errorf("row 2: line %d %+v", rs[1].Line, in)
	}
	if name := in.Attrs["name"].(map[string]any); name["givenName"] != "John" || name["familyName"] != "Smith" {
		t.Errorf("name %v", name)
	}
	if em := in.Attrs["emails"].([]any)[0].(map[string]any); em["value"] != "jsmith@example.com" || em["primary"] != true {
		t.Errorf("emails %v", in.Attrs["emails"])
	}
	if in.Attrs["active"] != true {
		t.Errorf("active %v", in.Attrs["active"])
	}
	if ext := in.Attrs[schemas.ScimdUserURN].(map[string]any); ext["taskNotification"] != "OFF" {
		t.Errorf("extension %v", ext)
	}
	if in.Given == nil || !slices.Equal(in.Given.Roles, []string{"Approver", "Reviewer"}) || in.Given.Rule("roles") != "column roles" {
		t.Errorf("given %+v", in.Given)
	}
}

func TestDecodeHeadersAndUnknownColumns(t *testing.T) {
	rs := rows(t, DefaultLayout(), "User Name;E-Mail;First Name;Student Number;gradYear;superiorExternalId;prefix;status\n"+
		"ann;ann@example.com;Ann;S123;2027;boss-1;Dr.;disabled\n")
	r := rs[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.In.Attrs["userName"] != "ann" || r.In.Attrs["Student Number"] != "S123" || r.In.ManagerExternalID != "boss-1" {
		t.Errorf("%+v", r.In)
	}
	if r.In.Attrs["name"].(map[string]any)["honorificPrefix"] != "Dr." {
		t.Errorf("name %v", r.In.Attrs["name"])
	}
	if g := r.In.Given; g.Cohort != "Class of 2027" || g.Status != store.StatusDisabled || g.Rule("cohort") != "column gradYear" {
		t.Errorf("given %+v", g)
	}
	if r.In.Attrs[schemas.ScimdUserURN].(map[string]any)["gradYear"] != float64(2027) {
		t.Errorf("extension %v", r.In.Attrs[schemas.ScimdUserURN])
	}
}

func TestDecodeEmptyKeepsNullClears(t *testing.T) {
	rs := rows(t, DefaultLayout(), "userId,email,firstName,lastName,roles,orgUnit,accessFinish,Custom\n"+
		"ann,ann@example.com,,NULL,,NULL,NULL,\n")
	in := rs[0].In
	if rs[0].Err != nil {
		t.Fatal(rs[0].Err)
	}
	if name := in.Attrs["name"].(map[string]any); len(name) != 1 || name["familyName"] != nil {
		t.Errorf("name %v: want familyName cleared, givenName kept", name)
	}
	if in.Given.Roles != nil || in.Given.OrgUnit == nil || *in.Given.OrgUnit != "" || in.Given.AccessEnd == nil || !in.Given.AccessEnd.IsZero() {
		t.Errorf("given %+v", in.Given)
	}
	if _, ok := in.Attrs["Custom"]; ok {
		t.Errorf("an empty unknown cell is kept: %v", in.Attrs)
	}
	clear := &Layout{}
	*clear = *DefaultLayout()
	clear.clear = true
	in = rows(t, clear, "userId,email,roles,Custom\nann,ann@example.com,,\n")[0].In
	if in.Given == nil || in.Given.Roles == nil || len(in.Given.Roles) != 0 {
		t.Errorf("empty: clear: roles %+v", in.Given)
	}
	if v, ok := in.Attrs["Custom"]; !ok || v != nil {
		t.Errorf("empty: clear: Custom %v", in.Attrs)
	}
}

func TestDecodeCellErrors(t *testing.T) {
	long := strings.Repeat("x", 51)
	rs := rows(t, DefaultLayout(), "userId,tenant,firstName,email,enabled,roles,gender,password,accessStart,prefix,transaction\n"+
		"ann,other,"+long+",not-an-email,maybe,Big Boss,Q,hunter2,yesterday,Sir,REMOVE\n"+
		"bob,acme,Bob,,true,,,,,,\n")
	es := rowErrors(t, rs[0])
	want := map[string]int{"transaction": 11, "tenant": 2, "firstName": 3, "email": 4, "enabled": 5, "gender": 7,
		"password": 8, "roles": 6, "accessStart": 9, "prefix": 10}
	got := map[string]int{}
	for _, e := range es {
		if e.Line != 2 {
			t.Errorf("%v: line %d", e, e.Line)
		}
		got[e.Field] = e.Column
		if !strings.Contains(e.Error(), "line 2, column ") || !strings.Contains(e.Error(), "("+e.Header+")") {
			t.Errorf("message %q names no line, column and header", e)
		}
	}
	for f, col := range want {
		if got[f] != col {
			t.Errorf("%s: column %d, want %d (errors: %v)", f, got[f], col, es)
		}
	}
	if !strings.Contains(RowErrors(es).Error(), "never a plaintext password") {
		t.Errorf("password error: %v", es)
	}
	es = rowErrors(t, rs[1])
	if len(es) != 1 || es[0].Field != "email" || es[0].Column != 4 || !strings.Contains(es[0].Msg, "required") {
		t.Errorf("missing email: %v", es)
	}
}

func TestDecodePasswordHashes(t *testing.T) {
	ok := []string{
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$2y$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
	}
	for _, h := range ok {
		r := rows(t, DefaultLayout(), "userId,email,password\nann,ann@example.com,\""+h+"\"\n")[0]
		if r.Err != nil || r.In.PasswordHash != h {
			t.Errorf("%s: %v %q", h, r.Err, r.In.PasswordHash)
		}
	}
	for _, h := range []string{"secret", "$2a$10$short", "$argon2i$v=19$m=1,t=1,p=1$a$b", "$1$abc$def"} {
		r := rows(t, DefaultLayout(), "userId,email,password\nann,ann@example.com,"+h+"\n")[0]
		if r.Err == nil {
			t.Errorf("%s accepted", h)
		}
	}
}

func TestDecodeCustomLayout003(t *testing.T) {
	l := LayoutOf(&reconcile.CSVLayout{Columns: map[string]string{"Mail": "email", "Team": "groups", "Vorname": "firstName"}, Require: []string{"email"}})
	rs := rows(t, l, "Mail,Team,Vorname,Sprache\nann@example.com,Sales|Support,Ann,de\nNULL,,,\n")
	in := rs[0].In
	if rs[0].Err != nil {
		t.Fatal(rs[0].Err)
	}
	if in.Attrs["userName"] != "ann@example.com" || !slices.Equal(in.Given.Groups, []string{"Sales", "Support"}) || in.Attrs["Sprache"] != "de" {
		t.Errorf("%+v", in)
	}
	if in.Given.Rule("groups") != "column Team" {
		t.Errorf("rule %q", in.Given.Rule("groups"))
	}
	if es := rowErrors(t, rs[1]); es[0].Column != 1 || es[0].Header != "Mail" {
		t.Errorf("%v", es)
	}
	if got := l.Headers(); !slices.Equal(got, []string{"Mail", "Team", "Vorname"}) {
		t.Errorf("headers %v", got)
	}
}

func TestDecodeDeleteAndFormulaGuard(t *testing.T) {
	rs := rows(t, DefaultLayout(), "userId,email,transaction,notes\nann,,DELETE,\nbob,bob@example.com,,'=1+2\n,,delete,\n")
	if rs[0].Err != nil || rs[0].In.Op != reconcile.Delete || rs[0].In.Attrs["userName"] != "ann" {
		t.Errorf("delete row: %v %+v", rs[0].Err, rs[0].In)
	}
	if ext := rs[1].In.Attrs[schemas.ScimdUserURN].(map[string]any); ext["notes"] != "=1+2" {
		t.Errorf("notes %v", ext)
	}
	if es := rowErrors(t, rs[2]); es[0].Field != "transaction" {
		t.Errorf("%v", es)
	}
}

func TestBindHeaderErrors(t *testing.T) {
	for in, want := range map[string]string{
		"userId,email,E-Mail\n": "same header",
		"userId,email,mail\n":   "both fill email",
		"userId,firstName\n":    "no email column",
		"userId,,email\n":       "column 2 has no header",
	} {
		_, err := Open(strings.NewReader(in), DefaultLayout(), testPrincipal)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Line != 1 || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestFileColumnOfAttribute(t *testing.T) {
	f, err := Open(strings.NewReader("userId,email,First Name,reportsTo,Extra\n"), DefaultLayout(), testPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[string]int{"userName": 1, "emails[type eq \"work\"].value": 2, "name.givenName": 3, "manager": 4, "Extra": 5, "title": 0} {
		if col, _ := f.Column(attr); col != want {
			t.Errorf("%s: column %d, want %d", attr, col, want)
		}
	}
}
