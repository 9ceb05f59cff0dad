package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite"
)

// Dialect names the SQL database behind a [DB].
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is the scimd database. Reads run on it directly; writes run in a
// transaction opened with [DB.RunInTx]. It is safe for concurrent use.
//
// On SQLite, which has one writer at a time, writes go through one
// connection of their own and queue for it in Go, first come first
// served, while reads run in parallel on a pool of read-only connections
// (WAL lets them read while the writer writes). A read made with the
// context of a running [DB.RunInTx] runs in that transaction, on either
// database: it sees the transaction's own writes.
//
// Only reconcile, the write pipeline, and cmd/scimd (migrations, wiring)
// hold a DB; the sources (scim, admin, …) get its [Reader].
type DB struct {
	reader
	bun *bun.DB // the writer: every write and migration
	// read is the pool reads run on: on PostgreSQL the writer itself.
	read *bun.DB
	// writeQueue holds the SQLite writer connection while a transaction
	// runs; nil on PostgreSQL, whose writers run in parallel.
	writeQueue chan struct{}
	// prep are the SQLite writer's prepared statements; nil on PostgreSQL.
	prep *prepared
	// watch says when cached principals go stale; nil on SQLite, which
	// caches none (see principals.go).
	watch *principalWatch
}

// defaultPoolSize is how many connections one process opens to PostgreSQL
// at most, unless the URL's pool_max_conns says otherwise.
const defaultPoolSize = 32

// poolSize takes the URL parameter pool_max_conns (pgxpool's name for it)
// out of q, since the server would take it for a setting of its own, and
// returns it, or defaultPoolSize. Replicas times this must stay below the
// server's max_connections, less what else connects, unless a pooler such
// as PgBouncer stands between.
func poolSize(q url.Values) (int, error) {
	v := q.Get("pool_max_conns")
	q.Del("pool_max_conns")
	if v == "" {
		return defaultPoolSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 {
		return 0, fmt.Errorf("pool_max_conns=%q: a whole number of connections, at least 2 (migrations hold one while they run on another)", v)
	}
	return n, nil
}

// Open connects to the database named by dsn and checks that it answers.
// It does not migrate: call [DB.Migrate].
//
// A dsn starting with postgres:// or postgresql:// opens PostgreSQL through
// pgx in simple-protocol mode (bun formats its own SQL, so server-side
// prepared statements would only pile up). Anything else is an SQLite file:
// "sqlite:path", "file:path" or a bare path; it is opened in WAL mode with
// synchronous=NORMAL, foreign keys on, one writer connection whose
// transactions take the write lock at BEGIN, and a pool of read-only
// readers. A PostgreSQL URL may say pool_max_conns=N: the most
// connections this process opens (default 32).
//
// opts add to every connection pool: [WithQueryHook].
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var db *DB
	resolver := &inTx{}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("open store: database URL: %w", err)
		}
		q := u.Query()
		if q.Get("default_query_exec_mode") == "" {
			q.Set("default_query_exec_mode", "simple_protocol")
		}
		// A server that does not answer (a partition, a host gone) fails
		// a new connection in seconds, so requests answer 503 rather than
		// wait for the kernel to give up on the TCP handshake (minutes).
		if q.Get("connect_timeout") == "" {
			q.Set("connect_timeout", "5")
		}
		conns, err := poolSize(q)
		if err != nil {
			return nil, fmt.Errorf("open store: database URL: %w", err)
		}
		u.RawQuery = q.Encode()
		sqldb, err := sql.Open("pgx", u.String())
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		sqldb.SetMaxOpenConns(conns)
		sqldb.SetMaxIdleConns(conns)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		bdb := o.hooked(bun.NewDB(sqldb, pgdialect.New(), bun.WithConnResolver(resolver)))
		watch, err := newPrincipalWatch(u.String())
		if err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
		db = &DB{reader: reader{idb: routed{bdb, resolver}, dialect: Postgres, hints: newPageHints()}, bun: bdb, read: bdb, watch: watch}
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if path == "" {
			return nil, fmt.Errorf("open store: empty SQLite path")
		}
		path, _, _ = strings.Cut(path, "?")
		if dir := filepath.Dir(path); dir != "." {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("open store: SQLite directory: %w", err)
			}
		}
		registerSQLiteFunctions()
		// modernc.org/sqlite's own registration, not sqliteshim's: the shim
		// picks this same pure-Go driver on every platform scimd builds for,
		// but as a driver instance of its own, which never sees functions
		// registered with the package (scimd_fold below).
		const common = "&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)"
		writer, err := sql.Open("sqlite", "file:"+path+
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"+common)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		// One writer connection, so that writers queue in writeQueue
		// rather than in SQLite's busy handler, which sleeps up to 100 ms
		// at a time between tries. The busy timeout is for other
		// processes (a scimd command beside the server).
		writer.SetMaxOpenConns(1)
		writer.SetMaxIdleConns(1)
		// The writer first: it makes the file and puts it in WAL mode.
		if err := writer.PingContext(ctx); err != nil {
			writer.Close()
			return nil, fmt.Errorf("ping sqlite: %w", err)
		}
		readers, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)"+common)
		if err != nil {
			writer.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
		readers.SetMaxOpenConns(8)
		readers.SetMaxIdleConns(8)
		read := o.hooked(bun.NewDB(readers, sqlitedialect.New(), bun.WithConnResolver(resolver)))
		db = &DB{reader: reader{idb: routed{read, resolver}, dialect: SQLite, hints: newPageHints()}, bun: o.hooked(bun.NewDB(writer, sqlitedialect.New())),
			read: read, writeQueue: make(chan struct{}, 1), prep: &prepared{}}
	}
	resolver.db = db
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

