package csvio

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestGuard: every cell a spreadsheet would run starts with ' in the
// export, and the import takes exactly that ' off again.
func TestGuard(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"=1+2", "'=1+2"},
		{"+44 20 7946 0000", "'+44 20 7946 0000"},
		{"-Jo", "'-Jo"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"\rcmd", "'\rcmd"},
		{"\x00", "'\x00"},
		{"NULL", "'NULL"},
		{"null", "'null"},
		{"'=1", "''=1"},
		{"''+1", "'''+1"},
		{"'NULL", "''NULL"},
		{"'quoted'", "'quoted'"},
		{"'", "'"},
		{"", ""},
		{"Ann", "Ann"},
		{"a=b", "a=b"},
		{"NULLS", "NULLS"},
		{" =1", " =1"},
	} {
		if got := Guard(c.in); got != c.out {
			t.Errorf("Guard(%q) = %q, want %q", c.in, got, c.out)
		}
		if got := unguard(c.out); got != c.in {
			t.Errorf("unguard(%q) = %q, want %q", c.out, got, c.in)
		}
	}
}

// alphabet is what random cells are made of: the triggers, the guard,
// NULL's letters, and a few others.
const alphabet = "=+-@\t\r\x00'NULnul a1|,\";\n"

func randomCell(r *rand.Rand) string {
	b := make([]byte, r.IntN(8))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestGuardProperty: over random strings, a guarded cell never starts
// with a trigger, and unguard(Guard(v)) is v.
func TestGuardProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 0))
	for range 20_000 {
		checkGuard(t, randomCell(r))
	}
}

// FuzzGuard is TestGuardProperty under the fuzzer.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"", "=", "'=", "''@", "NULL", "'nUlL", "-1", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) { checkGuard(t, v) })
}

func checkGuard(t *testing.T, v string) {
	t.Helper()
	g := Guard(v)
	if g != "" && strings.IndexByte(formulaLead, g[0]) >= 0 {
		t.Fatalf("Guard(%q) = %q starts with a formula trigger", v, g)
	}
	if strings.EqualFold(g, Null) {
		t.Fatalf("Guard(%q) = %q reads as NULL", v, g)
	}
	if u := unguard(g); u != v {
		t.Fatalf("unguard(Guard(%q)) = %q", v, u)
	}
}

// TestGuardThroughFile: a value written by Writer's CSV and read back by
// the import's reader and cell decoding is the value, for any value the
// import does not trim (its cells are trimmed of spaces).
func TestGuardThroughFile(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 0))
	for range 2_000 {
		v := strings.ReplaceAll(randomCell(r), "\x00", "") // the reader refuses NUL: not a text file
		if strings.TrimSpace(v) != v || v == "" || strings.Contains(v, "\r\n") {
			continue
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"userId", "email", "notes"})
		w.Write([]string{"ann", "ann@example.com", Guard(v)})
		w.Flush()
		rows := rows(t, DefaultLayout(), buf.String())
		if len(rows) != 1 || rows[0].Err != nil {
			t.Fatalf("%q: %+v", v, rows)
		}
		ext, _ := rows[0].In.Attrs["urn:ietf:params:scim:schemas:extension:scimd:2.0:User"].(map[string]any)
		if got := ext["notes"]; got != v {
			t.Fatalf("notes %q read back as %q (file %q)", v, got, buf.String())
		}
	}
}
