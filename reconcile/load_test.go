package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// csvRow is a load row of the unconfigured connector "csv".
func csvRow(line int, userName string, roles ...string) reconcile.LoadRow {
	in := reconcile.Input{Attrs: user(userName, "emails", email(userName+"@example.com")), ExternalID: "x-" + userName}
	if roles != nil {
		in.Given = &reconcile.Given{Roles: roles}
	}
	return reconcile.LoadRow{Line: line, In: in}
}

func seq(rows ...reconcile.LoadRow) iter.Seq[reconcile.LoadRow] { return slices.Values(rows) }

func loadWorld(t *testing.T, db *store.DB) (*reconcile.Engine, store.Principal) {
	tenant, conn := setup(t, db)
	p := store.Principal{TenantID: tenant.ID, TenantName: tenant.Name, ConnectorID: conn.ID, ConnectorName: conn.Name}
	return reconcile.New(db, nil), p
}

func users(t *testing.T, db *store.DB, tenantID int64) int {
	page, err := db.Users(context.Background(), store.Query{TenantID: tenantID, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

func TestLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		var rows []reconcile.LoadRow
		for i := range 10 {
			rows = append(rows, csvRow(i+2, fmt.Sprintf("u%d", i), "a", "c"))
		}
		// Dry run writes nothing.
		res, err := e.Load(ctx, by, seq(rows...), reconcile.LoadOptions{DryRun: true})
		if err != nil || res.Added != 10 || res.RolesAdded != 2 || res.Committed || users(t, db, by.TenantID) != 0 {
			t.Fatalf("dry run: %+v %v, %d users", res, err, users(t, db, by.TenantID))
		}
		// A bad row (5 of 10) loads nothing and is named.
		bad := slices.Clone(rows)
		bad[4].Err = errors.New("bad cell")
		res, err = e.Load(ctx, by, seq(bad...), reconcile.LoadOptions{})
		if err != nil || res.Committed || res.ErrorCount != 1 || res.Errors[0].Line != 6 || users(t, db, by.TenantID) != 0 {
			t.Fatalf("bad row: %+v %v", res, err)
		}
		res, err = e.Load(ctx, by, seq(rows...), reconcile.LoadOptions{})
		if err != nil || !res.Committed || res.Added != 10 || res.RolesAdded != 2 || len(res.Created) != 10 || users(t, db, by.TenantID) != 10 {
			t.Fatalf("load: %+v %v", res, err)
		}
		// The same rows again change nothing.
		res, err = e.Load(ctx, by, seq(rows...), reconcile.LoadOptions{})
		if err != nil || res.Added != 0 || res.Updated != 0 || res.Unchanged != 10 {
			t.Fatalf("re-load: %+v %v", res, err)
		}
		// Roles a|b after a|c: a decision; refused, then accepted: c revoked.
		rev := csvRow(2, "u0", "a", "b")
		res, err = e.Load(ctx, by, seq(rev), reconcile.LoadOptions{Accept: func(int) bool { return false }})
		if err != nil || res.Skipped != 1 || len(res.Decisions) != 1 || res.Decisions[0].Line != 2 {
			t.Fatalf("refused: %+v %v", res, err)
		}
		res, err = e.Load(ctx, by, seq(rev), reconcile.LoadOptions{})
		if err != nil || res.Updated != 1 || res.RolesAdded != 1 {
			t.Fatalf("accepted: %+v %v", res, err)
		}
		w := &world{t: t, db: db, tenant: store.Tenant{ID: by.TenantID}}
		u, _ := db.UserByUserName(ctx, by.TenantID, by.ConnectorID, "u0")
		if got := fmt.Sprint(w.grants(u.ID)); got != "[role:a role:b]" {
			t.Fatalf("grants = %s", got)
		}
		// No roles stated: grants stay.
		res, err = e.Load(ctx, by, seq(csvRow(2, "u0")), reconcile.LoadOptions{})
		if err != nil || res.Unchanged != 1 || fmt.Sprint(w.grants(u.ID)) != "[role:a role:b]" {
			t.Fatalf("silent roles: %+v %v %v", res, err, w.grants(u.ID))
		}
		// Two rows for one person.
		res, _ = e.Load(ctx, by, seq(csvRow(2, "new"), csvRow(3, "NEW")), reconcile.LoadOptions{DryRun: true})
		var dup *reconcile.DuplicateRowError
		if res.ErrorCount != 1 || !errors.As(res.Errors[0].Err, &dup) || dup.Line != 3 || dup.First != 2 {
			t.Fatalf("duplicate: %+v", res)
		}
		// A cohort that does not exist is skipped; a missing group is an error.
		co := csvRow(2, "u1")
		co.In.Given = &reconcile.Given{Cohort: "Class of 2030"}
		gr := csvRow(3, "u2")
		gr.In.Given = &reconcile.Given{Groups: []string{"Nope"}}
		res, _ = e.Load(ctx, by, seq(co, gr), reconcile.LoadOptions{DryRun: true})
		if res.ErrorCount != 1 || res.Errors[0].Line != 3 || res.Unchanged != 1 {
			t.Fatalf("cohort/group: %+v %v", res, res.Errors)
		}
		// A DELETE row.
		del := reconcile.LoadRow{Line: 2, In: reconcile.Input{Op: reconcile.Delete, ExternalID: "x-u9"}}
		res, err = e.Load(ctx, by, seq(del), reconcile.LoadOptions{})
		if err != nil || res.Deleted != 1 || users(t, db, by.TenantID) != 9 {
			t.Fatalf("delete: %+v %v", res, err)
		}
	})
}

// TestLoadBatches loads more rows than a batch, with a duplicate across
// the boundary and a manager named by userName.
func TestLoadBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, by := loadWorld(t, db)
		var rows []reconcile.LoadRow
		for i := range 1500 {
			r := csvRow(i+2, fmt.Sprintf("u%d", i))
			if i > 0 {
				r.In.ManagerUserName = "u0"
			}
			rows = append(rows, r)
		}
		res, err := e.Load(ctx, by, seq(rows...), reconcile.LoadOptions{})
		if err != nil || res.Added != 1500 || users(t, db, by.TenantID) != 1500 {
			t.Fatalf("load: %+v %v", res, err)
		}
		res, err = e.Load(ctx, by, seq(append(rows, csvRow(9999, "u3"))...), reconcile.LoadOptions{DryRun: true})
		if err != nil || res.Unchanged != 1500 || res.ErrorCount != 1 || res.Errors[0].Line != 9999 {
			t.Fatalf("re-load: %+v %v", res, err)
		}
	})
}
