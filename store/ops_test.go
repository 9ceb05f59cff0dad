package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestOperationsStats: the outbox backlog counts pending messages of every
// tenant and dates the oldest; sent ones leave it. Import jobs are counted
// by state; the pools are named.
func TestOperationsStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if n, oldest, err := db.OutboxBacklog(ctx); err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("empty outbox: %d %v %v", n, oldest, err)
		}
		before := time.Now().Add(-time.Second)
		var tenant int64
		err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			te, _, err := tx.EnsureConnector(ctx, "acme", "csv")
			if err != nil {
				return err
			}
			tenant = te.ID
			j := store.ImportJob{TenantID: te.ID, CreatedBy: "test"}
			if err := tx.InsertImportJob(ctx, &j); err != nil {
				return err
			}
			if err := tx.InsertImportJob(ctx, &store.ImportJob{TenantID: te.ID, CreatedBy: "test"}); err != nil {
				return err
			}
			if err := tx.FinishImportJob(ctx, j.ID, store.ImportDone, 3, "{}"); err != nil {
				return err
			}
			return tx.Enqueue(ctx, nil, []store.Message{
				{TenantID: te.ID, Kind: store.MessageActivation, Recipient: "a@acme.example", Subject: "s", Body: "b"},
				{TenantID: te.ID, Kind: store.MessageActivation, Recipient: "b@acme.example", Subject: "s", Body: "b"},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		n, oldest, err := db.OutboxBacklog(ctx)
		if err != nil || n != 2 || oldest.Before(before) || oldest.After(time.Now().Add(time.Second)) {
			t.Errorf("backlog: %d, oldest %v (want about now), %v", n, oldest, err)
		}
		msgs, err := db.Messages(ctx, tenant)
		if err != nil || len(msgs) != 2 {
			t.Fatal(msgs, err)
		}
		if err := db.MarkSent(ctx, msgs[0].ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if n, _, err := db.OutboxBacklog(ctx); err != nil || n != 1 {
			t.Errorf("backlog after one sent: %d %v", n, err)
		}
		states, err := db.ImportJobStates(ctx)
		if err != nil || states[store.ImportDone] != 1 || states[store.ImportQueued] != 1 || len(states) != 2 {
			t.Errorf("import jobs by state: %v %v", states, err)
		}
		pools := db.Pools()
		for name, p := range pools {
			if p == nil || p.Stats().MaxOpenConnections == 0 {
				t.Errorf("pool %s: %v", name, p)
			}
		}
		want := map[store.Dialect]int{store.Postgres: 1, store.SQLite: 2}[db.Dialect()]
		if len(pools) != want {
			t.Errorf("%d pools, want %d", len(pools), want)
		}
	})
}
