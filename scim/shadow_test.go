package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// shadowScript is IdP traffic: creates, follow-up GETs and filters,
// attribute PATCHes, a deactivation, a group with members, member add and
// remove, deletes. It returns the ids it created, and fails the test when
// a response is not what a live server gives.
func shadowScript(t *testing.T, c *client, realID string) []string {
	t.Helper()
	alice := c.do("POST", "/Users", userBody("alice", "externalId", "e-alice")).want(t, http.StatusCreated)
	bob := c.do("POST", "/Users", userBody("bob", "externalId", "e-bob")).want(t, http.StatusCreated)
	aliceID, bobID := alice.str("id"), bob.str("id")
	if got := c.do("GET", "/Users/"+aliceID, nil).want(t, http.StatusOK).str("userName"); got != "alice" {
		t.Fatalf("GET of the created user: userName %q", got)
	}
	for _, f := range []string{`userName eq "ALICE"`, `externalId eq "e-alice"`} {
		r := c.do("GET", "/Users?filter="+url.QueryEscape(f), nil).want(t, http.StatusOK)
		if r.body["totalResults"] != float64(1) {
			t.Fatalf("filter %s: %v", f, r.raw)
		}
	}
	c.do("PATCH", "/Users/"+aliceID, patchOp("replace", "displayName", "Alice A")).want(t, http.StatusOK)
	if got := c.do("GET", "/Users/"+aliceID, nil).want(t, http.StatusOK).str("displayName"); got != "Alice A" {
		t.Fatalf("GET after PATCH: displayName %q", got)
	}
	c.do("PATCH", "/Users/"+bobID, patchOp("replace", "active", false)).want(t, http.StatusOK)
	g := c.do("POST", "/Groups", groupBody("Staff", aliceID)).want(t, http.StatusCreated)
	gid := g.str("id")
	if got := c.do("GET", "/Groups?filter="+url.QueryEscape(`displayName eq "staff"`), nil).want(t, http.StatusOK); got.body["totalResults"] != float64(1) {
		t.Fatalf("group filter: %s", got.raw)
	}
	c.do("PATCH", "/Groups/"+gid, patchOp("add", "members", []any{map[string]any{"value": bobID}, map[string]any{"value": realID}})).wantOK(t)
	c.do("PATCH", "/Groups/"+gid, patchOp("remove", `members[value eq "`+aliceID+`"]`, nil)).wantOK(t)
	if got := memberSet(c.do("GET", "/Groups/"+gid, nil).want(t, http.StatusOK)); len(got) != 2 || got[bobID] == "" || got[realID] == "" {
		t.Fatalf("members after add and remove: %v", got)
	}
	// Another connector's user of that userName: matched and linked.
	if got := c.do("POST", "/Users", userBody("real")).want(t, http.StatusCreated).str("id"); got != realID {
		t.Fatalf("POST of the real user's userName: id %s, want %s", got, realID)
	}
	c.do("DELETE", "/Users/"+aliceID, nil).want(t, http.StatusNoContent)
	c.do("GET", "/Users/"+aliceID, nil).want(t, http.StatusNotFound)
	return []string{aliceID, bobID, gid}
}

func patchOp(op, path string, value any) map[string]any {
	o := map[string]any{"op": op, "path": path}
	if value != nil {
		o["value"] = value
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{o}}
}

