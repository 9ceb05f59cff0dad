package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestSQLiteWritersQueue runs 16 writers at once on SQLite, each holding
// the write lock for a few milliseconds at a time. They must all succeed,
// and the lock must pass from one to the next without gaps: writers queue
// in Go and the next starts as soon as the last commits. (Before, each
// waited in SQLite's busy handler, which sleeps between tries, so the
// lock sat free while writers slept: the run took several times the
// time the writers held it.)
func TestSQLiteWritersQueue(t *testing.T) {
	db := storetest.Open(t, storetest.SQLiteDSN(t))
	const writers, each, hold = 16, 8, 3 * time.Millisecond
	var (
		mu     sync.Mutex
		held   time.Duration
		failed []error
		wg     sync.WaitGroup
	)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := db.RunInTx(t.Context(), func(ctx context.Context, tx *store.Tx) error {
					t0 := time.Now()
					_, _, err := tx.EnsureConnector(ctx, "acme", fmt.Sprintf("c%d-%d", w, i))
					time.Sleep(hold)
					mu.Lock()
					held += time.Since(t0)
					mu.Unlock()
					return err
				})
				if err != nil {
					mu.Lock()
					failed = append(failed, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d transactions held the write lock %v in all, over %v", writers*each, held, elapsed)
	if len(failed) > 0 {
		t.Fatalf("%d of %d write transactions failed; first: %v", len(failed), writers*each, failed[0])
	}
	if elapsed > held*4/3 {
		t.Errorf("%d writers took %v for %v of work under the lock: the lock sat idle between writers", writers, elapsed, held)
	}
}

// TestReadsInsideAWrite reads through the DB with the context of a
// running write transaction: the read runs in that transaction and sees
// its writes, which other readers do not see before the commit. A
// RunInTx inside another is a savepoint: its failure undoes its own
// writes only.
func TestReadsInsideAWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "acme", "okta")
		errInner := errors.New("inner fails")
		var kept, undone store.User
		err := db.RunInTx(t.Context(), func(ctx context.Context, tx *store.Tx) error {
			kept = store.User{TenantID: f.tenant.ID, UserName: "kept", Active: true, Attrs: map[string]any{"userName": "kept"}}
			if err := tx.InsertUser(ctx, &kept); err != nil {
				return err
			}
			if _, err := db.User(ctx, f.tenant.ID, f.connector.ID, kept.ID); err != nil {
				t.Errorf("a read with the transaction's context does not see its write: %v", err)
			}
			if _, err := db.User(context.Background(), f.tenant.ID, f.connector.ID, kept.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another reader sees an uncommitted write: %v", err)
			}
			// The same for the raw statement a group's members stream from.
			g := store.Group{TenantID: f.tenant.ID, DisplayName: "Staff", Attrs: map[string]any{"displayName": "Staff"}}
			if err := tx.InsertGroup(ctx, &g); err != nil {
				return err
			}
			if _, err := tx.AddMembers(ctx, g.PK, []store.Member{{Type: store.MemberUser, PK: kept.PK}}); err != nil {
				return err
			}
			var members []string
			if err := db.EachMember(ctx, g.PK, func(m store.Member) error { members = append(members, m.ID); return nil }); err != nil || len(members) != 1 {
				t.Errorf("members read with the transaction's context: %v, %v; want %s", members, err, kept.ID)
			}
			err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				undone = store.User{TenantID: f.tenant.ID, UserName: "undone", Active: true, Attrs: map[string]any{"userName": "undone"}}
				if err := tx.InsertUser(ctx, &undone); err != nil {
					return err
				}
				return errInner
			})
			if !errors.Is(err, errInner) {
				t.Errorf("inner RunInTx: %v, want its own error", err)
			}
			if _, err := db.User(ctx, f.tenant.ID, f.connector.ID, undone.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the failed savepoint's write is still there: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.User(t.Context(), f.tenant.ID, f.connector.ID, kept.ID); err != nil {
			t.Errorf("the outer transaction's write was not committed: %v", err)
		}
		if _, err := db.User(t.Context(), f.tenant.ID, f.connector.ID, undone.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the failed savepoint's write was committed: %v", err)
		}
	})
}
