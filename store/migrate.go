package store

import (
	"context"
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
	m, err := db.migrator(ctx)
	if err != nil {
		return err
	}
	if err := lockWithRetry(ctx, m, time.Minute); err != nil {
		return err
	}
	defer m.Unlock(context.WithoutCancel(ctx))
	group, err := m.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
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
	return nil
}

// Pending names the migrations not yet applied.
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
