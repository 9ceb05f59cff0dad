package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// TestEraseThroughAdminAPI: an administrator erases a person the SCIM
// connector pushed; the user is gone and the audit trail keeps no value
// of theirs, only what happened.
func TestEraseThroughAdminAPI(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		okta := newToken(t, dsn, "acme", "okta")
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr})
		defer stop()
		base := "http://" + addr
		status, body := call(t, "POST", base+"/scim/v2/acme/Users", okta,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"erin@example.com","title":"Anaesthetist"}`)
		if status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		var created struct{ ID string }
		json.Unmarshal([]byte(body), &created)
		if status, body := call(t, "PATCH", base+"/scim/v2/acme/Users/"+created.ID, okta,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Surgeon"}]}`); status != 200 {
			t.Fatalf("PATCH: %d %s", status, body)
		}

		erase := base + "/admin/v1/acme/users/" + created.ID + "/erase"
		if status, _ := call(t, "POST", erase, okta, ""); status != 401 {
			t.Fatalf("a SCIM connector's token erased: %d", status)
		}
		if status, body := call(t, "POST", erase, admin, ""); status != 204 {
			t.Fatalf("erase: %d %s", status, body)
		}
		if status, _ := call(t, "GET", base+"/scim/v2/acme/Users/"+created.ID, okta, ""); status != 404 {
			t.Fatalf("the erased user: %d", status)
		}
		if status, _ := call(t, "POST", erase, admin, ""); status != 404 {
			t.Fatalf("erase again: %d", status)
		}

		db := storetest.Open(t, dsn)
		tenant, err := db.Tenant(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		events, err := db.AuditEvents(context.Background(), tenant.ID, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		all, _ := json.Marshal(events)
		if strings.Join(actions, ",") != "create,patch,erase" || strings.Contains(string(all), "erin@") ||
			strings.Contains(string(all), "Anaesthetist") || strings.Contains(string(all), "Surgeon") {
			t.Fatalf("the audit trail after the erase: %s", all)
		}
	})
}
