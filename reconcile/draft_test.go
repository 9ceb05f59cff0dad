package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// readersConfig grants the role reader to the users with one title.
func readersConfig(title string) string {
	return fmt.Sprintf(`
tenants:
  - name: acme
    roles:
      - name: reader
    connectors:
      - name: okta
        allow: {roles: [reader]}
        rules:
          - name: readers
            if: title == %q
            roles: [reader]
`, title)
}

// TestDraftOnlyInAPreview: a preview under a draft configuration maps
// through the draft and writes nothing; a write made with a draft's
// context is no preview, and maps through the rules in force.
func TestDraftOnlyInAPreview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, readersConfig("Dr"))
		w.role("reader")
		draft, err := reconcile.ParseTenantConfig("acme", readersConfig("Prof"))
		if err != nil {
			t.Fatal(err)
		}
		ctx := reconcile.Draft(context.Background(), draft)
		prof := w.input("okta", reconcile.Upsert, "00u1", map[string]any{"userName": "prof@example.com", "title": "Prof"})

		pctx, rec := reconcile.Preview(ctx)
		p, err := w.e.Apply(pctx, prof)
		if err != nil || !slices.Equal(p.Fired, []string{"readers"}) || len(rec.Plans()) != 1 {
			t.Fatalf("the preview under the draft: %v fired %v, %d recorded", err, p.Fired, len(rec.Plans()))
		}
		if _, err := db.UserByUserName(context.Background(), w.tenant.ID, w.conns["okta"].ID, "prof@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the preview wrote the user: %v", err)
		}

		p, err = w.e.Apply(ctx, prof)
		if err != nil || len(p.Fired) != 0 || p.User == nil || len(w.grants(p.User.ID)) != 0 {
			t.Fatalf("a write with the draft's context mapped through the draft: %v fired %v", err, p.Fired)
		}
	})
}
