package csvio

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, s string) (*Reader, [][]string, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(s))
	if err != nil {
		return nil, nil, err
	}
	var out [][]string
	for {
		rec, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			return r, out, nil
		}
		if err != nil {
			return r, out, err
		}
		out = append(out, append([]string(nil), rec...))
	}
}

func TestReaderSeparatorsBOMAndQuotes(t *testing.T) {
	for name, tc := range map[string]struct {
		in    string
		comma rune
	}{
		"comma":          {"userId,email\r\nann,\"ann@example.com\"\r\n", ','},
		"semicolon":      {"\xEF\xBB\xBFuserId;email\nann;ann@example.com\n", ';'},
		"quoted header":  {"\"a;b\",email\nann,ann@example.com\n", ','},
		"semicolon wins": {"userId;email;notes\nann;ann@example.com;\"x, y\"\n", ';'},
	} {
		t.Run(name, func(t *testing.T) {
			r, recs, err := readAll(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Comma != tc.comma {
				t.Errorf("comma %q, want %q", r.Comma, tc.comma)
			}
			if len(recs) != 1 || len(recs[0]) != len(r.Header()) || recs[0][0] != "ann" {
				t.Errorf("records %q", recs)
			}
			if h := r.Header(); h[0] == "" || strings.HasPrefix(h[0], "\uFEFF") {
				t.Errorf("header %q", h)
			}
		})
	}
}

func TestReaderEmpty(t *testing.T) {
	for _, in := range []string{"", "\xEF\xBB\xBF", "\n\n  \n"} {
		if _, err := NewReader(strings.NewReader(in)); !errors.Is(err, ErrEmpty) {
			t.Errorf("%q: %v, want ErrEmpty", in, err)
		}
	}
}

func TestReaderMalformedNamesTheLine(t *testing.T) {
	for name, tc := range map[string]struct {
		in    string
		line  int
		want  string
		fatal bool
	}{
		"column count": {"a,b\n1,2\n1,2,3\n", 3, "3 fields, but the header line has 2", false},
		"bad quote":    {"a,b\n1,2\n1,x\"y\"\n", 3, "not valid CSV", true},
		"unterminated": {"a,b\n1,2\n\"1,2\n", 3, "not valid CSV", true},
		"nul":          {"a,b\n1,2\n1,\x00\n", 3, "NUL", false},
		"latin1":       {"a,b\n1,2\n1,caf\xe9\n", 3, "not UTF-8", false},
	} {
		t.Run(name, func(t *testing.T) {
			_, recs, err := readAll(t, tc.in)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *FileError", err)
			}
			if fe.Line != tc.line || !strings.Contains(fe.Error(), tc.want) {
				t.Errorf("%v, want line %d and %q", fe, tc.line, tc.want)
			}
			if len(recs) != 1 {
				t.Errorf("%d good records before the error, want 1", len(recs))
			}
		})
	}
}

// TestReaderStreams reads a file larger than any buffer the reader holds
// through a reader that fails when read past what was asked: memory stays
// flat because records are read one at a time.
func TestReaderStreams(t *testing.T) {
	const rows = 200_000
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("userId,email\n"))
		line := []byte("someone,someone@example.com\n")
		for range rows {
			pw.Write(line)
		}
		pw.Close()
	}()
	r, err := NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != rows {
		t.Fatalf("%d rows, want %d", n, rows)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("userId,email\nann,ann@example.com\n")
	f.Add("userId;email\r\n\"a\"\"b\";x\r\n")
	f.Add("\xEF\xBB\xBFa,b\n\"1\n")
	f.Add("a\n\x00\xff\n")
	f.Fuzz(func(t *testing.T, s string) {
		f, err := Open(strings.NewReader(s), DefaultLayout(), testPrincipal)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for row := range f.All() {
			if row.Err != nil && row.Err.Error() == "" {
				t.Fatal("empty row error")
			}
			if row.Line < 1 {
				t.Fatalf("line %d", row.Line)
			}
		}
	})
}
