package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestCreateRoundTrips: a user's create costs at most four statements,
// BEGIN and COMMIT included (each a round trip to PostgreSQL), and one on
// PostgreSQL once the tenant's configuration version is known: what the
// unique index decides is not read first. Yet a preview still says that
// a taken userName conflicts, and a create still matches the user of that
// name whom another connector manages (and links it), as a preview says.
func TestCreateRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
      - name: entra
`)
		statements := db.CountStatements()
		ctx := context.Background()
		var first string
		for i, ext := range []string{"", "00u2"} {
			in := w.input("okta", reconcile.Create, ext, user(fmt.Sprintf("u%d@example.com", i),
				"emails", email(fmt.Sprintf("u%d@example.com", i)), "title", "Guide"))
			before := statements.Load()
			p, err := w.e.Apply(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				first = p.User.ID
			}
			n := statements.Load() - before
			if n > 4 {
				t.Errorf("create with external ID %q: %d statements, want at most 4", ext, n)
			}
			// Once the engine knows the tenant's configuration version, a
			// create on PostgreSQL is one statement, without a transaction.
			if i > 0 && db.Dialect() == store.Postgres && n != 1 {
				t.Errorf("create with external ID %q: %d statements on PostgreSQL, want 1", ext, n)
			}
		}

		taken := w.input("okta", reconcile.Create, "", user("U0@example.com"))
		_, perr := w.e.Plan(ctx, taken)
		_, aerr := w.e.Apply(ctx, taken)
		var conflict *store.ConflictError
		if !errors.As(perr, &conflict) || aerr == nil || perr.Error() != aerr.Error() {
			t.Errorf("a taken userName: preview %v, apply %v; want the same conflict", perr, aerr)
		}

		other := w.input("entra", reconcile.Create, "e-1", user("u1@EXAMPLE.com"))
		preview, err := w.e.Plan(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		applied := w.apply(other)
		if preview.Action != "link" || applied.Action != "link" || applied.User.ID != first {
			t.Errorf("another connector's create of a known userName: preview %s, apply %s of %s; want both to link %s",
				preview.Action, applied.Action, applied.User.ID, first)
		}
	})
}

// TestCreateAfterConfigSave: a create maps with the configuration saved
// last, also when the engine last saw an older one (another replica may
// have saved it): the create made without a transaction writes only while
// the version it mapped with is current.
func TestCreateAfterConfigSave(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
`)
		if p := w.apply(w.input("okta", reconcile.Create, "", user("a@example.com"))); p.User.Status != store.StatusActive {
			t.Fatalf("before the save: %s", p.User.Status)
		}
		// Saved behind the engine's back, as another replica would.
		const saved = `
tenants:
  - name: acme
    connectors:
      - name: okta
        rules:
          - name: all-disabled
            if: "true"
            status: disabled
`
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.SetTenantConfig(ctx, w.tenant.ID, saved)
			return err
		})
		if p := w.apply(w.input("okta", reconcile.Create, "", user("b@example.com"))); p.User.Status != store.StatusDisabled || len(p.Fired) != 1 {
			t.Errorf("after the save: status %s, rules %v; want the saved rule's", p.User.Status, p.Fired)
		}
	})
}
