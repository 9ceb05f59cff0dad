package admin

import (
	"io"
	"os"
	"testing"
	"time"
)

// TestHeldImportsBounded: held dry-run files are at most maxHeld, the
// oldest closed and removed first; a file lent to a load is neither lent
// twice nor dropped, and reads from its start; an expired one goes; a
// committed load closes it.
func TestHeldImportsBounded(t *testing.T) {
	dir := t.TempDir()
	js := &importJobs{live: map[string]*liveJob{}, held: map[string]*heldFile{}, keep: time.Hour, maxHeld: 2}
	file := func(text string) *os.File {
		f, err := os.CreateTemp(dir, "held-*.csv")
		if err == nil {
			_, err = f.WriteString(text) // left at its end, as a job leaves it
		}
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	open := func(f *os.File) bool {
		_, err := f.Stat()
		_, named := os.Stat(f.Name())
		return err == nil && named == nil
	}
	a, b, c := file("userId,email\na,a@example.com\n"), file("b"), file("c")
	js.hold("a", a)
	time.Sleep(time.Millisecond)
	js.hold("b", b)
	r, why := js.claim("a")
	if r == nil {
		t.Fatalf("claim a: %s", why)
	}
	if text, err := io.ReadAll(r); err != nil || string(text) != "userId,email\na,a@example.com\n" {
		t.Fatalf("a lent: %q %v", text, err)
	}
	if r, why := js.claim("a"); r != nil || why == "" {
		t.Fatal("a lent twice")
	}
	time.Sleep(time.Millisecond)
	js.hold("c", c)
	// a is busy: b, the oldest idle one, goes for c.
	if !open(a) || open(b) || !open(c) || !js.heldUntil("b").IsZero() || js.heldUntil("c").IsZero() {
		t.Fatalf("after c: a %v b %v c %v", open(a), open(b), open(c))
	}
	if !js.heldUntil("a").IsZero() {
		t.Error("a file lent to a load shows loadable")
	}
	js.release("a", false)
	if js.heldUntil("a").IsZero() || !open(a) {
		t.Fatal("a load refused did not give the file back")
	}
	js.release("a", true)
	if open(a) || !js.heldUntil("a").IsZero() {
		t.Fatal("a committed load left its file")
	}
	js.held["c"].expires = time.Now().Add(-time.Second)
	js.sweep()
	if open(c) || len(js.held) != 0 {
		t.Fatalf("expired c kept: %v %d", open(c), len(js.held))
	}
}
