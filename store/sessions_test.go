package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestSessions: a session is found by the SHA-256 of its secret with its
// tenant and user as they are now; ending a user's sessions ends the live
// ones only; and a deleted user's ended session stays, naming the user by
// id, with no user behind it.
func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "oidc")
		ann := f.addUser(t, "ann")
		at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		start := func(secret string) store.Session {
			h := sha256.Sum256([]byte(secret))
			s := store.Session{Hash: h[:], TenantID: f.tenant.ID, UserPK: ann.PK, UserID: ann.ID, ConnectorID: f.connector.ID,
				CreatedAt: at, LastSeenAt: at, IdleExpiresAt: at.Add(time.Hour), ExpiresAt: at.Add(8 * time.Hour)}
			if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertSession(ctx, &s) }); err != nil {
				t.Fatal(err)
			}
			return s
		}
		one, two := start("one"), start("two")
		h := sha256.Sum256([]byte("one"))
		got, err := db.SessionByHash(ctx, h[:])
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != one.ID || got.TenantName != "acme" || got.ConnectorName != "oidc" || got.User == nil ||
			got.User.ID != ann.ID || got.User.Status != store.StatusActive || !got.ExpiresAt.Equal(one.ExpiresAt) || got.EndedAt != nil {
			t.Errorf("session one read back as %+v (user %+v)", got, got.User)
		}
		if _, err := db.SessionByHash(ctx, []byte("no such hash, 32 bytes long.....")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an unknown hash: %v, want ErrNotFound", err)
		}

		var n int
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if ok, err := tx.EndSession(ctx, one.ID, at.Add(time.Minute), "logout"); err != nil || !ok {
				t.Errorf("end session one: %v %v", ok, err)
			}
			if ok, _ := tx.EndSession(ctx, one.ID, at.Add(time.Minute), "logout"); ok {
				t.Error("ending an ended session: ended it again")
			}
			n, err = tx.EndUserSessions(ctx, ann.PK, at.Add(2*time.Minute), "user disabled")
			return err
		})
		if err != nil || n != 1 {
			t.Errorf("ending ann's sessions: %d (%v), want the one still live", n, err)
		}
		list, err := db.UserSessions(ctx, f.tenant.ID, ann.ID, 10)
		if err != nil || len(list) != 2 || list[0].ID != two.ID || list[0].EndReason != "user disabled" || list[1].EndReason != "logout" {
			t.Fatalf("ann's sessions: %+v (%v)", list, err)
		}

		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUser(ctx, ann.PK) }); err != nil {
			t.Fatal(err)
		}
		got, err = db.SessionByHash(ctx, h[:])
		if err != nil || got.User != nil || got.UserID != ann.ID || got.UserPK != 0 || got.EndedAt == nil {
			t.Errorf("a deleted user's session: %+v (user %v, %v); want it kept, ended, naming the id, with no user", got, got.User, err)
		}
		if other := newFixture(t, db, "globex", "oidc"); true {
			if list, _ := db.UserSessions(ctx, other.tenant.ID, ann.ID, 10); len(list) != 0 {
				t.Errorf("another tenant lists ann's sessions: %+v", list)
			}
		}
	})
}

// TestMigrateSessions: a database from before 0009 gains the sessions
// table, and its users can have sessions.
func TestMigrateSessions(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := databaseOf(t, dsn, "0008~") // every migration before 0009
		if _, err := db.Exec(ctx, "SELECT count(*) FROM sessions"); err == nil {
			t.Fatal("sessions exists before 0009")
		}
		for _, stmt := range []string{
			`INSERT INTO tenants (name, created_at) VALUES ('acme', '2026-01-01 00:00:00+00')`,
			`INSERT INTO users (tenant_id, id, user_name, user_name_folded, active, status, attrs, version, created_at, updated_at) VALUES
				(1, '11111111-1111-4111-8111-111111111111', 'ann', 'ann', true, 'active', '{"userName":"ann"}', 1, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("seed: %v\n%s", err, stmt)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Truncate(time.Second)
		s := store.Session{Hash: make([]byte, 32), TenantID: 1, UserPK: 1, UserID: "11111111-1111-4111-8111-111111111111",
			CreatedAt: at, LastSeenAt: at, IdleExpiresAt: at, ExpiresAt: at}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertSession(ctx, &s) }); err != nil {
			t.Fatal(err)
		}
		if got, err := db.SessionByHash(ctx, s.Hash); err != nil || got.User == nil || got.User.UserName != "ann" {
			t.Errorf("a migrated user's session: %+v (%v)", got, err)
		}
	})
}
