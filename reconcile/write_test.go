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

// TestCreateRoundTrips: a user's create costs at most four statements on
// PostgreSQL, BEGIN and COMMIT included (each a round trip), and one once
// the tenant's configuration version is known (on SQLite, seven prepared
// statements, see below): what the
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
			if want := int64(4); db.Dialect() == store.Postgres && n > want {
				t.Errorf("create with external ID %q: %d statements, want at most %d", ext, n, want)
			}
			// On SQLite a statement is a call in the process, not a round
			// trip, and the writes are statements prepared once, each run
			// alone: BEGIN, the user, its link, external ID, attribute
			// sources and audit event, COMMIT; the configuration version
			// once known is not read again.
			if want := int64(7); db.Dialect() == store.SQLite && n > want {
				t.Errorf("create with external ID %q: %d statements on SQLite, want at most %d", ext, n, want)
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
			_, err := tx.SetTenantConfig(ctx, w.tenant.ID, saved, reconcile.AnyVersion)
			return err
		})
		if p := w.apply(w.input("okta", reconcile.Create, "", user("b@example.com"))); p.User.Status != store.StatusDisabled || len(p.Fired) != 1 {
			t.Errorf("after the save: status %s, rules %v; want the saved rule's", p.User.Status, p.Fired)
		}
	})
}

// TestNoOpWriteLinks: a connector that writes a user it does not manage
// yet, changing nothing in them (Entra's PUT of the user it found by
// userName, as stored), still takes them on: the write links it, as a
// write that changes something does, so that it then manages the user
// (its create of them is a duplicate, a group push remaps them). The user
// keeps its version (RFC 7644 §3.5.2.1); the link has its audit event.
// Once linked, the same write is a plain no-op.
func TestNoOpWriteLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
      - name: entra
`)
		ctx := context.Background()
		for _, op := range []reconcile.Op{reconcile.Replace, reconcile.Upsert} {
			name := fmt.Sprintf("%s@example.com", op)
			u := w.apply(w.input("okta", reconcile.Create, "", user(name, "title", "Guide"))).User
			in := w.input("entra", op, "", user(name, "title", "Guide"))
			in.ID = u.ID
			p := w.apply(in)
			linked, err := db.Linked(ctx, w.conns["entra"].ID, u.PK)
			if err != nil {
				t.Fatal(err)
			}
			after, err := db.User(ctx, w.tenant.ID, 0, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			events, err := db.AuditEvents(ctx, w.tenant.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !linked || p.Action != "link" || after.Version != u.Version || !after.UpdatedAt.Equal(u.UpdatedAt) || len(events) != 2 || events[1].Action != "link" {
				t.Errorf("%s of an unchanged user by a connector that does not manage them: action %s, linked %v, version %d→%d, %d events",
					op, p.Action, linked, u.Version, after.Version, len(events))
			}
			if p := w.apply(in); p.Action != "none" {
				t.Errorf("%s again, once linked: action %s, want none", op, p.Action)
			}
			create := w.input("entra", reconcile.Create, "", user(name, "title", "Guide"))
			var conflict *store.ConflictError
			if _, err := w.e.Apply(ctx, create); !errors.As(err, &conflict) {
				t.Errorf("entra's create of the user it now manages: %v, want a conflict", err)
			}
		}
	})
}

// TestPreviewWritesNothing: a write made with a Preview context answers
// with the plan a live write makes and writes nothing; one made with a
// Record context writes, and both record the plan.
func TestPreviewWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `
tenants:
  - name: acme
    connectors:
      - name: okta
`)
		in := w.input("okta", reconcile.Create, "00u9", user("p@example.com", "emails", email("p@example.com")))
		ctx, rec := reconcile.Preview(context.Background())
		p, err := w.e.Apply(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Action != "create" || p.User.UserName != "p@example.com" {
			t.Errorf("preview: action %q user %q, want create p@example.com", p.Action, p.User.UserName)
		}
		if got := rec.Plans(); len(got) != 1 || got[0].Plan != p {
			t.Errorf("preview recorded %v, want the one plan", got)
		}
		if _, err := w.e.Plan(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		live, rec2 := reconcile.Record(context.Background())
		p2, err := w.e.Apply(live, in)
		if err != nil {
			t.Fatal(err)
		}
		// Had the preview written, the live create would have conflicted
		// (the connector creating someone it already has).
		if p2.Action != "create" || p2.User.ID == "" {
			t.Errorf("live after preview: action %q id %q, want a create with an id", p2.Action, p2.User.ID)
		}
		if got := rec2.Plans(); len(got) != 1 || got[0].Plan != p2 {
			t.Errorf("record recorded %v, want the one plan", got)
		}
		if _, err := w.e.Apply(live, in); err == nil {
			t.Error("creating the same user again: no error")
		}
		if got := rec2.Plans(); len(got) != 2 || got[1].Err == nil {
			t.Errorf("record after a failed write: %v, want its error second", got)
		}
	})
}
