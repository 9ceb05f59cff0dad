package reconcile

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/store"
)

// RecordedSummary is one [Recorded] as the request log and a replay show
// it: the plan's [Summary], or the error that stopped the write.
type RecordedSummary struct {
	Plan  *Summary `json:"plan,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Summaries returns what rs show a person, in order.
func Summaries(rs []Recorded) []RecordedSummary {
	out := make([]RecordedSummary, len(rs))
	for i, r := range rs {
		if r.Err != nil {
			out[i].Error = r.Err.Error()
			continue
		}
		if r.Plan != nil {
			s := r.Plan.Summary()
			out[i].Plan = &s
		}
	}
	return out
}

// RequestLogConfig tunes a [RequestLog]. The zero value is a safe default.
type RequestLogConfig struct {
	// Queue is how many requests may wait to be written; past it, Append
	// drops them (and counts them). 0 means 10,000.
	Queue int
	// Batch is the most requests one INSERT writes. 0 means 500.
	Batch int
	// FlushEvery is how long a request may wait in the queue. 0 means
	// 250 ms.
	FlushEvery time.Duration
	// MaxRows bounds the requests kept per connector. 0 means 10,000.
	MaxRows int
	// MaxAge bounds how long a request is kept. 0 means 7 days.
	MaxAge time.Duration
	// PruneEvery is how often the bounds are enforced; between two
	// prunes a connector may hold up to a tenth of MaxRows more. 0 means
	// a minute.
	PruneEvery time.Duration
	// Logger receives write errors; nil discards them.
	Logger *slog.Logger
}

// RequestLog writes the request log in the background, in batches, so that
// a request pays for a channel send, not an INSERT; and it prunes the log
// to its bounds now and then, never per request. Requests still queued
// when the process stops are written by [RequestLog.Close]. It is safe for
// concurrent use.
type RequestLog struct {
	e   *Engine
	cfg RequestLogConfig
	log *slog.Logger

	queue   chan store.LoggedRequest
	flushes chan chan error
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	dropped atomic.Int64
	// touched is when the writer last recorded each token's use; only
	// its goroutine reads and writes it.
	touched map[int64]time.Time
}

// TouchEvery is how often the request log records a token's use
// (store.Tx.TouchTokens), at most: the last-used time it keeps is to
// this much.
const TouchEvery = time.Minute

// StartRequestLog starts the engine's request log writer; stop it with
// [RequestLog.Close].
func (e *Engine) StartRequestLog(cfg RequestLogConfig) *RequestLog {
	if cfg.Queue <= 0 {
		cfg.Queue = 10_000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 250 * time.Millisecond
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 10_000
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &RequestLog{e: e, cfg: cfg, log: log,
		queue: make(chan store.LoggedRequest, cfg.Queue), flushes: make(chan chan error),
		stop: make(chan struct{}), done: make(chan struct{}), touched: map[int64]time.Time{}}
	go l.run()
	return l
}

// Append queues r to be written. It never blocks: with the queue full,
// or the log closed, r is dropped, counted in [RequestLog.Dropped], and
// Append returns false.
func (l *RequestLog) Append(r store.LoggedRequest) bool {
	select {
	case <-l.stop:
	default:
		select {
		case l.queue <- r:
			return true
		default:
		}
	}
	l.dropped.Add(1)
	return false
}

// Dropped returns how many requests were not logged: the queue was full,
// the log closed, or their write failed.
func (l *RequestLog) Dropped() int64 { return l.dropped.Load() }

// Flush writes what was queued before it was called and enforces the
// bounds, then returns.
func (l *RequestLog) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case l.flushes <- reply:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer. Later appends are
// dropped.
func (l *RequestLog) Close(ctx context.Context) error {
	l.once.Do(func() { close(l.stop) })
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *RequestLog) run() {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.FlushEvery)
	defer tick.Stop()
	var (
		batch     []store.LoggedRequest
		written   = map[int64]int{} // rows per connector since the last prune
		lastPrune = time.Now()
	)
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := l.write(batch)
		if err == nil {
			for _, r := range batch {
				written[r.ConnectorID]++
			}
		}
		batch = batch[:0]
		return err
	}
	prune := func(due bool) error {
		over := false
		for _, n := range written {
			over = over || n > l.cfg.MaxRows/10
		}
		if !due && !over && time.Since(lastPrune) < l.cfg.PruneEvery {
			return nil
		}
		err := l.prune(written)
		clear(written)
		lastPrune = time.Now()
		return err
	}
	drain := func() {
		for {
			select {
			case r := <-l.queue:
				batch = append(batch, r)
				if len(batch) >= l.cfg.Batch {
					write()
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
			if len(batch) >= l.cfg.Batch {
				write()
				prune(false)
			}
		case <-tick.C:
			write()
			prune(false)
		case reply := <-l.flushes:
			drain()
			err := write()
			if perr := prune(true); err == nil {
				err = perr
			}
			reply <- err
		case <-l.stop:
			drain()
			write()
			return
		}
	}
}

// write appends batch to the log and, in the same transaction, records
// the use of the tokens it carried that were not recorded in the last
// [TouchEvery]: at most one more statement, off the requests' path.
func (l *RequestLog) write(batch []store.LoggedRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		due  []int64
		last time.Time
	)
	err := l.e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.AppendRequests(ctx, batch); err != nil {
			return err
		}
		// AppendRequests stamped each request's At.
		due, last = due[:0], time.Time{}
		for _, r := range batch {
			if r.TokenID == 0 {
				continue
			}
			if t, ok := l.touched[r.TokenID]; (!ok || r.At.Sub(t) >= TouchEvery) && !slices.Contains(due, r.TokenID) {
				due = append(due, r.TokenID)
			}
			if r.At.After(last) {
				last = r.At
			}
		}
		return tx.TouchTokens(ctx, due, last)
	})
	if err == nil {
		for _, id := range due {
			l.touched[id] = last
		}
	}
	if err != nil {
		l.dropped.Add(int64(len(batch)))
		l.log.Error("request log: write", "requests", len(batch), "err", err)
	}
	return err
}

func (l *RequestLog) prune(written map[int64]int) error {
	connectors := make([]int64, 0, len(written))
	for c := range written {
		connectors = append(connectors, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := l.e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.PruneRequests(ctx, l.e.now().Add(-l.cfg.MaxAge), l.cfg.MaxRows, connectors)
		return err
	})
	if err != nil {
		l.log.Error("request log: prune", "err", err)
	}
	return err
}

// Replayed is what a logged request would do now: the status it would
// get, the error's detail if it would fail, and its writes' plans.
type Replayed struct {
	Status int               `json:"status"`
	Error  string            `json:"error,omitempty"`
	Plans  []RecordedSummary `json:"plans"`
}
