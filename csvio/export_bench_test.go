package csvio_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/csvio"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkExport exports 20,000 and 200,000 users (SQLite and
// PostgreSQL) and reports rows/s and the peak live heap during the
// export, sampled every millisecond: flat, as a streamed export's must be.
//
//	go test -run '^$' -bench Export -benchtime 1x ./csvio/
func BenchmarkExport(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, n := range []int{20_000, 200_000} {
			b.Run(fmt.Sprintf("%s/users=%d", dialect, n), func(b *testing.B) {
				dsn := storetest.SQLiteDSN(b)
				if dialect == "postgres" {
					dsn = storetest.PostgresDSN(b)
				}
				db := storetest.Open(b, dsn)
				e, p := school(b, db, "acme")
				if res := load(b, e, p, seedFile("u", n)); res.Added != n {
					b.Fatalf("seed: %d added", res.Added)
				}
				b.ResetTimer()
				var peak uint64
				for range b.N {
					peak = max(peak, peakHeap(b, db, p, n))
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			})
		}
	}
}

// peakHeap exports the users and returns the largest heap in use while
// it ran.
func peakHeap(b *testing.B, db *store.DB, p store.Principal, n int) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	rows, err := csvio.Export(context.Background(), db.Reader(), io.Discard, csvio.DefaultLayout(), p)
	close(done)
	<-sampled
	if err != nil || rows != n {
		b.Fatalf("export: %d rows, %v", rows, err)
	}
	return peak.Load()
}
