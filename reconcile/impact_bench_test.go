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

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkImpact seeds SCIMD_IMPACT_USERS users (default 5,000) with a
// role each through Engine.Load, then measures Engine.Impact of a rule
// edit that moves a tenth of them into an org unit and disables another
// tenth, and in the same run the raw reads of the same rows: the users and
// their grants read page by page by the plain driver. It reports the
// impact's time, the raw reads', their ratio, the peak heap and the peak
// RSS.
//
//	SCIMD_IMPACT_USERS=100000 go test -run '^$' -bench Impact -benchtime 1x ./reconcile
func BenchmarkImpact(b *testing.B) {
	n := 5_000
	if s := os.Getenv("SCIMD_IMPACT_USERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, d := range []struct{ name, dsn string }{
		{"sqlite", storetest.SQLiteDSN(b)},
		{"postgres", storetest.PostgresDSN(b)},
	} {
		b.Run(d.name, func(b *testing.B) {
			db := storetest.Open(b, d.dsn)
			ctx := context.Background()
			var tenant store.Tenant
			var conn store.Connector
			if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				var err error
				tenant, conn, err = tx.EnsureConnector(ctx, "acme", "csv")
				return err
			}); err != nil {
				b.Fatal(err)
			}
			e := reconcile.New(db, nil)
			by := store.Principal{TenantID: tenant.ID, TenantName: tenant.Name, ConnectorID: conn.ID, ConnectorName: conn.Name}
			rows := func(yield func(reconcile.LoadRow) bool) {
				for i := range n {
					if !yield(csvRow(i+2, fmt.Sprintf("user%07d", i), "role"+strconv.Itoa(i%5))) {
						return
					}
				}
			}
			if _, err := e.Load(ctx, by, rows, reconcile.LoadOptions{}); err != nil {
				b.Fatal(err)
			}
			edit := `
tenants:
  - name: acme
    roles: [{name: role0}, {name: role1}, {name: role2}, {name: role3}, {name: role4}]
    connectors:
      - name: csv
        create: {orgUnits: true}
        allow: {orgUnits: [Bench], roles: [role0, role1, role2, role3, role4]}
        rules:
          - name: bench
            if: userName.endsWith("1")
            orgUnit: Bench
          - name: off
            if: userName.endsWith("2")
            status: disabled
`
			for b.Loop() {
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
				rep, err := e.Impact(ctx, by, edit, nil)
				took := time.Since(start)
				close(stop)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Users != n || rep.Changed != n/5 {
					b.Fatalf("impact %d users, %d changed; want %d, %d", rep.Users, rep.Changed, n, n/5)
				}
				rss := peakRSS()
				raw := rawReads(b, d.dsn, db.Dialect(), tenant.ID, n)
				b.ReportMetric(took.Seconds(), "impact-s")
				b.ReportMetric(raw.Seconds(), "raw-reads-s")
				b.ReportMetric(took.Seconds()/raw.Seconds(), "ratio")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(rss, "peak-rss-MB")
			}
		})
	}
}

// rawReads reads what an impact reads, by the plain driver, in the same
// pages: the tenant's users a thousand at a time, each page's rows with
// their documents, then the page's grants and pushed groups.
func rawReads(b *testing.B, dsn string, d store.Dialect, tenantID int64, want int) time.Duration {
	ctx := context.Background()
	driver, source, in := "pgx", dsn, func(pks []int64) string {
		return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(pks)), ","), "[]")
	}
	if d == store.SQLite {
		driver, source = "sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?_pragma=journal_mode(WAL)"
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	seen := 0
	for after := int64(0); ; {
		rows, err := raw.QueryContext(ctx, "SELECT u.pk, u.attrs, u.status, u.version FROM users AS u WHERE u.tenant_id = $1 AND u.deleted_at IS NULL AND u.pk > $2 ORDER BY u.tenant_id, u.pk LIMIT 1000", tenantID, after)
		if err != nil {
			b.Fatal(err)
		}
		var pks []int64
		for rows.Next() {
			var pk, version int64
			var attrs []byte
			var status string
			if err := rows.Scan(&pk, &attrs, &status, &version); err != nil {
				b.Fatal(err)
			}
			pks = append(pks, pk)
		}
		rows.Close()
		if len(pks) == 0 {
			break
		}
		seen += len(pks)
		after = pks[len(pks)-1]
		for _, q := range []string{
			"SELECT ug.user_pk, ug.kind, ug.target_pk, ug.rule, COALESCE(o.path, g.display_name, ro.name, '') FROM user_grants AS ug LEFT JOIN org_units AS o ON ug.kind = 'orgUnit' AND o.pk = ug.target_pk LEFT JOIN groups AS g ON ug.kind = 'group' AND g.pk = ug.target_pk LEFT JOIN roles AS ro ON ug.kind = 'role' AND ro.pk = ug.target_pk WHERE ug.user_pk IN (" + in(pks) + ")",
			"SELECT m.user_pk, g.display_name FROM group_users AS m JOIN groups AS g ON g.pk = m.group_pk WHERE m.user_pk IN (" + in(pks) + ")",
		} {
			rows, err := raw.QueryContext(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
	}
	if seen != want {
		b.Fatalf("raw reads saw %d users, want %d", seen, want)
	}
	return time.Since(start)
}
