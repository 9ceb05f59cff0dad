package store

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// RetryAfter is the Retry-After of a 503 for an outage (RFC 9110
// §10.2.3), in seconds: about how long a database restart or failover takes.
const RetryAfter = "5"

// Outage tracks whether the database is down, for the servers in front of
// it: an outage is logged once when a request first meets it ([ErrUnavailable],
// a failed ping) and once when one succeeds again, not once per request
// while identity providers and probes keep retrying. One Outage is shared
// by everything a process serves. It is safe for concurrent use.
type Outage struct {
	log   *slog.Logger
	down  atomic.Bool // read on every request; mu orders the transitions
	mu    sync.Mutex
	since time.Time
}

// NewOutage returns an Outage logging to log (nil: discarded).
func NewOutage(log *slog.Logger) *Outage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outage{log: log}
}

// Begin records the database as down, logging err the first time.
func (o *Outage) Begin(ctx context.Context, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down.Load() {
		return
	}
	o.down.Store(true)
	o.since = time.Now()
	o.log.ErrorContext(ctx, "database unavailable: answering 503 until it answers again", "err", err)
}

// End records the database as back, if it was down.
func (o *Outage) End(ctx context.Context) {
	if !o.down.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down.Load() {
		o.down.Store(false)
		o.log.InfoContext(ctx, "database available again", "down_for", time.Since(o.since).Round(time.Millisecond))
	}
}
