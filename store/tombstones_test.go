package store_test

import (
	"context"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestTombstones: a buried user's keys (userName in any case, the emails
// given, every connector's external ID) are found by Buried, within the
// tenant only, and the table holds 32-byte hashes, none of the values.
func TestTombstones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		acme, globex := newFixture(t, db, "acme", "okta"), newFixture(t, db, "globex", "okta")
		u := acme.addUser(t, "Ada.Lovelace@Acme.com")
		err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.SetUserExternalID(ctx, acme.connector.ID, u.PK, "00u-ada"); err != nil {
				return err
			}
			return tx.BuryUser(ctx, u, []string{"ada@example.org", "ADA@example.org"})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			tenant int64
			key    []byte
			want   bool
		}{
			{"userName, another case", acme.tenant.ID, store.UserNameKey("ada.lovelace@acme.com"), true},
			{"email", acme.tenant.ID, store.EmailKey("Ada@Example.org"), true},
			{"external ID", acme.tenant.ID, store.ExternalIDKey(acme.connector.ID, "00u-ada"), true},
			{"external ID of another connector", acme.tenant.ID, store.ExternalIDKey(globex.connector.ID, "00u-ada"), false},
			{"another userName", acme.tenant.ID, store.UserNameKey("bob@acme.com"), false},
			{"another tenant", globex.tenant.ID, store.UserNameKey("ada.lovelace@acme.com"), false},
		} {
			got, err := db.Buried(ctx, c.tenant, [][]byte{c.key})
			if err != nil || got != c.want {
				t.Errorf("%s: buried %v (%v), want %v", c.name, got, err, c.want)
			}
		}
		// userName, one email (the two differ in case only), external ID.
		rows, err := db.QueryString(ctx, "SELECT count(*) FROM user_tombstones WHERE length(key_hash) = 32 AND user_id = '"+u.ID+"'")
		if err != nil || rows != "3" {
			t.Errorf("tombstone rows of 32-byte hashes: %q (%v), want 3", rows, err)
		}
		all, err := db.QueryString(ctx, "SELECT count(*) FROM user_tombstones")
		if err != nil || all != "3" {
			t.Errorf("tombstone rows: %q (%v), want 3", all, err)
		}
	})
}
