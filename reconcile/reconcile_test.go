package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func setup(t *testing.T, db *store.DB) (store.Tenant, store.Connector) {
	t.Helper()
	var (
		tenant    store.Tenant
		connector store.Connector
	)
	err := db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var err error
		tenant, connector, err = tx.EnsureConnector(ctx, "acme", "okta")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tenant, connector
}

func TestPlanWritesNothingAndApplyMatchesIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tenant, conn := setup(t, db)
		e := reconcile.New(db, nil)
		in := reconcile.Input{
			Source: reconcile.SourceSCIM, Principal: store.Principal{TenantID: tenant.ID, ConnectorID: conn.ID},
			Kind: reconcile.KindUser, Op: reconcile.Create,
			Attrs: map[string]any{"userName": "alice", "displayName": "Alice"}, ExternalID: "00u1",
		}
		dry, err := e.Plan(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if page, _ := db.Users(ctx, store.Query{TenantID: tenant.ID, Count: 10}); page.Total != 0 {
			t.Fatalf("Plan wrote %d users", page.Total)
		}
		applied, err := e.Apply(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if dry.User.UserName != applied.User.UserName || dry.User.DisplayName != applied.User.DisplayName ||
			dry.User.Active != applied.User.Active || fmt.Sprint(dry.User.Attrs) != fmt.Sprint(applied.User.Attrs) {
			t.Fatalf("dry run %+v differs from apply %+v", dry.User, applied.User)
		}
		events, err := db.AuditEvents(ctx, tenant.ID, applied.User.ID)
		if err != nil || len(events) != 1 || events[0].Source != "scim" || events[0].Action != "create" || events[0].ConnectorID != conn.ID {
			t.Fatalf("audit events = %+v, %v", events, err)
		}
		after, _ := events[0].Detail["after"].(map[string]any)
		if after["userName"] != "alice" {
			t.Fatalf("audit detail = %v", events[0].Detail)
		}
	})
}

// TestConcurrentReplace: writers without If-Match all land (Apply plans
// again after losing a race); writers that pin the same version: exactly
// one wins and the rest get ErrStale.
func TestConcurrentReplace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tenant, conn := setup(t, db)
		e := reconcile.New(db, nil)
		created, err := e.Apply(ctx, reconcile.Input{
			Source: reconcile.SourceSCIM, Principal: store.Principal{TenantID: tenant.ID, ConnectorID: conn.ID},
			Kind: reconcile.KindUser, Op: reconcile.Create, Attrs: map[string]any{"userName": "alice"},
		})
		if err != nil {
			t.Fatal(err)
		}
		replace := func(i int, ifMatch int64) error {
			_, err := e.Apply(ctx, reconcile.Input{
				Source: reconcile.SourceSCIM, Principal: store.Principal{TenantID: tenant.ID, ConnectorID: conn.ID},
				Kind: reconcile.KindUser, Op: reconcile.Replace, ID: created.User.ID, IfMatch: ifMatch,
				Attrs: map[string]any{"userName": "alice", "nickName": fmt.Sprint(i, "@", ifMatch)}, // each a change
			})
			return err
		}
		const writers = 4
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { errs[i] = replace(i, 1) })
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrStale):
				t.Fatalf("If-Match writer: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d writers holding version 1 won, want exactly 1", wins)
		}

		for i := range writers {
			wg.Go(func() { errs[i] = replace(i, 0) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("writer without If-Match: %v", err)
			}
		}
		u, err := db.User(ctx, tenant.ID, conn.ID, created.User.ID)
		if err != nil || u.Version != 2+writers {
			t.Fatalf("version = %d (%v), want %d: one write per writer", u.Version, err, 2+writers)
		}
	})
}
