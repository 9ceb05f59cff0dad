package reconcile

import (
	"math"
	"math/big"
	"testing"
)

// TestBase62Checksum: the allocation-free checksum writes what base62 of
// the same number does, so tokens issued before still check.
func TestBase62Checksum(t *testing.T) {
	for _, n := range []uint32{0, 1, 61, 62, 3843, 1 << 31, math.MaxUint32} {
		var got [checksumLen]byte
		base62Checksum(got[:], n)
		if want := base62(big.NewInt(int64(n)), checksumLen); string(got[:]) != want {
			t.Errorf("checksum of %d: %s, want %s", n, got[:], want)
		}
	}
	for range 100 {
		if token, _, _ := newToken(); !wellFormed(token) {
			t.Fatalf("%s: not well formed", token)
		}
	}
}
