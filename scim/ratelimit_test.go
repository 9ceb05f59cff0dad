package scim_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestRateLimit floods one connector: it gets 429s with a SCIM error and
// Retry-After, while another connector of its tenant and a connector of
// another tenant are served as if nothing happened, and the flooding one
// is served again once it waits as told.
func TestRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := newServer(t, db, scim.Config{RateLimit: 1, RateBurst: 3})
		flood := newClient(t, db, srv, "acme", "okta")
		sibling := newClient(t, db, srv, "acme", "entra")
		other := newClient(t, db, srv, "globex", "okta")

		var limited response
		served := 0
		start := time.Now()
		for range 10 {
			r := flood.do("GET", "/Users", nil)
			switch r.status {
			case http.StatusOK:
				served++
			case http.StatusTooManyRequests:
				limited = r
			default:
				t.Fatalf("flood: %d %s", r.status, r.raw)
			}
		}
		// 3 of burst, and 1 a second since.
		if most := 3 + int(time.Since(start).Seconds()) + 1; served > most || limited.status == 0 {
			t.Fatalf("flood: %d of 10 served in %v, want at most %d and a 429", served, time.Since(start), most)
		}
		limited.wantError(t, http.StatusTooManyRequests, "", "Retry-After")
		after, err := strconv.Atoi(limited.header.Get("Retry-After"))
		if err != nil || after != 1 {
			t.Fatalf("Retry-After %q, want 1 (one token at 1 a second)", limited.header.Get("Retry-After"))
		}
		for _, c := range []*client{sibling, other, sibling, other, sibling, other} {
			c.do("GET", "/Users", nil).want(t, http.StatusOK)
		}
		time.Sleep(time.Duration(after) * time.Second)
		flood.do("GET", "/Users", nil).want(t, http.StatusOK)
	})
}
