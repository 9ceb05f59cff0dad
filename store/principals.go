package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Principals may be cached (reconcile.Engine.Authenticate) only while
// something says when what they are made of changes. On PostgreSQL that is
// migration 0008's triggers: every statement that changes tokens,
// connectors or tenants notifies channel scimd_principals at commit, and
// each server LISTENs on a connection of its own. The listener turns
// notifications into an epoch: a principal read in epoch E may be used
// while the epoch is E, and is dropped by the first notification after.
// While the listener is not connected (before it first is, after it
// drops, until it listens again) nothing may be cached: a change then
// goes unnoticed, so every request reads its principal. Staleness is the
// notification's latency: the time between a revocation's commit and its
// delivery to this process, typically under a millisecond on one host.
//
// On SQLite nothing is cached (see migration sqlite/0008).

// principalChannel is the channel migration 0008 notifies.
const principalChannel = "scimd_principals"

// principalHeartbeat is how long the listener waits for a notification
// before checking, with a statement, that its connection still answers: a
// connection that died silently (no FIN, a partition) turns caching off
// within this long. Tests shorten it.
var principalHeartbeat = 30 * time.Second

type principalWatch struct {
	config    *pgx.ConnConfig
	heartbeat time.Duration
	once      sync.Once
	epoch     atomic.Uint64
	live      atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	// pid is the listener's backend process id while it is connected, for
	// tests that cut it off.
	pid atomic.Uint32
	// hold, when set, keeps the listener from connecting until it is
	// closed: tests keep an outage going with it.
	hold atomic.Pointer[chan struct{}]
}

func newPrincipalWatch(dsn string) (*principalWatch, error) {
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	config.RuntimeParams["application_name"] = "scimd principal listener"
	return &principalWatch{config: config, heartbeat: principalHeartbeat}, nil
}

// PrincipalEpoch returns the epoch of what principals are made of and
// whether a principal read from now on may be cached until the epoch
// changes. Read the epoch before reading the principal: a change committed
// meanwhile then moves the epoch past the one the principal is cached
// under. The first call starts the listener (only servers authenticate,
// so commands never listen); until it listens, cacheable is false.
func (db *DB) PrincipalEpoch() (epoch uint64, cacheable bool) {
	w := db.watch
	if w == nil {
		return 0, false
	}
	w.once.Do(w.start)
	// live first: the epoch moves before live turns true, so a caller
	// that sees live sees the epoch it began in or a later one.
	live := w.live.Load()
	return w.epoch.Load(), live
}

// PrincipalsChanged moves the epoch on at once, for a change this process
// has just committed: its notification will follow, but this process
// need not wait for it.
func (db *DB) PrincipalsChanged() {
	if db.watch != nil {
		db.watch.epoch.Add(1)
	}
}

func (w *principalWatch) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go w.run(ctx)
}

func (w *principalWatch) stop() {
	w.once.Do(func() {}) // a watch never started stays so
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// run listens until ctx ends, connecting again after each failure, at
// most every 5 seconds; it logs once when caching stops and once when it
// resumes.
func (w *principalWatch) run(ctx context.Context) {
	defer close(w.done)
	log := slog.Default()
	wait, since, failed := 100*time.Millisecond, time.Time{}, false
	for {
		err := w.listen(ctx, func() {
			wait = 100 * time.Millisecond
			if failed {
				log.Info("principal cache on again: listening for token, connector and tenant changes", "off_for", time.Since(since).Round(time.Millisecond))
				failed = false
			}
		})
		w.live.Store(false)
		w.pid.Store(0)
		w.epoch.Add(1)
		if ctx.Err() != nil {
			return
		}
		if !failed {
			log.Warn("principal cache off: every request reads its token until the listener reconnects", "err", err)
			failed, since = true, time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// listen connects, LISTENs, calls up, and moves the epoch on at every
// notification until the connection fails or ctx ends.
func (w *principalWatch) listen(ctx context.Context, up func()) error {
	if h := w.hold.Load(); h != nil {
		select {
		case <-*h:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, w.config)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+principalChannel); err != nil {
		return err
	}
	// Whatever was cached before LISTEN took effect may have missed a
	// change: a new epoch, then caching.
	w.pid.Store(conn.PgConn().PID())
	w.epoch.Add(1)
	w.live.Store(true)
	up()
	for {
		wctx, cancel := context.WithTimeout(ctx, w.heartbeat)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			w.epoch.Add(1)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = conn.Exec(hctx, "SELECT 1")
		cancel()
		if err != nil {
			return err
		}
	}
}

// ListenVia points the principal listener at dsn instead of the store's
// own URL, or with "off" caches no principals at all (every request
// reads its token). It is for a store reached through a pooling proxy
// in transaction mode (PgBouncer's default for many deployments), which
// accepts LISTEN on whichever server connection it lends and then never
// delivers the notifications: give the database's direct address, or
// "off". "" keeps the default. Call it before the store serves.
func (db *DB) ListenVia(dsn string) error {
	switch {
	case dsn == "":
		return nil
	case db.dialect != Postgres:
		return errors.New("the principal listener's URL applies to PostgreSQL only: SQLite caches no principals")
	case dsn == "off":
		db.watch = nil
		return nil
	}
	w, err := newPrincipalWatch(dsn)
	if err != nil {
		return fmt.Errorf("principal listener URL: %w", err)
	}
	db.watch = w
	return nil
}