func TestShadowConnector(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := newServer(t, db, scim.Config{})
		engine := reconcile.New(db, nil)

		// Two tenants, the same traffic: live in beta, shadow in acme.
		var realIDs [2]string
		var live [2]*client
		for i, tenant := range []string{"beta", "acme"} {
			live[i] = newClient(t, db, srv, tenant, "hr")
			realIDs[i] = live[i].do("POST", "/Users", userBody("real")).want(t, http.StatusCreated).str("id")
		}
		if err := engine.SetMode(ctx, reconcile.CommandLine, "acme", "entra", store.ModeShadow); err != nil {
			t.Fatal(err)
		}
		liveIDs := shadowScript(t, newClient(t, db, srv, "beta", "entra"), realIDs[0])
		shadow := newClient(t, db, srv, "acme", "entra")
		shadowScript(t, shadow, realIDs[1])

		// The real user stays visible to the shadow connector, as live.
		if got := shadow.do("GET", "/Users/"+realIDs[1], nil).want(t, http.StatusOK).str("userName"); got != "real" {
			t.Fatalf("real user through the shadow connector: %q", got)
		}
		if r := shadow.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "real"`), nil).want(t, http.StatusOK); r.body["totalResults"] != float64(1) {
			t.Fatalf("filter of the real user through the shadow connector: %s", r.raw)
		}

		// Its list pages real and shadow users as one sequence: the real
		// user, linked in shadow, and bob, in the order the shadows were
		// first written (alice, deleted, is not listed).
		var seen []string
		for start := 1; start <= 3; start++ {
			r := shadow.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=1", start), nil).want(t, http.StatusOK)
			items, _ := r.body["Resources"].([]any)
			if r.body["totalResults"] != float64(2) || len(items) != min(1, 3-start) {
				t.Fatalf("page %d of the shadow list: %s", start, r.raw)
			}
			for _, it := range items {
				seen = append(seen, it.(map[string]any)["userName"].(string))
			}
		}
		if fmt.Sprint(seen) != "[bob real]" {
			t.Fatalf("the shadow list pages %v, want [bob real]", seen)
		}

		// Nothing real was written in acme: the live connector sees one
		// user and no group, as before.
		users := live[1].do("GET", "/Users", nil).want(t, http.StatusOK)
		groups := live[1].do("GET", "/Groups", nil).want(t, http.StatusOK)
		if users.body["totalResults"] != float64(1) || groups.body["totalResults"] != float64(0) {
			t.Fatalf("acme after the shadow run: users %v, groups %v", users.body["totalResults"], groups.body["totalResults"])
		}
		beta, _ := db.Reader().Tenant(ctx, "beta")
		acme, _ := db.Reader().Tenant(ctx, "acme")
		if ev, err := db.Reader().AuditEvents(ctx, acme.ID, realIDs[1]); err != nil || len(ev) != 1 {
			t.Fatalf("audit of acme's real user: %d events, %v (want its create only)", len(ev), err)
		}

		// The summary counts what the live run wrote.
		sum, err := engine.ShadowSummary(ctx, "acme", "entra")
		if err != nil {
			t.Fatal(err)
		}
		wrote := map[string]int{}
		for _, id := range append(liveIDs, realIDs[0]) {
			events, err := db.Reader().AuditEvents(ctx, beta.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if e.ConnectorID != 0 && id == realIDs[0] && e.Action == "create" {
					continue // hr's create of the real user
				}
				wrote[e.ResourceType+" "+e.Action]++
			}
		}
		got := map[string]int{
			"User create":  sum.Creates["User"],
			"Group create": sum.Creates["Group"],
			"User delete":  sum.Deletes["User"],
		}
		for k, n := range got {
			if wrote[k] != n {
				t.Errorf("%s: shadow summary %d, live run wrote %d (all: %v; summary %+v)", k, n, wrote[k], wrote, sum)
			}
		}
		updates := sum.Updates["User"] + sum.Updates["Group"]
		if liveUpdates := wrote["User patch"] + wrote["User link"] + wrote["Group patch"]; updates != liveUpdates {
			t.Errorf("updates: shadow summary %d, live run wrote %d (%v; summary %+v)", updates, liveUpdates, wrote, sum)
		}
		if sum.Deactivations != 1 || sum.Attributes["displayName"] != 1 {
			t.Errorf("summary %+v: want 1 deactivation, 1 displayName change", sum)
		}

		// Bulk, forward references included, is shadowed the same way.
		ops := bulkResults(t, shadow.do("POST", "/Bulk", bulkBody(0,
			bulkOperation("POST", "/Groups", "g1", "", groupBody("Bulk", "bulkId:u1")),
			bulkOperation("POST", "/Users", "u1", "", userBody("dora")),
		)), 2)
		for i, op := range ops {
			if op["status"] != "201" {
				t.Fatalf("shadow bulk operation %d: %v", i, op)
			}
		}
		if r := shadow.do("GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Bulk"`), nil).want(t, http.StatusOK); r.body["totalResults"] != float64(1) {
			t.Fatalf("the shadow bulk group: %s", r.raw)
		}
		users = live[1].do("GET", "/Users", nil).want(t, http.StatusOK)
		groups = live[1].do("GET", "/Groups", nil).want(t, http.StatusOK)
		if users.body["totalResults"] != float64(1) || groups.body["totalResults"] != float64(0) {
			t.Fatalf("acme after the shadow bulk: users %v, groups %v", users.body["totalResults"], groups.body["totalResults"])
		}

		// Back to live: one call, and the connector writes for real.
		if err := engine.SetMode(ctx, reconcile.CommandLine, "acme", "entra", store.ModeLive); err != nil {
			t.Fatal(err)
		}
		shadow.do("POST", "/Users", userBody("carol")).want(t, http.StatusCreated)
		if r := live[1].do("GET", "/Users", nil).want(t, http.StatusOK); r.body["totalResults"] != float64(2) {
			t.Fatalf("after the switch to live: %v users", r.body["totalResults"])
		}
	})
}

// wantOK accepts 200 or 204, which a PATCH may answer (RFC 7644 §3.5.2).
func (r response) wantOK(t *testing.T) response {
	t.Helper()
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("status %d, want 200 or 204: %s", r.status, r.raw)
	}
	return r
}
