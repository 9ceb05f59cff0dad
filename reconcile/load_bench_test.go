package reconcile_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/schema"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkLoad loads SCIMD_LOAD_ROWS new users (default 20,000) through
// Engine.Load, with a role each, and measures in the same run the
// batched-insert ceiling (rawCeiling): the very rows the load wrote, written
// again by the plain driver in multi-row INSERTs. It reports rows/s of
// both, their ratio, the database rows per CSV row, the peak heap and the
// process's peak RSS.
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
				if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
					var err error
					tenant, conn, err = tx.EnsureConnector(ctx, fmt.Sprint("load", time.Now().UnixNano()), "csv")
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
				rss := peakRSS() // before the ceiling, which holds its rows in memory
				ceiling, users, written := rawCeiling(b, d.dsn, db.Dialect(), tenant.ID)
				rate, ceil := float64(n)/load.Seconds(), float64(users)/ceiling.Seconds()
				b.ReportMetric(rate, "rows/s")
				b.ReportMetric(ceil, "ceiling-rows/s")
				b.ReportMetric(rate/ceil, "ratio")
				b.ReportMetric(float64(written)/float64(users), "db-rows/row")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(rss, "peak-rss-MB")
			}
		})
	}
}

// ceilingTables are the tables a load of new users writes (user_emails
// too, by the users trigger, both times), children after users; each query
// reads the tenant's rows.
var ceilingTables = []struct{ table, query string }{
	{"users", "SELECT * FROM users WHERE pk IN " + ceilingSample},
	{"user_external_ids", "SELECT * FROM user_external_ids WHERE user_pk IN " + ceilingSample},
	{"user_links", "SELECT * FROM user_links WHERE user_pk IN " + ceilingSample},
	{"user_attribute_sources", "SELECT * FROM user_attribute_sources WHERE user_pk IN " + ceilingSample},
	{"user_grants", "SELECT * FROM user_grants WHERE user_pk IN " + ceilingSample},
	{"audit_events", "SELECT * FROM audit_events WHERE resource_type = 'User' AND resource_id IN " +
		strings.Replace(ceilingSample, "SELECT pk", "SELECT CAST(id AS text)", 1)},
}

// ceilingSample are the users whose rows the ceiling writes again: the
// tenant's first 100,000, or all of them in a smaller load. Their rows go in
// beside the other users', on indexes of the load's full size, so that the
// rate is the one a load of that size could reach; holding 9 rows each in
// memory, a million users would take gigabytes.
const ceilingSample = "(SELECT pk FROM users WHERE tenant_id = ? ORDER BY pk LIMIT 100000)"

// rawCeiling is the batched-insert ceiling of a load into tenant, measured
// on the same rows: every row the load wrote for the sample of its users
// (ceilingTables, ceilingSample) is read back,
// the users deleted (their rows go with them), and all of it written again
// by the plain driver (database/sql, no bun, no scimd) in multi-row INSERTs
// of a thousand rows, in one transaction, with the values as literals (bun's
// dialect formats them: modernc binds long argument lists slowly, and
// PostgreSQL caps them at 65,535). Audit events are append-only, so theirs
// are written again beside the originals under new ids. It returns how long
// the writing took, for how many users, and how many rows it wrote.
func rawCeiling(b *testing.B, dsn string, d store.Dialect, tenantID int64) (time.Duration, int, int) {
	ctx := context.Background()
	driver, source, gen := "pgx", dsn, schema.NewQueryGen(pgdialect.New())
	if d == store.SQLite {
		path := strings.TrimPrefix(dsn, "sqlite:")
		driver, source, gen = "sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate",
			schema.NewQueryGen(sqlitedialect.New())
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	type table struct {
		name string
		cols []string
		rows [][]any
	}
	var tables []table
	for _, t := range ceilingTables {
		rows, err := raw.QueryContext(ctx, strings.Replace(t.query, "?", strconv.FormatInt(tenantID, 10), 1))
		if err != nil {
			b.Fatal(err)
		}
		cols, _ := rows.Columns()
		tb := table{name: t.table}
		keep := make([]bool, len(cols))
		for i, c := range cols {
			// Audit ids are the table's own.
			if keep[i] = t.table != "audit_events" || c != "id"; keep[i] {
				tb.cols = append(tb.cols, c)
			}
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			var row []any
			for i, v := range vals {
				if !keep[i] {
					continue
				}
				if bs, ok := v.([]byte); ok {
					v = string(bs) // jsonb and text, not bytea
				}
				row = append(row, v)
			}
			tb.rows = append(tb.rows, row)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		tables = append(tables, tb)
	}
	if _, err := raw.ExecContext(ctx, "DELETE FROM users WHERE pk IN "+strings.Replace(ceilingSample, "?", strconv.FormatInt(tenantID, 10), 1)); err != nil {
		b.Fatal(err)
	}
	// The statements are formatted before the clock starts.
	var stmts []string
	written := 0
	for _, t := range tables {
		override := ""
		if t.name == "users" && d == store.Postgres {
			override = " OVERRIDING SYSTEM VALUE" // pk is GENERATED ALWAYS
		}
		for lo := 0; lo < len(t.rows); lo += 1000 {
			q := []byte("INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ")" + override + " VALUES ")
			for i, row := range t.rows[lo:min(lo+1000, len(t.rows))] {
				if i > 0 {
					q = append(q, ", "...)
				}
				q = append(q, '(')
				for j, v := range row {
					if j > 0 {
						q = append(q, ", "...)
					}
					q = gen.Append(q, v)
				}
				q = append(q, ')')
			}
			stmts = append(stmts, string(q))
		}
		written += len(t.rows)
	}
	start := time.Now()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			b.Fatalf("%.200s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), len(tables[0].rows), written
}

// peakRSS is the process's peak resident set size in MB (VmHWM), 0 where
// /proc does not say.
func peakRSS() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
