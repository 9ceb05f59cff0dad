package reconcile

import (
	"context"
	"errors"

	"github.com/scimd/scimd/store"
)

// Observer hears what the engine does, for the process's metrics and
// request logs: cmd/scimd sets one ([Engine.SetObserver]), so that
// reconcile needs no metrics library. Its methods are called on the
// request's goroutine and must be quick and safe for concurrent use.
type Observer interface {
	// Authenticated is called when a request's principal is known
	// ([Engine.Authenticate] succeeded), with the request's context.
	Authenticated(ctx context.Context, p store.Principal)
	// Applied is called when writes end: one for each [Engine.Apply],
	// and for a [Engine.Load], one per outcome with its row count.
	Applied(ctx context.Context, w Applied)
}

// Applied is the outcome of writes, as an [Observer] hears of it. Every
// field is from a small fixed set, fit for a metric's labels.
type Applied struct {
	Source Source
	Kind   Kind
	Op     Op // for a Load, "load"
	// Mode is "live" for writes applied, "preview" for writes planned
	// and not applied (a dry run, a preview, a load rolled back),
	// "shadow" for writes kept in a shadow connector's store.
	Mode string
	// Outcome is the plan's Action when it was made ("create", "update",
	// "none", …), else what stopped it: "held" (the deletion guard),
	// "rejected" (the input or an administrator refused it), "conflict",
	// "stale", "not_found", "forbidden", "unavailable" or "error".
	Outcome string
	// Count is how many writes had this outcome: 1 but for a Load.
	Count int
}

// OpLoad is the Op of a [Engine.Load]'s outcomes as an [Observer] hears of them.
const OpLoad Op = "load"

// SetObserver sets the engine's observer; nil: none. Call it before the
// engine is used.
func (e *Engine) SetObserver(o Observer) { e.observer = o }

// observeApply tells the observer of one Apply.
func (e *Engine) observeApply(ctx context.Context, in Input, p *Plan, err error) {
	if e.observer == nil {
		return
	}
	mode := "live"
	switch {
	case Previewing(ctx):
		mode = "preview"
	case Shadowing(ctx):
		mode = "shadow"
	}
	e.observer.Applied(ctx, Applied{Source: in.Source, Kind: in.Kind, Op: in.Op, Mode: mode, Outcome: outcomeOf(p, err), Count: 1})
}

// observeLoad tells the observer what a Load's rows did.
func (e *Engine) observeLoad(ctx context.Context, res *LoadResult, err error) {
	if e.observer == nil {
		return
	}
	if err != nil || res == nil {
		e.observer.Applied(ctx, Applied{Source: SourceCSV, Kind: KindUser, Op: OpLoad, Mode: "preview", Outcome: outcomeOf(nil, err), Count: 1})
		return
	}
	mode := "preview"
	if res.Committed {
		mode = "live"
	}
	for _, o := range []struct {
		outcome string
		n       int
	}{{"create", res.Added}, {"update", res.Updated}, {"delete", res.Deleted}, {"none", res.Unchanged},
		{"skipped", res.Skipped}, {"rejected", res.ErrorCount}} {
		if o.n > 0 {
			e.observer.Applied(ctx, Applied{Source: SourceCSV, Kind: KindUser, Op: OpLoad, Mode: mode, Outcome: o.outcome, Count: o.n})
		}
	}
}

// observeAuth tells the observer of a request's principal.
func (e *Engine) observeAuth(ctx context.Context, p store.Principal) {
	if e.observer != nil {
		e.observer.Authenticated(ctx, p)
	}
}

// outcomeOf names what a write came to (see [Applied.Outcome]).
func outcomeOf(p *Plan, err error) string {
	var (
		conflict  *store.ConflictError
		forbidden *ForbiddenError
		input     *InputError
		match     *MatchError
		rejected  *RejectedError
		state     *StateError
	)
	switch {
	case err == nil && p == nil:
		return "none"
	case err == nil:
		return p.Action
	case errors.Is(err, ErrHeld):
		return "held"
	case errors.As(err, &input), errors.As(err, &match), errors.As(err, &rejected), errors.As(err, &state):
		return "rejected"
	case errors.As(err, &conflict):
		return "conflict"
	case errors.Is(err, store.ErrStale):
		return "stale"
	case errors.Is(err, store.ErrNotFound):
		return "not_found"
	case errors.As(err, &forbidden):
		return "forbidden"
	case errors.Is(err, store.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}
