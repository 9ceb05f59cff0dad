package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler watches a server's resident set: VmRSS when it starts (the
// server idle) and the highest VmRSS sampled every 20 ms until stop.
type rssSampler struct {
	pid        int
	idle, peak int64 // kB
	mu         sync.Mutex
	done       chan struct{}
	wg         sync.WaitGroup
}

// startRSS starts sampling pid's RSS; pid 0 samples nothing.
func startRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, done: make(chan struct{})}
	if pid <= 0 {
		return s
	}
	s.idle = procStatus(pid, "VmRSS")
	s.peak = s.idle
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				if v := procStatus(pid, "VmRSS"); v > 0 {
					s.mu.Lock()
					s.peak = max(s.peak, v)
					s.mu.Unlock()
				}
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the idle and peak RSS in kB (0 when
// there was no pid to watch).
func (s *rssSampler) stop() (idle, peak int64) {
	if s.pid <= 0 {
		return 0, 0
	}
	close(s.done)
	s.wg.Wait()
	if v := procStatus(s.pid, "VmRSS"); v > s.peak {
		s.peak = v
	}
	return s.idle, s.peak
}

// format says what a stopped sampler saw.
func (s *rssSampler) format() string {
	idle, peak := s.idle, s.peak
	if s.pid <= 0 {
		return "rss=n/a"
	}
	return fmt.Sprintf("rss_idle=%s rss_peak=%s rss_hwm=%s", mb(idle), mb(peak), mb(procStatus(s.pid, "VmHWM")))
}

// procStatus reads a kB field of /proc/PID/status (0 if unreadable).
func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// sqlCounter counts the SQL a server runs against a PostgreSQL database:
// pg_stat_statements' calls in this database if the extension is loaded
// (shared_preload_libraries), else pg_stat_database's transactions
// (commits and rollbacks), a lower bound of statements: scimd's
// autocommitted statements are one transaction each, a BEGIN … COMMIT
// block one for all. SQLite keeps no such count: n/a.
type sqlCounter struct {
	db   *sql.DB
	what string // "stmts" or "xacts"
}

const (
	countStatements   = `SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`
	countTransactions = `SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()`
)

// openCounter returns nil (and no error) for SQLite or no database.
func openCounter(ctx context.Context, dsn string) (*sqlCounter, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil, nil
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &sqlCounter{db: db, what: "stmts"}
	// The extension may be installable but not loaded: then the view
	// errors, and transactions are what we count.
	_, _ = db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	var n int64
	if err := db.QueryRowContext(ctx, countStatements).Scan(&n); err != nil {
		c.what = "xacts"
		if err := db.QueryRowContext(ctx, countTransactions).Scan(&n); err != nil {
			db.Close()
			return nil, fmt.Errorf("pg_stat_database: %w", err)
		}
	}
	return c, nil
}

func (c *sqlCounter) Close() {
	if c != nil {
		c.db.Close()
	}
}

// statsFlush is how long PostgreSQL 15 may keep an idle backend's
// counts before it reports them (PGSTAT_IDLE_INTERVAL, 10 s), and a
// little more.
const statsFlush = 10500 * time.Millisecond

// read returns the count now. For transactions it first waits out
// PostgreSQL's statistics flush, so that the server's earlier work is
// counted before and none of the run's is left out after.
func (c *sqlCounter) read(ctx context.Context) int64 {
	if c == nil {
		return 0
	}
	q := countStatements
	if c.what == "xacts" {
		q = countTransactions
		select {
		case <-time.After(statsFlush):
		case <-ctx.Done():
			return -1
		}
	}
	var n int64
	if err := c.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return -1
	}
	return n
}

// perRequest formats the count between before and after over n requests,
// less the counter's own query.
func (c *sqlCounter) perRequest(before, after int64, n int) string {
	if c == nil {
		return "sql=n/a"
	}
	if before < 0 || after < 0 || n == 0 {
		return c.what + "/req=n/a"
	}
	return fmt.Sprintf("%s/req=%.2f", c.what, float64(after-before-1)/float64(n))
}
