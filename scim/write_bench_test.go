package scim_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// creates is how many users one run of BenchmarkCreateUsers creates.
const creates = 2000

// BenchmarkCreateUsers is POST /Users on SQLite (the default) over
// loopback HTTP, from 1 and from 8 clients, beside its reference: the
// same single-row insert transaction through the plain driver, on a file
// opened as the store opens its writer (WAL, synchronous=NORMAL, BEGIN
// IMMEDIATE, one connection). Compare creates/s and p99-ms of the lines.
//
//	go test -run '^$' -bench CreateUsers -benchtime 1x ./scim
func BenchmarkCreateUsers(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("sqlite/c=%d", workers), func(b *testing.B) {
			db := storetest.Open(b, storetest.SQLiteDSN(b))
			c := newClient(b, db, newServer(b, db, scim.Config{}), "acme", "okta")
			var n atomic.Int64
			for b.Loop() {
				l := runLoad(c, workers, creates, http.StatusCreated, func(int) (string, string, any) {
					return "POST", "/Users", userBody(fmt.Sprintf("user%d@example.com", n.Add(1)))
				})
				if l.errors > 0 {
					b.Fatalf("%d errors; first: %s", l.errors, l.firstErr)
				}
				l.report(b, "creates")
			}
		})
		b.Run(fmt.Sprintf("sqlite-raw/c=%d", workers), func(b *testing.B) {
			dsn := storetest.SQLiteDSN(b)
			db := storetest.Open(b, dsn)
			newClient(b, db, newServer(b, db, scim.Config{}), "acme", "okta") // the tenant
			tenant, err := db.Tenant(b.Context(), "acme")
			if err != nil {
				b.Fatal(err)
			}
			raw, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+
				"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			raw.SetMaxOpenConns(1)
			var n atomic.Int64
			for b.Loop() {
				l := rawLoad(workers, creates, func() error { return rawInsert(b.Context(), raw, tenant.ID, n.Add(1)) })
				if l.errors > 0 {
					b.Fatalf("%d errors; first: %s", l.errors, l.firstErr)
				}
				l.report(b, "creates")
			}
		})
	}
}

// rawInsert is the reference for one create: one transaction inserting
// one users row, the document scimd would store for it included.
func rawInsert(ctx context.Context, db *sql.DB, tenantID, i int64) error {
	name := fmt.Sprintf("raw%d@example.com", i)
	doc := userBody(name, "active", true)
	delete(doc, "schemas")
	attrs, _ := json.Marshal(doc)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (tenant_id, id, user_name, user_name_folded, active, status, attrs, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, 1, 'active', ?, 1, ?, ?)`, tenantID, uuid.NewString(), name, store.Fold(name), string(attrs), now, now); err != nil {
		return err
	}
	return tx.Commit()
}

// rawLoad is runLoad for a function instead of HTTP requests.
func rawLoad(workers, n int, do func() error) load {
	return runLoop(workers, n, func(int) (string, error) {
		if err := do(); err != nil {
			return "raw insert: " + err.Error(), err
		}
		return "", nil
	})
}

// BenchmarkBulk is the per-operation rate of /Bulk against that of single
// POSTs, on both databases, in the same run: users created one POST at a
// time, then as many in bulk requests of 100 POST operations (one
// transaction each). x-single is the ratio of the two rates.
//
//	go test -run '^$' -bench Bulk -benchtime 1x ./scim
func BenchmarkBulk(b *testing.B) {
	const users, perBulk = 1000, 100
	for _, d := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", storetest.SQLiteDSN},
		{"postgres", storetest.PostgresDSN},
	} {
		b.Run(d.name, func(b *testing.B) {
			dsn := d.dsn(b)
			db := storetest.Open(b, dsn)
			statements := db.CountStatements()
			c := newClient(b, db, newServer(b, db, scim.Config{}), "acme", "okta")
			tenant, err := db.Tenant(b.Context(), "acme")
			if err != nil {
				b.Fatal(err)
			}
			raw := openRaw(b, dsn)
			var n atomic.Int64
			for b.Loop() {
				single := runLoad(c, 1, users, http.StatusCreated, func(int) (string, string, any) {
					return "POST", "/Users", userBody(fmt.Sprintf("single%d@example.com", n.Add(1)))
				})
				before := statements.Load()
				bulk := runLoad(c, 1, users/perBulk, http.StatusOK, func(int) (string, string, any) {
					ops := make([]map[string]any, perBulk)
					for i := range ops {
						ops[i] = bulkOperation("POST", "/Users", fmt.Sprint("u", i), "", userBody(fmt.Sprintf("bulk%d@example.com", n.Add(1))))
					}
					return "POST", "/Bulk", bulkBody(0, ops...)
				})
				if single.errors+bulk.errors > 0 {
					b.Fatalf("errors: %s %s", single.firstErr, bulk.firstErr)
				}
				b.ReportMetric(single.rate(), "single-creates/s")
				b.ReportMetric(bulk.rate()*perBulk, "bulk-creates/s")
				b.ReportMetric(bulk.rate()*perBulk/single.rate(), "x-single")
				b.ReportMetric(float64(bulk.quantile(0.5).Microseconds())/1000, "bulk-p50-ms")
				b.ReportMetric(float64(statements.Load()-before)/float64(users/perBulk), "stmts/bulk")
				// The ceiling: the plain driver writing the same users
				// as raw rows, one multi-row INSERT of perBulk per transaction.
				ref := rawLoad(1, users/perBulk, func() error { return rawInsertMany(b.Context(), raw, d.name, tenant.ID, perBulk, &n) })
				if ref.errors > 0 {
					b.Fatalf("raw: %s", ref.firstErr)
				}
				b.ReportMetric(ref.rate()*perBulk, "raw-rows/s")
				b.ReportMetric(bulk.rate()/ref.rate(), "x-raw")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}

// rawInsertMany is the reference for a bulk of creates: one transaction
// with one INSERT of rows users rows, each the document scimd stores for
// the bulk's users.
func rawInsertMany(ctx context.Context, db *sql.DB, dialect string, tenantID int64, rows int, n *atomic.Int64) error {
	var values []string
	var args []any
	now := time.Now().UTC()
	for range rows {
		name := fmt.Sprintf("rawbulk%d@example.com", n.Add(1))
		doc := userBody(name)
		delete(doc, "schemas")
		doc["active"] = true
		attrs, _ := json.Marshal(doc)
		values = append(values, "(?, ?, ?, ?, true, 'active', ?, 1, ?, ?)")
		args = append(args, tenantID, uuid.NewString(), name, store.Fold(name), string(attrs), now, now)
	}
	q := `INSERT INTO users (tenant_id, id, user_name, user_name_folded, active, status, attrs, version, created_at, updated_at) VALUES ` +
		strings.Join(values, ", ")
	if dialect == "postgres" {
		var b strings.Builder
		i := 0
		for _, r := range q {
			if r == '?' {
				i++
				fmt.Fprintf(&b, "$%d", i)
				continue
			}
			b.WriteRune(r)
		}
		q = b.String()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	return tx.Commit()
}
