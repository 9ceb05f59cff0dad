package scim_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkCreateUser is POST /Users over loopback HTTP against the
// database's own speed, measured in the same run: "insert" is one INSERT
// of the same ~1 KB user row into scimd's users table (its unique folded
// userName index, its email trigger) through the plain driver, in
// autocommit; "post" is the same user through scimd. At c=1 and c=8 on
// both databases. "both" runs them alternately on each goroutine, so that
// each sees the load the other sees (this machine is shared), and reports
// their mean latencies, ratio (insert's over post's, that is post's rate
// over insert's; the target is ≥ 0.5) and stmts/post (SQL statements per
// create, the request's authentication included). "insert" and "post"
// alone report cpu-µs/op: the process's CPU time per operation (for post,
// the HTTP client's share included).
//
//	go test -run '^$' -bench CreateUser -benchtime 2000x -count 3 ./scim
func BenchmarkCreateUser(b *testing.B) {
	for _, d := range []struct{ name, dsn string }{
		{"postgres", storetest.PostgresDSN(b)},
		{"sqlite", storetest.SQLiteDSN(b)},
	} {
		db := storetest.Open(b, d.dsn)
		statements := db.CountStatements()
		srv := newServer(b, db, scim.Config{})
		c := newClient(b, db, srv, "acme", "okta")
		ten, err := db.Tenant(b.Context(), "acme")
		if err != nil {
			b.Fatal(err)
		}
		raw := openRaw(b, d.dsn)
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		var n atomic.Int64 // distinct userNames across every run
		insert := func(b *testing.B) {
			name := fmt.Sprintf("raw-%d@example.com", n.Add(1))
			body := benchUser(name)
			delete(body, "schemas")
			delete(body, "externalId")
			body["active"] = true
			attrs, _ := json.Marshal(body)
			at := time.Now().UTC()
			if _, err := raw.Exec(rawInsertSQL(d.name), ten.ID, uuid.NewString(), name, strings.ToLower(name),
				"Barbara Jensen", "barbara jensen", true, "active", string(attrs), 1, at, at); err != nil {
				b.Fatal(err)
			}
		}
		post := func(b *testing.B) {
			data, _ := json.Marshal(benchUser(fmt.Sprintf("post-%d@example.com", n.Add(1))))
			req, _ := http.NewRequest("POST", c.base+"/Users", bytes.NewReader(data))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/scim+json")
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Fatalf("POST /Users: %d %s", res.StatusCode, body)
			}
		}
		for _, conc := range []int{1, 8} {
			// Both, alternately, on every goroutine: each under the load
			// the other sees.
			b.Run(fmt.Sprintf("%s/c=%d/both", d.name, conc), func(b *testing.B) {
				var insertNs, postNs atomic.Int64
				before := statements.Load()
				parallel(b, conc, func() {
					start := time.Now()
					insert(b)
					mid := time.Now()
					post(b)
					insertNs.Add(int64(mid.Sub(start)))
					postNs.Add(int64(time.Since(mid)))
				})
				b.ReportMetric(float64(insertNs.Load())/float64(b.N)/1e3, "insert-µs")
				b.ReportMetric(float64(postNs.Load())/float64(b.N)/1e3, "post-µs")
				b.ReportMetric(float64(insertNs.Load())/float64(postNs.Load()), "ratio")
				b.ReportMetric(float64(statements.Load()-before)/float64(b.N), "stmts/post")
			})
			// Each alone, for its CPU time.
			for _, op := range []struct {
				name string
				fn   func(*testing.B)
			}{{"insert", insert}, {"post", post}} {
				b.Run(fmt.Sprintf("%s/c=%d/%s", d.name, conc, op.name), func(b *testing.B) {
					cpu := cpuTime()
					parallel(b, conc, func() { op.fn(b) })
					b.ReportMetric(cpu()/float64(b.N), "cpu-µs/op")
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				})
			}
		}
	}
}

// parallel runs op b.N times on conc goroutines.
func parallel(b *testing.B, conc int, op func()) {
	b.SetParallelism((conc + 1) / 2) // × GOMAXPROCS (2 here)
	if conc == 1 {
		for b.Loop() {
			op()
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
}

// openRaw opens the benchmark's database through the plain driver, as an
// application writing the row itself would: pgx with its default
// (prepared statements), SQLite in WAL mode as scimd opens it.
func openRaw(b *testing.B, dsn string) *sql.DB {
	var (
		raw *sql.DB
		err error
	)
	if strings.HasPrefix(dsn, "postgres") {
		raw, err = sql.Open("pgx", dsn)
	} else {
		raw, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)")
	}
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxIdleConns(16)
	b.Cleanup(func() { raw.Close() })
	return raw
}

func rawInsertSQL(dialect string) string {
	q := `INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
		active, status, attrs, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if dialect == "postgres" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	return q
}

// benchUser is a ~1 KB user as Entra and Okta send them: names, work
// email and phone, an address, the enterprise extension, an external ID.
func benchUser(userName string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"userName":    userName,
		"externalId":  uuid.NewString(),
		"displayName": "Barbara Jensen",
		"name":        map[string]any{"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
		"title":       "Tour Guide",
		"locale":      "en-US",
		"emails":      []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"phoneNumbers": []any{map[string]any{"value": "+1 555 555 5555", "type": "work"},
			map[string]any{"value": "+1 555 555 4444", "type": "mobile"}},
		"addresses": []any{map[string]any{"type": "work", "streetAddress": "100 Universal City Plaza",
			"locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US", "primary": true}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
			"division": "Theme Park", "department": "Tour Operations",
		},
	}
}

// cpuTime starts a CPU clock for the process and returns a function that
// reads it, in microseconds.
func cpuTime() func() float64 {
	read := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := read()
	return func() float64 { return float64(read()-start) / float64(time.Microsecond) }
}