var sqliteFunctions sync.Once

// registerSQLiteFunctions gives SQLite scimd_fold, the [Fold] that
// PostgreSQL has as lower(): SQLite's own lower() folds only ASCII. The
// driver's registry is process-wide, hence the Once.
func registerSQLiteFunctions() {
	sqliteFunctions.Do(func() {
		sqlite.MustRegisterDeterministicScalarFunction("scimd_fold", 1,
			func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				switch v := args[0].(type) {
				case string:
					return Fold(v), nil
				case []byte:
					return Fold(string(v)), nil
				}
				return args[0], nil
			})
	})
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers; /readyz calls it.
func (db *DB) Ping(ctx context.Context) error {
	for _, b := range []*bun.DB{db.bun, db.read} {
		if err := b.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s: %w", db.dialect, err)
		}
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.watch != nil {
		db.watch.stop()
	}
	if db.read == db.bun {
		return db.bun.Close()
	}
	db.prep.close()
	return errors.Join(db.read.Close(), db.bun.Close())
}

// reader holds the queries that run on the database or inside a transaction.
type reader struct {
	idb     bun.IDB
	dialect Dialect
	// prep are the writer's prepared statements, in an SQLite
	// transaction; nil elsewhere.
	prep *prepared
	// hints speed up index paging; nil in transactions, which may see
	// rows that never commit.
	hints *pageHints
}

// Reader is the read-only view of the database that sources hold: every
// query of [DB], and no way to write. Writes go through reconcile, so that
// each has its audit event; deps_test.go checks that no source holds more.
type Reader struct{ reader }

// Reader returns the database's read-only view.
func (db *DB) Reader() Reader { return Reader{db.reader} }

// Tx is a write transaction. Its methods are the only way to change data.
type Tx struct {
	reader
}

// RunInTx runs fn in one transaction, committing when fn returns nil and
// rolling back otherwise. On PostgreSQL a serialization failure or deadlock
// (40001, 40P01) re-runs fn up to three times, so fn must not keep state
// between calls beyond what it returns.
//
// Called with the context of a running RunInTx of db, it runs fn in a
// savepoint of that transaction instead: fn's error rolls back fn's
// writes only, and nothing is committed before the outer fn returns. A
// RunInTx started inside fn with a context not derived from fn's would, on
// SQLite, wait for the writer that fn holds: never do that.
func (db *DB) RunInTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if open := db.openTx(ctx); open != nil {
		err := open.tx.RunInTx(ctx, nil, func(_ context.Context, sp bun.Tx) error {
			// bun hands fn the outer transaction's context; ctx is fn's own.
			return fn(ctx, &Tx{reader{idb: sp, dialect: db.dialect, prep: db.prep}})
		})
		return mapError(err)
	}
	if db.writeQueue != nil {
		select {
		case db.writeQueue <- struct{}{}: // waiting senders are served in order
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-db.writeQueue }()
		// The writer is ours and idle: the one moment to prepare on it.
		db.prep.prepare(ctx, db.bun.DB)
	}
	open := &openTx{db: db}
	ctx = context.WithValue(ctx, txKey{}, open)
	defer func() { open.tx = nil }() // a context kept past the end reads outside
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = db.bun.RunInTx(ctx, nil, func(_ context.Context, btx bun.Tx) error {
			open.tx = &btx
			return fn(ctx, &Tx{reader{idb: btx, dialect: db.dialect, prep: db.prep}})
		})
		if !isRetryable(err) {
			break
		}
	}
	return mapError(err)
}

// txKey keys the [openTx] of a running [DB.RunInTx] in its context.
type txKey struct{}

// openTx is the transaction a [DB.RunInTx] runs, while it runs.
type openTx struct {
	db *DB
	tx *bun.Tx
}

// inTx sends a read made through a [DB] with the context of a running
// [DB.RunInTx] into that transaction: on SQLite the read-only pool would
// not see the transaction's writes, and on PostgreSQL another connection
// would not either.
type inTx struct{ db *DB }

func (r *inTx) ResolveConn(ctx context.Context, _ bun.Query) bun.IConn {
	if open := r.db.openTx(ctx); open != nil {
		return open.tx.Tx
	}
	return nil
}

func (*inTx) Close() error { return nil }

// routed is the DB's side of [inTx] for the statements bun's query
// builders do not make: a raw QueryContext goes where a built query would.
type routed struct {
	*bun.DB
	to *inTx
}

func (r routed) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if open := r.to.db.openTx(ctx); open != nil {
		return open.tx.QueryContext(ctx, query, args...)
	}
	return r.DB.QueryContext(ctx, query, args...)
}

// openTx returns db's transaction running in ctx, or nil.
func (db *DB) openTx(ctx context.Context) *openTx {
	if open, ok := ctx.Value(txKey{}).(*openTx); ok && open.db == db && open.tx != nil {
		return open
	}
	return nil
}

// now is the store's clock: UTC, truncated to what both databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
