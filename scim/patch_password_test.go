package scim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestPatchPasswordNotKept: a PATCH of password (Entra sends one) is
// accepted and dropped, as a PUT's is: the user's document, its response
// and its audit events never hold it.
func TestPatchPasswordNotKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		id := c.do("POST", "/Users", userBody("ann@example.com")).want(t, 201).str("id")
		res := c.do("PATCH", "/Users/"+id, map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "password", "value": "Hunter2-2"}},
		}).want(t, 200)
		ten, err := db.Tenant(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.User(context.Background(), ten.ID, 0, id)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := db.AuditEvents(context.Background(), ten.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if kept := fmt.Sprint(u.Attrs, evs, res.raw); strings.Contains(kept, "Hunter2") {
			t.Fatalf("the password was kept: %s", kept)
		}
	})
}
