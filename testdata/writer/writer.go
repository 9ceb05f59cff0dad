// Package writer is a source gone wrong, for deps_test.go: it holds the
// database and opens a write transaction of its own, which the policy test
// must find.
package writer

import (
	"context"

	"github.com/scimd/scimd/store"
)

// Handler writes around the engine.
type Handler struct{ db *store.DB }

// Rename opens its own transaction.
func (h Handler) Rename(ctx context.Context) error {
	return h.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return nil })
}
