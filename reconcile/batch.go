package reconcile

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/scimd/scimd/store"
)

// Batch runs fn, and every [Engine.Apply] made with the context fn is
// given, in one database transaction, for sources that hand in many
// writes at once (SCIM /Bulk). Each Apply runs in a savepoint of it, so
// one that fails rolls back alone and fn carries on; the writes that
// succeeded are committed together when fn returns nil, and none of them
// when fn fails or the process stops first. A batch cut short is
// therefore simply sent again.
//
// Sending a batch again may also repeat one that did commit, its answer
// lost on the way. So inside a batch, a Create of a user that the
// connector already has, and in whom everything the Create sends already
// holds, is that user's plan rather than a conflict (see replayed): the
// retry answers as the first attempt did, and what refers to the user
// still finds them.
//
// On SQLite the batch holds the one writer for its whole run; other
// writers wait for it.
func (e *Engine) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	return e.db.RunInTx(ctx, func(ctx context.Context, _ *store.Tx) error {
		return fn(context.WithValue(ctx, batchKey{}, e))
	})
}

// batchKey marks the context of an [Engine.Batch] with its engine.
type batchKey struct{}

// replayed turns the conflict err of a user Create in a batch into the
// plan of the user that the connector already has, when an Upsert of the
// same input would change nothing: what the Create sends already holds,
// its rules grant nothing new. Otherwise it reports false and the
// conflict stands, as it does outside a batch (RFC 7644 §3.3: a duplicate
// is a 409).
func (e *Engine) replayed(ctx context.Context, in Input, err error) (*Plan, bool) {
	var conflict *store.ConflictError
	if ctx.Value(batchKey{}) != e || in.Kind != KindUser || in.Op != Create || !errors.As(err, &conflict) {
		return nil, false
	}
	in.Op = Upsert
	p, err := e.Plan(ctx, in) // reads in the batch's transaction
	if err != nil || p.Match == nil || !p.Match.Linked || !sameAsStored(p) {
		return nil, false
	}
	p.Action = "none"
	return p, true
}

// sameAsStored reports whether writing the Upsert plan p would leave its
// matched user as stored: document, external ID, status, access window
// and grants.
func sameAsStored(p *Plan) bool {
	before, after := p.Match.user, *p.User
	if after.ExternalID != before.ExternalID || after.Status != before.Status ||
		!after.AccessStart.Equal(before.AccessStart) || !after.AccessEnd.Equal(before.AccessEnd) {
		return false
	}
	for _, g := range p.Grants {
		if g.Op != "keep" {
			return false
		}
	}
	// As stored: the document read back has JSON's types, the input Go's.
	a, errA := json.Marshal(after.Attrs)
	b, errB := json.Marshal(before.Attrs)
	return errA == nil && errB == nil && string(a) == string(b)
}
