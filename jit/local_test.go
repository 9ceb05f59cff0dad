package jit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestLoginOfALocalUser: a login that would match a local user is refused
// (403, reason local), links and changes nothing, and leaves a refusal
// event; once unmarked, the same login links the user.
func TestLoginOfALocalUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		status, pushed := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"ada@acme.com","title":"Countess","emails":[{"value":"ada@acme.com","primary":true}]}`)
		if status != 201 {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		id, _ := pushed["id"].(string)
		tenant, err := db.Tenant(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		operator := store.Principal{TenantID: tenant.ID, TenantName: "acme"}
		before, err := w.engine.SetUserLocal(context.Background(), operator, id, true)
		if err != nil {
			t.Fatal(err)
		}
		status, doc := w.login(w.acme.sign(t, w.ada()))
		detail, _ := doc["detail"].(string)
		if status != 403 || doc["error"] != "local" || !strings.Contains(detail, "local account") {
			t.Fatalf("login of a local user: %d %v, want 403 local", status, doc)
		}
		after, err := db.User(context.Background(), tenant.ID, 0, id)
		if err != nil || after.Version != before.Version || w.users() != 1 {
			t.Fatalf("after the refusal: %+v %v, %d users; want it unchanged and no new user", after, err, w.users())
		}
		refused := false
		for _, ev := range w.events(id) {
			refused = refused || ev.Action == "refuse" && ev.Source == "oidc" && ev.Detail["reason"] == "local"
		}
		if !refused {
			t.Fatalf("events %+v: no refusal", w.events(id))
		}
		if _, err := w.engine.SetUserLocal(context.Background(), operator, id, false); err != nil {
			t.Fatal(err)
		}
		if status, doc := w.login(w.acme.sign(t, w.ada())); status != 200 || doc["id"] != id {
			t.Fatalf("login once not local: %d %v", status, doc)
		}
	})
}
