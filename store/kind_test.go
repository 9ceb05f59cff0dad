package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestConnectorKindOIDC: after migration 0010 a connector may be of kind
// oidc on both databases (SQLite's CHECK is edited in place), while the
// CHECK still refuses other kinds; a connector that provisions users
// keeps its kind.
func TestConnectorKindOIDC(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta-sso")
		var c store.Connector
		err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			c, err = tx.SetKind(ctx, f.connector, store.KindOIDC)
			return err
		})
		if err != nil {
			t.Fatalf("SetKind oidc: %v", err)
		}
		p, err := db.ConnectorPrincipal(ctx, "acme", "okta-sso")
		if err != nil || p.Kind != store.KindOIDC || c.Kind != store.KindOIDC {
			t.Fatalf("kind read back %q (%v), returned %q; want oidc", p.Kind, err, c.Kind)
		}
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.SetKind(ctx, c, "ldap")
			return err
		})
		if err == nil {
			t.Fatal("kind ldap: accepted; the CHECK should refuse it")
		}

		g := newFixture(t, db, "acme", "okta")
		u := g.addUser(t, "ada")
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.Link(ctx, g.connector.ID, u.PK); err != nil {
				return err
			}
			_, err := tx.SetKind(ctx, g.connector, store.KindOIDC)
			return err
		})
		var limit *store.LimitError
		if !errors.As(err, &limit) {
			t.Fatalf("SetKind of a connector provisioning a user: %v, want a *store.LimitError", err)
		}
	})
}
