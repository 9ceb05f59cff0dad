package scim_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkListPage is GET /Users?count=100 (the first page an identity
// provider reads) over loopback HTTP, beside the database running the
// page's own statements (store.UsersSQL: the page and the count) through
// the plain driver, reading every column, in the same run. "page" and
// "ref" report cpu-µs/op, the process's CPU time per page (for page, the
// HTTP client reading the body included, not decoding it); "walk" is a
// page deep in an index walk (startIndex 501, hinted), and "attributes"
// a projected page (the general path).
//
//	go test -run '^$' -bench ListPage -benchtime 300x ./scim
func BenchmarkListPage(b *testing.B) {
	for _, d := range []struct{ name, dsn string }{
		{"postgres", storetest.PostgresDSN(b)},
		{"sqlite", storetest.SQLiteDSN(b)},
	} {
		db := storetest.Open(b, d.dsn)
		srv := newServer(b, db, scim.Config{})
		c := newClient(b, db, srv, "acme", "okta")
		ten, conn := seedBenchUsers(b, db, "acme", 1000)
		raw := openRaw(b, d.dsn)
		pageSQL, totalSQL, err := db.Reader().UsersSQL(store.Query{TenantID: ten, ConnectorID: conn, StartIndex: 1, Count: 100, Groups: true, RawAttrs: true})
		if err != nil {
			b.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		get := func(b *testing.B, path string) {
			req, _ := http.NewRequest("GET", c.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
		measure := func(b *testing.B, op func(b *testing.B)) {
			cpu := cpuTime()
			for b.Loop() {
				op(b)
			}
			b.ReportMetric(cpu()/float64(b.N), "cpu-µs/op")
		}
		b.Run(d.name+"/ref", func(b *testing.B) {
			measure(b, func(b *testing.B) {
				for _, q := range []string{pageSQL, totalSQL} {
					if err := readAll(raw, q); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run(d.name+"/page", func(b *testing.B) {
			measure(b, func(b *testing.B) { get(b, "/Users?count=100") })
		})
		b.Run(d.name+"/walk", func(b *testing.B) {
			get(b, "/Users?startIndex=401&count=100") // makes the hint for 501
			measure(b, func(b *testing.B) { get(b, "/Users?startIndex=501&count=100") })
		})
		b.Run(d.name+"/attributes", func(b *testing.B) {
			measure(b, func(b *testing.B) { get(b, "/Users?count=100&attributes=userName,emails,name.givenName") })
		})
	}
}

// readAll runs a query and reads every column of every row as raw bytes.
func readAll(db *sql.DB, query string) error {
	rows, err := db.Query(query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// seedBenchUsers creates n users of benchUser's shape in the tenant, each
// with an external ID of connector okta, and returns the tenant's and the
// connector's ids.
func seedBenchUsers(tb testing.TB, db *store.DB, tenant string, n int) (int64, int64) {
	tb.Helper()
	ctx := context.Background()
	var tenantID, connectorID int64
	err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ten, conn, err := tx.EnsureConnector(ctx, tenant, "okta")
		if err != nil {
			return err
		}
		tenantID, connectorID = ten.ID, conn.ID
		users := make([]store.User, n)
		for i := range users {
			name := fmt.Sprintf("bench-%06d@example.com", i)
			attrs := benchUser(name)
			delete(attrs, "schemas")
			delete(attrs, "externalId")
			attrs["active"] = true
			users[i] = store.User{TenantID: ten.ID, UserName: name, DisplayName: "Barbara Jensen", Active: true, Attrs: attrs}
		}
		if err := tx.InsertUsers(ctx, users); err != nil {
			return err
		}
		for i, u := range users {
			if err := tx.SetUserExternalID(ctx, conn.ID, u.PK, fmt.Sprintf("ext-%06d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tenantID, connectorID
}
