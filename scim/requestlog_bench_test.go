package scim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkCreateUserLogged is POST /Users with a password (the request
// log's costliest body: parsed and scrubbed) through two endpoints on one
// database, one without the request log and one with it, alternately on
// each goroutine so that both see the same load. It reports each one's
// mean latency and logged/plain, their ratio (the target: close to 1).
//
//	go test -run '^$' -bench CreateUserLogged -benchtime 1000x ./scim
func BenchmarkCreateUserLogged(b *testing.B) {
	for _, d := range []struct{ name, dsn string }{
		{"postgres", storetest.PostgresDSN(b)},
		{"sqlite", storetest.SQLiteDSN(b)},
	} {
		db := storetest.Open(b, d.dsn)
		engine := reconcile.New(db, nil)
		reqlog := engine.StartRequestLog(reconcile.RequestLogConfig{})
		b.Cleanup(func() { reqlog.Close(b.Context()) })
		plain := newServer(b, db, scim.Config{})
		logged := httptest.NewServer(scim.NewHandler(scim.Config{RequestLog: reqlog}, db.Reader(), engine))
		b.Cleanup(logged.Close)
		c := newClient(b, db, plain, "acme", "okta")
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		var n atomic.Int64
		post := func(b *testing.B, base string) time.Duration {
			u := benchUser(fmt.Sprintf("logged-%d@example.com", n.Add(1)))
			u["password"] = "Tr0ub4dor&3"
			data, _ := json.Marshal(u)
			req, _ := http.NewRequest("POST", base+"/scim/v2/acme/Users", bytes.NewReader(data))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/scim+json")
			start := time.Now()
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			took := time.Since(start)
			if res.StatusCode != http.StatusCreated {
				b.Fatalf("POST /Users: %d %s", res.StatusCode, body)
			}
			return took
		}
		for _, conc := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/c=%d", d.name, conc), func(b *testing.B) {
				var plainNs, loggedNs atomic.Int64
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range conc {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							plainNs.Add(int64(post(b, plain.URL)))
							loggedNs.Add(int64(post(b, logged.URL)))
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				if err := reqlog.Flush(b.Context()); err != nil {
					b.Fatal(err)
				}
				p, l := float64(plainNs.Load())/float64(b.N), float64(loggedNs.Load())/float64(b.N)
				b.ReportMetric(p/1e3, "plain-µs")
				b.ReportMetric(l/1e3, "logged-µs")
				b.ReportMetric(l/p, "logged/plain")
				b.ReportMetric(float64(reqlog.Dropped()), "dropped")
			})
		}
	}
}
