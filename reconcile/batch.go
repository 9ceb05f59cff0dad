package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

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
// lost on the way. So inside a batch, each write that already took effect
// answers as the first attempt did (see replayed), so that the retry
// completes, what refers to its resources still finds them, and
// failOnErrors does not stop it at the first: a Create of a user or group
// that the connector already has, in which everything the Create sends
// already holds, is that resource's plan rather than a conflict; a Delete
// of a resource that this connector deleted is done. A Replace or Patch
// already applied changes nothing anyway (Action "none").
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

// replayed turns the error err of a write in a batch into the plan of
// the write as it already took effect, when in repeats a write that
// committed: it reports false, and err stands as it does outside a batch,
// otherwise.
//
//   - A Create that conflicts (RFC 7644 §3.3: a duplicate is a 409) with
//     the user or group that the connector already has, when an Upsert of
//     the user, or a Replace of the group, with the same input would
//     change nothing: what the Create sends already holds (the group's
//     displayName, externalId and members exactly), its rules grant
//     nothing new. The plan is that resource's, Action "none".
//   - A Delete of a resource that is not found, when the tenant's audit
//     log shows this connector deleted it. Outside a batch a second
//     DELETE is a 404 (RFC 7644 §3.6); in a retried batch it is the
//     operation that took effect the first time, and answers as it did
//     then (204). Action "none", no resource.
func (e *Engine) replayed(ctx context.Context, in Input, err error) (*Plan, bool) {
	if ctx.Value(batchKey{}) != e || err == nil {
		return nil, false
	}
	if in.Op == Delete {
		if !errors.Is(err, store.ErrNotFound) || !e.deletedBy(ctx, in) {
			return nil, false
		}
		return &Plan{Input: in, Action: "none"}, true
	}
	var conflict *store.ConflictError
	if in.Op != Create || !errors.As(err, &conflict) {
		return nil, false
	}
	switch in.Kind {
	case KindUser:
		in.Op = Upsert
		p, err := e.Plan(ctx, in) // reads in the batch's transaction
		if err != nil || p.Match == nil || !p.Match.Linked || !sameAsStored(p) {
			return nil, false
		}
		p.Action = "none"
		return p, true
	case KindGroup:
		name, _ := in.Attrs["displayName"].(string)
		g, err := e.db.GroupNamed(ctx, in.TenantID, name)
		if err != nil || g.ManagedBy != in.ConnectorID {
			return nil, false
		}
		in.Op, in.ID = Replace, g.ID
		p, err := e.Plan(ctx, in)
		if err != nil || p.Action != "none" {
			return nil, false
		}
		return p, true
	}
	return nil, false
}

// deletedBy reports whether the tenant's audit log shows in's connector
// deleting the resource in names.
func (e *Engine) deletedBy(ctx context.Context, in Input) bool {
	events, err := e.db.AuditEvents(ctx, in.TenantID, in.ID)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(events, func(ev store.AuditEvent) bool {
		return ev.Action == string(Delete) && ev.ResourceType == string(in.Kind) && ev.ConnectorID == in.ConnectorID
	})
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
