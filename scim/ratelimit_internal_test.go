package scim

import (
	"testing"
	"time"

	"github.com/scimd/scimd/store"
)

// TestLimitersBounded: past maxLimiters connectors, the buckets that have
// filled up again are forgotten, and a connector still sending keeps its
// own, empty, bucket.
func TestLimitersBounded(t *testing.T) {
	l := newLimiters(1, 1)
	now := time.Now()
	busy := store.Principal{TenantID: 1, ConnectorID: 1}
	for i := range maxLimiters {
		if d := l.wait(store.Principal{TenantID: 2, ConnectorID: int64(i)}, now); d != 0 {
			t.Fatalf("connector %d's first request waits %v", i, d)
		}
	}
	later := now.Add(2 * time.Second) // every bucket is full again
	l.wait(busy, later)
	if d := l.wait(busy, later); d <= 0 {
		t.Fatalf("a second request at once at 1/s, burst 1: no wait")
	}
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets kept after the sweep, want the busy connector's alone", n)
	}
	if d := l.wait(busy, later); d <= 0 {
		t.Fatal("the busy connector's bucket was forgotten with the others")
	}
}
