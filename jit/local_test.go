package jit_test

import (
	"context"
	"net/http"
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

// TestLoginWritePolicies: sso writes locale only into the users its login
// creates (onCreate) and nickName only where none is (ifEmpty), from the
// ID token's claims, on a first and a later login.
func TestLoginWritePolicies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		tenant, err := db.Tenant(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		attrs := func(id string) (any, any) {
			t.Helper()
			u, err := db.User(context.Background(), tenant.ID, 0, id)
			if err != nil {
				t.Fatal(err)
			}
			return u.Attrs["locale"], u.Attrs["nickName"]
		}
		login := func(claims map[string]any, status int) string {
			t.Helper()
			got, doc := w.login(w.acme.sign(t, claims))
			if got != status {
				t.Fatalf("login: %d %v, want %d", got, doc, status)
			}
			id, _ := doc["id"].(string)
			return id
		}
		// Ada's first login creates her: both are written.
		c := w.ada()
		c["locale"], c["nickname"] = "en-GB", "Ada"
		ada := login(c, http.StatusCreated)
		// Later logins change neither.
		c["locale"], c["nickname"] = "fr-FR", "Countess"
		login(c, http.StatusOK)
		if locale, nick := attrs(ada); locale != "en-GB" || nick != "Ada" {
			t.Errorf("ada after her second login: locale %v, nickName %v; want en-GB and Ada", locale, nick)
		}

		// Grace, whom okta created without a nickName: her first login
		// fills it, and leaves okta's locale.
		status, pushed := w.call("POST", "/scim/v2/acme/Users", w.tokens["acme/okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"grace@acme.com","locale":"en-US","emails":[{"value":"grace@acme.com","primary":true}]}`)
		if status != http.StatusCreated {
			t.Fatalf("SCIM POST: %d %v", status, pushed)
		}
		g := w.acme.claims("00u-grace")
		g["email"], g["email_verified"], g["preferred_username"] = "grace@acme.com", true, "grace@acme.com"
		g["locale"], g["nickname"] = "de-DE", "Amazing Grace"
		grace := login(g, http.StatusOK)
		if grace != pushed["id"] {
			t.Fatalf("grace's login linked %s, want okta's user %v", grace, pushed["id"])
		}
		g["nickname"] = "Grace"
		login(g, http.StatusOK)
		if locale, nick := attrs(grace); locale != "en-US" || nick != "Amazing Grace" {
			t.Errorf("grace after two logins: locale %v, nickName %v; want en-US (okta's) and Amazing Grace (the first login's)", locale, nick)
		}
	})
}
