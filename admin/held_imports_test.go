package admin

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHeldImportsBounded: held dry-run files are at most maxHeld, the
// oldest removed from disk first; a file lent to a load is neither lent
// twice nor dropped; an expired one goes; a committed load removes it.
func TestHeldImportsBounded(t *testing.T) {
	dir := t.TempDir()
	js := &importJobs{live: map[string]*liveJob{}, held: map[string]*heldFile{}, keep: time.Hour, maxHeld: 2}
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("userId,email\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	a, b, c := file("a"), file("b"), file("c")
	js.hold("a", a)
	time.Sleep(time.Millisecond)
	js.hold("b", b)
	if p, why := js.claim("a"); p != a {
		t.Fatalf("claim a: %q %s", p, why)
	}
	if p, why := js.claim("a"); p != "" || why == "" {
		t.Fatalf("a lent twice: %q", p)
	}
	time.Sleep(time.Millisecond)
	js.hold("c", c)
	// a is busy: b, the oldest idle one, goes for c.
	if !exists(a) || exists(b) || !exists(c) || !js.heldUntil("b").IsZero() || js.heldUntil("c").IsZero() {
		t.Fatalf("after c: a %v b %v c %v", exists(a), exists(b), exists(c))
	}
	if !js.heldUntil("a").IsZero() {
		t.Error("a file lent to a load shows loadable")
	}
	js.release("a", false)
	if js.heldUntil("a").IsZero() || !exists(a) {
		t.Fatal("a load refused did not give the file back")
	}
	js.release("a", true)
	if exists(a) || !js.heldUntil("a").IsZero() {
		t.Fatal("a committed load left its file")
	}
	js.held["c"].expires = time.Now().Add(-time.Second)
	js.sweep()
	if exists(c) || len(js.held) != 0 {
		t.Fatalf("expired c kept: %v %d", exists(c), len(js.held))
	}
}
