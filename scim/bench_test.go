package scim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// bigGroup is how many members the large group of BenchmarkLargeGroup has.
const bigGroup = 100_000

// BenchmarkLargeGroup reads a group of 100,000 members and an empty group
// the same ways, on both databases. Without members (excludedAttributes)
// the two must cost the same: compare the "empty" and "100k" lines. With
// members, the response is streamed; peak-heap-MB shows what it held.
//
//	go test -run '^$' -bench LargeGroup -benchtime 20x ./scim
func BenchmarkLargeGroup(b *testing.B) {
	for _, d := range []struct{ name, dsn string }{
		{"sqlite", storetest.SQLiteDSN(b)},
		{"postgres", storetest.PostgresDSN(b)},
	} {
		db := storetest.Open(b, d.dsn)
		c := newClient(b, db, newServer(b, db, scim.Config{}), "acme", "okta")
		ids := map[string]string{"empty": seedGroup(b, db, "acme", "Empty", 0), "100k": seedGroup(b, db, "acme", "Big", bigGroup)}
		filters := map[string]string{"empty": `displayName eq "empty"`, "100k": `displayName eq "big"`}
		for _, size := range []string{"empty", "100k"} {
			b.Run(d.name+"/get-excluding-members/"+size, func(b *testing.B) {
				for b.Loop() {
					c.do("GET", "/Groups/"+ids[size]+"?excludedAttributes=members", nil).want(b, 200)
				}
			})
			b.Run(d.name+"/filter-excluding-members/"+size, func(b *testing.B) {
				for b.Loop() {
					r := c.do("GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(filters[size]), nil).want(b, 200)
					if r.body["totalResults"] != 1.0 {
						b.Fatalf("filter found %v", r.body["totalResults"])
					}
				}
			})
		}
		b.Run(d.name+"/get-with-members/100k", func(b *testing.B) {
			var size int64
			peak := watchHeap()
			for b.Loop() {
				size = getBytes(b, c, "/Groups/"+ids["100k"])
			}
			b.ReportMetric(float64(size)/(1<<20), "body-MB")
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		})
	}
}

// seedGroup creates a group with n new member users, in bulk.
func seedGroup(tb testing.TB, db *store.DB, tenant, name string, n int) string {
	tb.Helper()
	ctx := context.Background()
	var g store.Group
	err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ten, _, err := tx.EnsureConnector(ctx, tenant, "seed")
		if err != nil {
			return err
		}
		users := make([]store.User, n)
		for i := range users {
			u := fmt.Sprintf("%s-member-%06d@example.com", name, i)
			users[i] = store.User{TenantID: ten.ID, UserName: u, Active: true, Attrs: map[string]any{"userName": u, "active": true}}
		}
		if err := tx.InsertUsers(ctx, users); err != nil {
			return err
		}
		g = store.Group{TenantID: ten.ID, DisplayName: name, Attrs: map[string]any{"displayName": name}}
		if err := tx.InsertGroup(ctx, &g); err != nil {
			return err
		}
		members := make([]store.Member, n)
		for i, u := range users {
			members[i] = store.Member{Type: store.MemberUser, PK: u.PK}
		}
		_, err = tx.AddMembers(ctx, g.PK, members)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return g.ID
}

// getBytes reads a response through without keeping it, as a client
// streaming it would, and returns its size.
func getBytes(tb testing.TB, c *client, path string) int64 {
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || res.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return n
}

// watchHeap samples the live heap until the returned function is called,
// which reports the peak above the heap at the start.
func watchHeap() func() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
		}
	}()
	return func() uint64 { close(done); return peak.Load() }
}
