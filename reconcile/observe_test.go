package reconcile_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// observed records what an Observer hears, as "source/kind/op/mode/outcome" with counts.
type observed struct {
	mu      sync.Mutex
	applied map[string]int
	authed  []string
}

func (o *observed) Authenticated(_ context.Context, p store.Principal) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.authed = append(o.authed, p.TenantName+"/"+p.ConnectorName)
}

func (o *observed) Applied(_ context.Context, w reconcile.Applied) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.applied[fmt.Sprintf("%s/%s/%s/%s/%s", w.Source, w.Kind, w.Op, w.Mode, w.Outcome)] += w.Count
}

// TestObserver: the observer hears each Apply's outcome (the plan's
// action, or what stopped it), a preview's as such, a load's rows by
// outcome, and each successful authentication, never a failed one.
func TestObserver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		o := &observed{applied: map[string]int{}}
		e.SetObserver(o)
		in := reconcile.Input{Source: reconcile.SourceSCIM, Principal: by, Kind: reconcile.KindUser, Op: reconcile.Create,
			Attrs: map[string]any{"userName": "alice"}}
		p, err := e.Apply(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(ctx, in); err == nil { // the userName is taken
			t.Fatal("a second create of alice applied")
		}
		replace := in
		replace.Op, replace.ID, replace.Attrs = reconcile.Replace, p.User.ID, map[string]any{"userName": "alice"}
		if _, err := e.Apply(ctx, replace); err != nil { // changes nothing
			t.Fatal(err)
		}
		missing := replace
		missing.ID = "00000000-0000-0000-0000-000000000000"
		e.Apply(ctx, missing)
		preview, _ := reconcile.Preview(ctx)
		if _, err := e.Apply(preview, reconcile.Input{Source: reconcile.SourceSCIM, Principal: by, Kind: reconcile.KindUser,
			Op: reconcile.Create, Attrs: map[string]any{"userName": "bob"}}); err != nil {
			t.Fatal(err)
		}
		res, err := e.Load(ctx, by, seq(csvRow(2, "carol"), csvRow(3, "dan")), reconcile.LoadOptions{})
		if err != nil || !res.Committed {
			t.Fatal(res, err)
		}
		want := map[string]int{
			"scim/User/create/live/create":     1,
			"scim/User/create/live/conflict":   1,
			"scim/User/replace/live/none":      1,
			"scim/User/replace/live/not_found": 1,
			"scim/User/create/preview/create":  1,
			"csv/User/load/live/create":        2,
		}
		if fmt.Sprint(o.applied) != fmt.Sprint(want) {
			t.Errorf("observed %v\nwant     %v", o.applied, want)
		}

		tok, err := e.IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Authenticate(ctx, "Bearer "+tok.Secret, "acme", store.KindSCIM); err != nil {
			t.Fatal(err)
		}
		e.Authenticate(ctx, "Bearer "+tok.Secret, "other", store.KindSCIM)
		e.Authenticate(ctx, "Bearer scimd_nothing", "acme", store.KindSCIM)
		if fmt.Sprint(o.authed) != "[acme/okta]" {
			t.Errorf("authenticated %v, want [acme/okta]", o.authed)
		}
	})
}
