package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// result is what a run measured.
type result struct {
	latencies []time.Duration
	errors    int64
	elapsed   time.Duration
	firstErr  error
	// kinds holds each HTTP request's own latency by kind (GET-filter,
	// POST-user, …) for scenarios whose unit is more than one request.
	kinds *recorder
	// late counts open-loop requests sent more than a millisecond after
	// their intended start (every worker was busy).
	late int64
}

// drive calls do with request numbers 0, 1, … until w.requests calls or
// w.duration, timing each call.
//
// Closed loop (w.rate 0): w.concurrency goroutines call do back to back,
// and a call's latency is its own time.
//
// Open loop (w.rate > 0): request i is due at start + i/rate whatever the
// earlier ones did; up to w.concurrency are in flight, and a request's
// latency runs from when it was due, not from when a worker was free to
// send it, so a stall counts for every request it delayed (no coordinated
// omission).
func drive(ctx context.Context, w workload, do func(ctx context.Context, i int) error) (result, error) {
	d, err := time.ParseDuration(w.duration)
	if err != nil {
		return result{}, fmt.Errorf("--duration: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type job struct {
		i  int
		at time.Time
	}
	var (
		mu       sync.Mutex
		res      result
		wg       sync.WaitGroup
		began    = time.Now()
		failures atomic.Int64
		late     atomic.Int64
		jobs     = make(chan job, min(max(w.requests, 1), 1<<20))
	)
	go func() { // the schedule
		defer close(jobs)
		for i := 0; i < w.requests; i++ {
			at := time.Now()
			if w.rate > 0 {
				at = began.Add(time.Duration(float64(i) * float64(time.Second) / w.rate))
				if wait := time.Until(at); wait > 0 {
					select {
					case <-time.After(wait):
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case jobs <- job{i, at}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range max(w.concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var firstErr error
			for j := range jobs {
				if ctx.Err() != nil {
					break
				}
				start := time.Now()
				if w.rate == 0 {
					j.at = start
				} else if start.Sub(j.at) > time.Millisecond {
					late.Add(1)
				}
				err := do(ctx, j.i)
				if ctx.Err() != nil {
					break // cut off by the deadline: not a measurement
				}
				mine = append(mine, time.Since(j.at))
				if err != nil {
					failures.Add(1)
					if firstErr == nil {
						firstErr = err
					}
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, mine...)
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(began)
	res.errors = failures.Load()
	res.late = late.Load()
	return res, nil
}

// summary is the percentiles of a set of latencies.
type summary struct {
	n                            int
	p50, p90, p99, p999, maximum time.Duration
}

func summarize(lat []time.Duration) summary {
	lat = slices.Clone(lat)
	slices.Sort(lat)
	at := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(int(float64(len(lat))*p), len(lat)-1)]
	}
	return summary{len(lat), at(0.50), at(0.90), at(0.99), at(0.999), at(1)}
}

func (s summary) String() string {
	if s.n == 0 {
		return "p50=- p90=- p99=- p99.9=- max=-"
	}
	return fmt.Sprintf("p50=%s p90=%s p99=%s p99.9=%s max=%s", ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.maximum))
}

// rate is requests per second.
func (r result) rate() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

// report prints one line: scenario, load, rate, errors and percentiles;
// then one line per kind of request, if the scenario sends several.
func report(out io.Writer, label string, w workload, r result) {
	mode := fmt.Sprintf("c=%d", w.concurrency)
	if w.rate > 0 {
		mode += fmt.Sprintf(" open-loop target=%.0f/s late=%d", w.rate, r.late)
	}
	fmt.Fprintf(out, "%s %s %s requests=%d errors=%d time=%.1fs rate=%.0f/s %s\n",
		label, w.scenario, mode, len(r.latencies), r.errors, r.elapsed.Seconds(), r.rate(), summarize(r.latencies))
	if r.kinds != nil {
		for _, k := range r.kinds.names() {
			lat := r.kinds.get(k)
			fmt.Fprintf(out, "  %s n=%d rate=%.0f/s %s\n", k, len(lat), float64(len(lat))/r.elapsed.Seconds(), summarize(lat))
		}
	}
	if r.firstErr != nil {
		fmt.Fprintf(out, "  first error: %v\n", r.firstErr)
	}
}

// recorder keeps latencies by kind of request, from many goroutines.
type recorder struct {
	mu sync.Mutex
	m  map[string][]time.Duration
}

func newRecorder() *recorder { return &recorder{m: map[string][]time.Duration{}} }

func (r *recorder) add(kind string, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.m[kind] = append(r.m[kind], d)
	r.mu.Unlock()
}

func (r *recorder) get(kind string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.m[kind])
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for k := range r.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// walkResult is one walk: each page's latency, in order.
type walkResult struct {
	pages   []time.Duration
	rows    int
	elapsed time.Duration
}

func reportWalk(out io.Writer, label string, w workload, r walkResult) {
	if len(r.pages) == 0 {
		fmt.Fprintf(out, "%s walk: no pages\n", label)
		return
	}
	n := len(r.pages)
	fmt.Fprintf(out, "%s walk count=%d pages=%d rows=%d time=%.1fs first=%s middle=%s last=%s (mean of 10 pages; page 1 alone %s) %s\n",
		label, w.count, n, r.rows, r.elapsed.Seconds(), ms(r.around(5)), ms(r.around(n/2)), ms(r.around(n-5)), ms(r.pages[0]),
		summarize(r.pages))
}

// around is the mean latency of up to 10 pages around page i: a page's
// latency alone is noisy.
func (r walkResult) around(i int) time.Duration {
	lo, hi := max(i-5, 0), min(i+5, len(r.pages))
	if hi <= lo {
		return 0
	}
	var sum time.Duration
	for _, d := range r.pages[lo:hi] {
		sum += d
	}
	return sum / time.Duration(hi-lo)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// mb is kilobytes as megabytes, for RSS.
func mb(kb int64) string {
	if kb <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fMB", float64(kb)/1024)
}
