package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/uptrace/bun"
)

// Pools returns the connection pools behind the database by name, for
// their statistics (sql.DB.Stats): on PostgreSQL "main"; on SQLite
// "writer", the one writer connection, and "reader", the read-only pool.
func (db *DB) Pools() map[string]*sql.DB {
	if db.read == db.bun {
		return map[string]*sql.DB{"main": db.bun.DB}
	}
	return map[string]*sql.DB{"writer": db.bun.DB, "reader": db.read.DB}
}

// Option is an option of [Open].
type Option func(*options)

type options struct{ hooks []bun.QueryHook }

// WithQueryHook has every query of the database go through h: a
// tracer's (bunotel).
func WithQueryHook(h bun.QueryHook) Option {
	return func(o *options) { o.hooks = append(o.hooks, h) }
}

// hooked returns b with the options' query hooks.
func (o options) hooked(b *bun.DB) *bun.DB {
	for _, h := range o.hooks {
		b = b.WithQueryHook(h)
	}
	return b
}

// OutboxBacklog reports the messages waiting to be sent, of every
// tenant, and when the oldest of them was queued (zero when none wait).
func (db *DB) OutboxBacklog(ctx context.Context) (pending int64, oldest time.Time, err error) {
	pending, err = db.read.NewSelect().Model((*Message)(nil)).Where("state = ?", MessagePending).Count(ctx)
	if err != nil || pending == 0 {
		return pending, time.Time{}, mapError(err)
	}
	var m Message
	err = db.read.NewSelect().Model(&m).Column("created_at").Where("state = ?", MessagePending).
		OrderExpr("id").Limit(1).Scan(ctx)
	if err != nil {
		return pending, time.Time{}, mapError(err)
	}
	return pending, m.CreatedAt, nil
}

// ImportJobStates counts the import jobs of every tenant by state.
func (db *DB) ImportJobStates(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	err := db.read.NewSelect().Model((*ImportJob)(nil)).Column("state").ColumnExpr("count(*) AS n").
		Group("state").Scan(ctx, &rows)
	if err != nil {
		return nil, mapError(err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}
