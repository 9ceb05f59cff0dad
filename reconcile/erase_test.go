package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestErase: erasing a person deletes the user and leaves their audit
// trail without their values (ids, times, actions and the names of what
// changed stay), with an audit event of its own.
func TestErase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tenant, conn := setup(t, db)
		e := reconcile.New(db, nil)
		in := reconcile.Input{
			Source: reconcile.SourceSCIM, Principal: store.Principal{TenantID: tenant.ID, ConnectorID: conn.ID},
			Kind: reconcile.KindUser, Op: reconcile.Create,
			Attrs: map[string]any{"userName": "erin@example.com", "title": "Anaesthetist"}, ExternalID: "00u-erin",
		}
		p, err := e.Apply(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		id := p.User.ID
		in.Op, in.ID, in.Attrs = reconcile.Replace, id, map[string]any{"userName": "erin@example.com", "title": "Surgeon"}
		if _, err := e.Apply(ctx, in); err != nil {
			t.Fatal(err)
		}

		operator := store.Principal{TenantID: tenant.ID, TenantName: "acme"} // scimd's command line
		if err := e.EraseUser(ctx, operator, id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.User(ctx, tenant.ID, 0, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the erased user reads back: %v", err)
		}
		events, err := db.AuditEvents(ctx, tenant.ID, id)
		if err != nil || len(events) != 3 {
			t.Fatalf("events: %d, %v", len(events), err)
		}
		all, _ := json.Marshal(events)
		for _, value := range []string{"erin@example.com", "Anaesthetist", "Surgeon", "00u-erin"} {
			if strings.Contains(string(all), value) {
				t.Errorf("the audit trail still holds %q: %s", value, all)
			}
		}
		if got := events[1].Detail["changed"]; !strings.Contains(fmt.Sprint(got), "title") {
			t.Errorf("the replace no longer says title changed: %v", events[1].Detail)
		}
		last := events[2]
		if last.Action != "erase" || last.Source != "cli" || last.Detail["erasedEvents"] != float64(2) {
			t.Errorf("erase event: %+v", last)
		}
		if err := e.EraseUser(ctx, operator, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("erasing again: %v, want not found", err)
		}
	})
}
