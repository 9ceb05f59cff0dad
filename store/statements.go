package store

import (
	"context"
	"sync/atomic"

	"github.com/uptrace/bun"
)

// CountStatements makes db count every SQL statement it sends from now
// on, BEGIN and COMMIT included (each is a round trip to PostgreSQL), and
// returns the counter. It guards the number of statements a request costs
// in tests and benchmarks; call it before db is shared.
func (db *DB) CountStatements() *atomic.Int64 {
	h := &statementCounter{}
	shared := db.read == db.bun
	db.bun = db.bun.WithQueryHook(h)
	if shared {
		db.read = db.bun
	} else {
		db.read = db.read.WithQueryHook(h) // SQLite's readers
	}
	// Reads keep going into the transaction their context runs.
	if r, ok := db.idb.(routed); ok {
		db.idb = routed{db.read, r.to}
	} else {
		db.idb = db.read
	}
	if db.prep != nil {
		db.prep.count = &h.n
	}
	return &h.n
}

type statementCounter struct{ n atomic.Int64 }

func (h *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	h.n.Add(1)
	return ctx
}

func (h *statementCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// RunAtomic runs fn, whose writes are one statement, such as
// [Tx.CreateUser]'s: on PostgreSQL outside a transaction (the statement is
// atomic on its own, and BEGIN and COMMIT would be two more round trips),
// elsewhere, and inside a running [DB.RunInTx] (a Bulk's), in one, as
// [DB.RunInTx] does. fn's reads lock nothing.
func (db *DB) RunAtomic(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if open, _ := ctx.Value(txKey{}).(*openTx); db.dialect != Postgres || open != nil && open.db == db {
		return db.RunInTx(ctx, fn)
	}
	return mapError(fn(ctx, &Tx{reader{idb: db.bun, dialect: db.dialect}}))
}
