package reconcile

import (
	"context"
	"sync"

	"github.com/scimd/scimd/reconcile/rules"
)

// Recorder collects the plans that the writes made with a context produce,
// in order: what a request did (the request log), or, in a preview, what
// it would have done (replay, shadow mode). It is safe for concurrent use.
type Recorder struct {
	preview bool

	mu    sync.Mutex
	plans []Recorded
}

// Recorded is one write a [Recorder] saw: its plan, or the error that
// stopped it (Plan nil).
type Recorded struct {
	Plan *Plan
	Err  error
}

type recorderKey struct{}

// Record returns a context whose writes ([Engine.Apply]) are applied as
// usual and recorded in the returned Recorder.
func Record(ctx context.Context) (context.Context, *Recorder) {
	r := &Recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

// Preview returns a context whose writes are planned and recorded but not
// applied: [Engine.Apply] made with it answers as [Engine.Plan] does and
// writes nothing, so a request run with it shows what it would do now.
// A create's plan then has no id or version, and a later write of the
// same request does not see what an earlier one would have changed.
func Preview(ctx context.Context) (context.Context, *Recorder) {
	r := &Recorder{preview: true}
	return context.WithValue(ctx, recorderKey{}, r), r
}

// Previewing reports whether ctx is that of a [Preview].
func Previewing(ctx context.Context) bool {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r != nil && r.preview
}

// Plans returns what was recorded so far.
func (r *Recorder) Plans() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.plans...)
}

func (r *Recorder) add(p *Plan, err error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		p = nil
	}
	r.plans = append(r.plans, Recorded{Plan: p, Err: err})
}

type draftKey struct{}

// Draft returns a context whose previews map through cfg, a tenant's
// configuration being edited (see [ParseTenantConfig]), instead of the one
// in force: a logged request replayed under rules not yet saved. Only a
// [Preview] reads it; a write made with the context maps as saved.
func Draft(ctx context.Context, cfg *rules.Config) context.Context {
	return context.WithValue(ctx, draftKey{}, cfg)
}

// draft is the configuration a preview made with ctx maps through in
// place of the saved one, or nil.
func draft(ctx context.Context) *rules.Config {
	if !Previewing(ctx) {
		return nil
	}
	cfg, _ := ctx.Value(draftKey{}).(*rules.Config)
	return cfg
}

func recorder(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}
