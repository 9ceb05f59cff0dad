package scim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store/storetest"
)

// load is what a run of concurrent requests measured: each request's
// latency and the requests that did not answer as wanted.
type load struct {
	latencies []time.Duration
	elapsed   time.Duration
	errors    int
	firstErr  string
}

// runLoad sends n requests from workers goroutines, each made by req(i)
// for i in [0, n), and wants each to answer status. It fails nothing
// itself: the caller judges the figures.
func runLoad(c *client, workers, n, status int, req func(i int) (method, path string, body any)) load {
	return runLoop(workers, n, func(i int) (string, error) {
		method, path, body := req(i)
		got, err := c.send(method, path, body)
		if err != nil || got != status {
			return fmt.Sprintf("%s %s: status %d, %v", method, path, got, err), fmt.Errorf("status %d", got)
		}
		return "", nil
	})
}

// runLoop runs do(i) for i in [0, n) from workers goroutines and times
// each; a failing do says what failed.
func runLoop(workers, n int, do func(i int) (string, error)) load {
	var (
		mu   sync.Mutex
		out  = load{latencies: make([]time.Duration, 0, n)}
		next = make(chan int)
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				what, err := do(i)
				d := time.Since(t0)
				mu.Lock()
				out.latencies = append(out.latencies, d)
				if err != nil {
					out.errors++
					if out.firstErr == "" {
						out.firstErr = what
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	out.elapsed = time.Since(start)
	slices.Sort(out.latencies)
	return out
}

// quantile is the q-quantile (0.5, 0.99) of the run's latencies.
func (l load) quantile(q float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	return l.latencies[min(int(float64(len(l.latencies))*q), len(l.latencies)-1)]
}

// rate is requests per second over the whole run.
func (l load) rate() float64 { return float64(len(l.latencies)) / l.elapsed.Seconds() }

// report adds the run's figures to a benchmark's line.
func (l load) report(b *testing.B, unit string) {
	b.ReportMetric(l.rate(), unit+"/s")
	b.ReportMetric(float64(l.quantile(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(l.quantile(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(l.errors), "errors")
	b.ReportMetric(0, "ns/op") // the run's rate says it; ns/op of a fixed run would mislead
}

// send is sendText with a body marshalled to JSON.
func (c *client) send(method, path string, body any) (int, error) {
	var text []byte
	if body != nil {
		var err error
		if text, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	status, _, err := c.sendText(method, path, string(text))
	return status, err
}

// TestSQLiteConcurrentCreates is the SQLite default under concurrent
// writers over HTTP: 8 clients creating users at once must all succeed,
// and none may wait long. (store's TestSQLiteWritersQueue checks that
// the writers queue without gaps; this is the same seen from a client.)
func TestSQLiteConcurrentCreates(t *testing.T) {
	db := storetest.Open(t, storetest.SQLiteDSN(t))
	c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
	l := runLoad(c, 8, 400, http.StatusCreated, func(i int) (string, string, any) {
		return "POST", "/Users", userBody(fmt.Sprintf("user%d@example.com", i))
	})
	p99 := l.quantile(0.99)
	t.Logf("8 writers: %.0f creates/s, p50 %v, p99 %v, max %v, %d errors", l.rate(), l.quantile(0.5), p99, l.quantile(1), l.errors)
	if l.errors > 0 {
		t.Errorf("%d of %d creates failed; first: %s", l.errors, len(l.latencies), l.firstErr)
	}
	// Generous, for a busy machine and -race (the target is 50 ms): 1 s, or
	// 5 times the mean wait that the rate implies when the machine is slower.
	mean := time.Duration(float64(time.Second) * 8 / l.rate())
	if bound := max(time.Second, 5*mean); p99 > bound {
		t.Errorf("p99 of 8 concurrent creates is %v, want at most %v (5 times the mean of %v, at least 1s)", p99, bound, mean)
	}
}
