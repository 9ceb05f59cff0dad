package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestCreateUsers writes three users in one statement with everything
// CreateUser writes for one (link, external ID, attribute sources, audit
// event), and writes nothing when the configuration moved or a userName
// is taken, leaving the transaction usable (it runs in a savepoint).
func TestCreateUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		f.addUser(t, "taken")
		version, err := db.TenantConfigVersion(ctx, f.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		batch := func(version int64, names ...string) ([]*store.User, []store.NewUser) {
			var users []*store.User
			var with []store.NewUser
			for i, name := range names {
				u := &store.User{TenantID: f.tenant.ID, UserName: name, Active: true, Attrs: map[string]any{"userName": name}}
				if i != 1 {
					u.ExternalID = "ext-" + name
				}
				store.PrepareNewUser(u)
				users = append(users, u)
				with = append(with, store.NewUser{ConnectorID: f.connector.ID, ConfigVersion: version,
					Sources: []store.AttributeSource{{Attribute: "userName", Source: "scim", ConnectorID: f.connector.ID}},
					Event: &store.AuditEvent{TenantID: f.tenant.ID, Source: "scim", ConnectorID: f.connector.ID, Action: "create",
						ResourceType: "User", Detail: map[string]any{"after": u.Attrs}}})
			}
			return users, with
		}
		var failed []error
		err = db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			for _, c := range []struct {
				version int64
				names   []string
			}{{version + 1, []string{"x1", "x2"}}, {version, []string{"y1", "TAKEN"}}} {
				users, with := batch(c.version, c.names...)
				failed = append(failed, db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.CreateUsers(ctx, users, with) }))
			}
			users, with := batch(version, "ann", "bob", "cy")
			return tx.CreateUsers(ctx, users, with)
		})
		if err != nil {
			t.Fatal(err)
		}
		var conflict *store.ConflictError
		if !errors.Is(failed[0], store.ErrStale) || !errors.As(failed[1], &conflict) {
			t.Errorf("a moved configuration and a taken userName: %v, %v", failed[0], failed[1])
		}
		for _, name := range []string{"x1", "y1"} {
			if _, err := db.UserByUserName(ctx, f.tenant.ID, f.connector.ID, name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of a failed CreateUsers: %v", name, err)
			}
		}
		for i, name := range []string{"ann", "bob", "cy"} {
			u, err := db.UserByUserName(ctx, f.tenant.ID, f.connector.ID, name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := "ext-" + name
			if i == 1 {
				want = ""
			}
			linked, _ := db.Linked(ctx, f.connector.ID, u.PK)
			sources, _ := db.AttributeSources(ctx, u.PK)
			events, _ := db.AuditEvents(ctx, f.tenant.ID, u.ID)
			if u.ExternalID != want || !linked || len(sources) != 1 || len(events) != 1 || u.Version != 1 {
				t.Errorf("%s: external ID %q (want %q), linked %v, sources %v, events %v, version %d",
					name, u.ExternalID, want, linked, sources, fmt.Sprint(events), u.Version)
			}
		}
	})
}
