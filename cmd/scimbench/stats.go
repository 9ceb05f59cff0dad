package main

import (
	"context"
	"fmt"
	"io"
	"slices"
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
}

// drive calls do with request numbers 0, 1, … from w.concurrency
// goroutines until w.requests calls or w.duration, timing each call.
func drive(ctx context.Context, w workload, do func(ctx context.Context, i int) error) (result, error) {
	d, err := time.ParseDuration(w.duration)
	if err != nil {
		return result{}, fmt.Errorf("--duration: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		res      result
		wg       sync.WaitGroup
		began    = time.Now()
		failures atomic.Int64
	)
	for range max(w.concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var firstErr error
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= w.requests {
					break
				}
				start := time.Now()
				err := do(ctx, i)
				if ctx.Err() != nil {
					break // cut off by the deadline: not a measurement
				}
				mine = append(mine, time.Since(start))
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
	return res, nil
}

// report prints one line: scenario, load, rate, errors and percentiles.
func report(out io.Writer, label string, w workload, r result) {
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	pct := func(p float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return ms(lat[min(int(float64(len(lat))*p), len(lat)-1)])
	}
	rate := float64(len(lat)) / r.elapsed.Seconds()
	fmt.Fprintf(out, "%s %s c=%d requests=%d errors=%d time=%.1fs rate=%.0f/s p50=%s p90=%s p99=%s max=%s\n",
		label, w.scenario, w.concurrency, len(lat), r.errors, r.elapsed.Seconds(), rate,
		pct(0.50), pct(0.90), pct(0.99), pct(1))
	if r.firstErr != nil {
		fmt.Fprintf(out, "  first error: %v\n", r.firstErr)
	}
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
	// A page's latency alone is noisy: report the mean of up to 10 pages
	// around the first, the middle and the last.
	around := func(i int) string {
		lo, hi := max(i-5, 0), min(i+5, len(r.pages))
		var sum time.Duration
		for _, d := range r.pages[lo:hi] {
			sum += d
		}
		return ms(sum / time.Duration(hi-lo))
	}
	n := len(r.pages)
	fmt.Fprintf(out, "%s walk count=%d pages=%d rows=%d time=%.1fs first=%s middle=%s last=%s (mean of 10 pages; page 1 alone %s)\n",
		label, w.count, n, r.rows, r.elapsed.Seconds(), around(5), around(n/2), around(n-5), ms(r.pages[0]))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
