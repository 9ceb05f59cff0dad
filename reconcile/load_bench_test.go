package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkLoad loads SCIMD_LOAD_ROWS new users (default 20,000) through
// Engine.Load, with a role each, and measures in the same run the
// ceiling: the same user rows in multi-row INSERTs (store.Tx.InsertUsers,
// a thousand rows per statement) in one transaction. It reports rows/s of
// both, their ratio and the peak heap.
//
//	SCIMD_LOAD_ROWS=1000000 go test -run '^$' -bench Load -benchtime 1x ./reconcile
func BenchmarkLoad(b *testing.B) {
	n := 20_000
	if s := os.Getenv("SCIMD_LOAD_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, d := range []struct{ name, dsn string }{
		{"sqlite", storetest.SQLiteDSN(b)},
		{"postgres", storetest.PostgresDSN(b)},
	} {
		b.Run(d.name, func(b *testing.B) {
			for b.Loop() {
				db := storetest.Open(b, d.dsn)
				ctx := context.Background()
				var tenant store.Tenant
				var conn store.Connector
				var other store.Tenant
				if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
					var err error
					if tenant, conn, err = tx.EnsureConnector(ctx, fmt.Sprint("load", time.Now().UnixNano()), "csv"); err != nil {
						return err
					}
					other, _, err = tx.EnsureConnector(ctx, fmt.Sprint("ceiling", time.Now().UnixNano()), "csv")
					return err
				}); err != nil {
					b.Fatal(err)
				}
				e := reconcile.New(db, nil)
				by := store.Principal{TenantID: tenant.ID, TenantName: tenant.Name, ConnectorID: conn.ID, ConnectorName: conn.Name}
				rows := func(yield func(reconcile.LoadRow) bool) {
					for i := range n {
						r := csvRow(i+2, fmt.Sprintf("user%07d", i), "role"+strconv.Itoa(i%5))
						if !yield(r) {
							return
						}
					}
				}
				var peak uint64
				stop := make(chan struct{})
				go func() {
					var m runtime.MemStats
					for {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
							runtime.ReadMemStats(&m)
							peak = max(peak, m.HeapInuse)
						}
					}
				}()
				start := time.Now()
				res, err := e.Load(ctx, by, rows, reconcile.LoadOptions{})
				load := time.Since(start)
				close(stop)
				if err != nil || res.Added != n {
					b.Fatalf("load: %v %+v", err, res.Errors)
				}
				start = time.Now()
				if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
					batch := make([]store.User, 0, 1000)
					for i := range n {
						name := fmt.Sprintf("user%07d", i)
						batch = append(batch, store.User{TenantID: other.ID, UserName: name, Active: true,
							Attrs: user(name, "emails", email(name+"@example.com"))})
						if len(batch) == cap(batch) || i == n-1 {
							if err := tx.InsertUsers(ctx, batch); err != nil {
								return err
							}
							batch = batch[:0]
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				ceiling := time.Since(start)
				b.ReportMetric(float64(n)/load.Seconds(), "rows/s")
				b.ReportMetric(float64(n)/ceiling.Seconds(), "ceiling-rows/s")
				b.ReportMetric(ceiling.Seconds()/load.Seconds(), "ratio")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			}
		})
	}
}
