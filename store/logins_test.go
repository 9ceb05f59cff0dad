package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestLoginStates: a login in flight is used once, even by callbacks
// racing on it; an unknown state is ErrNotFound; expired logins are swept.
func TestLoginStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "oidc")
		at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		add := func(state string, expires time.Time) store.LoginState {
			h, b := sha256.Sum256([]byte(state)), sha256.Sum256([]byte("browser"))
			s := store.LoginState{StateHash: h[:], BrowserHash: b[:], TenantID: f.tenant.ID, ConnectorID: f.connector.ID,
				Nonce: "n-" + state, Verifier: "v-" + state, ReturnTo: "/app", CreatedAt: at, ExpiresAt: expires}
			if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertLoginState(ctx, &s) }); err != nil {
				t.Fatal(err)
			}
			return s
		}
		one := add("one", at.Add(10*time.Minute))
		add("old", at.Add(-2*time.Hour))
		use := func(state string) (store.LoginState, bool, error) {
			h := sha256.Sum256([]byte(state))
			var s store.LoginState
			var used bool
			err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				var err error
				s, used, err = tx.UseLoginState(ctx, h[:], at.Add(time.Minute))
				return err
			})
			return s, used, err
		}
		const n = 8
		var wg sync.WaitGroup
		wins := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				s, used, err := use("one")
				if err != nil {
					t.Errorf("use: %v", err)
					return
				}
				if s.ID != one.ID || s.Nonce != "n-one" || s.Verifier != "v-one" || s.ReturnTo != "/app" {
					t.Errorf("read back %+v", s)
				}
				if !used && s.UsedAt == nil {
					t.Error("a login found used has no used_at")
				}
				wins[i] = used
			})
		}
		wg.Wait()
		won := 0
		for _, w := range wins {
			if w {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%d of %d racing callbacks used the login, want 1", won, n)
		}
		if _, _, err := use("never"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an unknown state: %v, want ErrNotFound", err)
		}
		var swept int
		err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			swept, err = tx.DeleteLoginStates(ctx, at.Add(-time.Hour))
			return err
		})
		if err != nil || swept != 1 {
			t.Errorf("sweep: %d (%v), want the old login", swept, err)
		}
		if _, _, err := use("old"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a swept login: %v, want ErrNotFound", err)
		}
	})
}
