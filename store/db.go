package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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
// Only reconcile, the write pipeline, and cmd/scimd (migrations, wiring)
// hold a DB; the sources (scim, admin, …) get its [Reader].
type DB struct {
	reader
	bun *bun.DB
}

// Open connects to the database named by dsn and checks that it answers.
// It does not migrate: call [DB.Migrate].
//
// A dsn starting with postgres:// or postgresql:// opens PostgreSQL through
// pgx in simple-protocol mode (bun formats its own SQL, so server-side
// prepared statements would only pile up). Anything else is an SQLite file:
// "sqlite:path", "file:path" or a bare path; it is opened in WAL mode with a
// busy timeout, foreign keys on and write transactions that take the write
// lock at BEGIN, so concurrent writers queue instead of failing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		sqldb *sql.DB
		bdb   *bun.DB
		d     Dialect
	)
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
		u.RawQuery = q.Encode()
		sqldb, err = sql.Open("pgx", u.String())
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		sqldb.SetMaxOpenConns(32)
		sqldb.SetMaxIdleConns(32)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		bdb = bun.NewDB(sqldb, pgdialect.New())
		d = Postgres
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
		var err error
		// modernc.org/sqlite's own registration, not sqliteshim's: the shim
		// picks this same pure-Go driver on every platform scimd builds for,
		// but as a driver instance of its own, which never sees functions
		// registered with the package (scimd_fold below).
		sqldb, err = sql.Open("sqlite", "file:"+path+
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
			"&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		// SQLite has one writer at a time; a small pool serves concurrent
		// readers under WAL without queueing writers behind a crowd.
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
		bdb = bun.NewDB(sqldb, sqlitedialect.New())
		d = SQLite
	}
	db := &DB{reader: reader{idb: bdb, dialect: d}, bun: bdb}
	if err := db.Ping(ctx); err != nil {
		bdb.Close()
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
	if err := db.bun.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect, err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error { return db.bun.Close() }

// reader holds the queries that run on the database or inside a transaction.
type reader struct {
	idb     bun.IDB
	dialect Dialect
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
func (db *DB) RunInTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = db.bun.RunInTx(ctx, nil, func(ctx context.Context, btx bun.Tx) error {
			return fn(ctx, &Tx{reader{idb: btx, dialect: db.dialect}})
		})
		if !isRetryable(err) {
			break
		}
	}
	return mapError(err)
}

// now is the store's clock: UTC, truncated to what both databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
