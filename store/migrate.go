package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun/migrate"
)

//go:embed migrations
var migrationFiles embed.FS

// Migrate brings the schema up to date. Migrations are SQL files embedded in
// the binary, one directory per dialect, forward-only, each in its own
// transaction. Replicas starting together wait for each other's lock.
func (db *DB) Migrate(ctx context.Context) error {
	_, err := db.Apply(ctx)
	return err
}

// Apply is Migrate, naming the migrations this call applied: none when
// another process applied them first.
//
// On PostgreSQL the lock is an advisory lock held by a transaction of its
// own (see migrationLock), taken before bun creates its tables, as
// concurrent CREATE TABLE IF NOT EXISTS of one table can fail, and released
// by the server when the holder's connection ends: a migration Job killed
// half-way leaves no lock behind. A transaction's lock, not a session's,
// so that it holds through a transaction-pooling proxy (PgBouncer), which
// keeps a transaction on one server connection but not a session. SQLite,
// one process, keeps bun's lock row.
func (db *DB) Apply(ctx context.Context) ([]string, error) {
	if db.dialect == Postgres {
		unlock, err := db.migrationLock(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	m, err := db.migrator(ctx)
	if err != nil {
		return nil, err
	}
	if db.dialect != Postgres {
		if err := lockWithRetry(ctx, m, time.Minute); err != nil {
			return nil, err
		}
		defer m.Unlock(context.WithoutCancel(ctx))
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if db.dialect == SQLite && !group.IsZero() {
		// A migration may edit the schema's text (0010): the connection
		// that ran it keeps the schema it had parsed, so it is closed and
		// the next write opens a fresh one. Other connections see the
		// schema cookie move and read the new text themselves; prepared
		// statements are prepared again on the new connection.
		db.bun.DB.SetMaxIdleConns(0)
		db.bun.DB.SetMaxIdleConns(1)
	}
	names := make([]string, 0, len(group.Migrations))
	for _, mg := range group.Migrations {
		names = append(names, mg.String())
	}
	return names, nil
}

// migrationLockKey is the advisory lock key of scimd's migrations, a
// constant of scimd's own (never change it: replicas of two versions must
// take the same lock). Advisory locks are per database: two scimd
// databases on one server do not wait for each other.
const migrationLockKey int64 = 0x2f6c5e0b9a4d7c31

// migrationLock waits for the migration lock and returns its release. The
// wait ends with ctx. A waiter tries the lock (pg_try_advisory_xact_lock)
// and, refused, ends its transaction before it tries again: behind a
// transaction-pooling proxy a waiter blocked in pg_advisory_xact_lock would
// pin a server connection, and as many replicas waiting as the pool has
// connections would leave the holder none to migrate with.
func (db *DB) migrationLock(ctx context.Context) (unlock func(), err error) {
	for {
		tx, held, err := db.tryMigrationLock(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		if held {
			return func() { tx.Rollback() }, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("migrate: waiting for another scimd's migration lock: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// tryMigrationLock begins a transaction that holds the migration lock, or
// ends it and says held false when another transaction holds the lock.
func (db *DB) tryMigrationLock(ctx context.Context) (*sql.Tx, bool, error) {
	tx, err := db.bun.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	// The holder stays idle while the migrations run on other
	// connections: a server-wide idle-in-transaction timeout must not end
	// it.
	if _, err := tx.ExecContext(ctx, "SET LOCAL idle_in_transaction_session_timeout = 0"); err != nil {
		tx.Rollback()
		return nil, false, err
	}
	var held bool
	if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock($1)", migrationLockKey).Scan(&held); err != nil || !held {
		tx.Rollback()
		return nil, false, err
	}
	return tx, true, nil
}

// Pending names the migrations not yet applied. It takes no lock (and
// creates bun's tables if missing): for one process, or after Migrate.
func (db *DB) Pending(ctx context.Context) ([]string, error) {
	m, err := db.migrator(ctx)
	if err != nil {
		return nil, err
	}
	missing, err := m.MissingMigrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	names := make([]string, 0, len(missing))
	for _, mg := range missing {
		names = append(names, mg.String())
	}
	return names, nil
}

func (db *DB) migrator(ctx context.Context) (*migrate.Migrator, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	migs := migrate.NewMigrations()
	if err := migs.Discover(sub); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db.migratorOf(ctx, migs)
}

// migratorOf returns a migrator of migs, with scimd's table names.
func (db *DB) migratorOf(ctx context.Context, migs *migrate.Migrations) (*migrate.Migrator, error) {
	m := migrate.NewMigrator(db.bun, migs,
		migrate.WithTableName("schema_migrations"),
		migrate.WithLocksTableName("schema_migration_locks"),
		migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	return m, nil
}

// lockWithRetry takes bun's table lock, waiting while another process holds it.
func lockWithRetry(ctx context.Context, m *migrate.Migrator, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrate: %w (if no other scimd is migrating, a crashed one left the lock: delete the row in schema_migration_locks)", err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
