package scim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// sendText is client.do for goroutines other than the test's: it reports
// instead of failing.
func (c *client) sendText(method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), err
}

// inParallel runs n requests at once and fails on any answer but want.
func inParallel(t *testing.T, n, want int, request func(i int) (int, string, error)) {
	t.Helper()
	var wg sync.WaitGroup
	failures := make([]string, n)
	for i := range n {
		wg.Go(func() {
			status, body, err := request(i)
			if err != nil || status != want {
				failures[i] = fmt.Sprintf("request %d: %d %v %s", i, status, err, body)
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		if f != "" {
			t.Error(f)
		}
	}
}

// TestParallelWritesToOneResource: Okta and Entra send a group's PATCHes
// in parallel, without If-Match; every one of them must apply (none a 409
// for losing a race), on both databases.
func TestParallelWritesToOneResource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		const n = 100
		seedUsers(t, db, "acme", n)
		ids := names(c.do("GET", fmt.Sprintf("/Users?count=%d&attributes=id", n), nil).want(t, 200), "id")
		group := c.do("POST", "/Groups", groupBody("Everyone")).want(t, 201).str("id")

		inParallel(t, n, http.StatusNoContent, func(i int) (int, string, error) {
			return c.sendText("PATCH", "/Groups/"+group, patchBody(`{"op":"add","path":"members","value":[{"value":"`+ids[i]+`"}]}`))
		})
		g := c.do("GET", "/Groups/"+group, nil).want(t, 200)
		if members, _ := g.body["members"].([]any); len(members) != n {
			t.Errorf("%d parallel member adds left %d members", n, len(members))
		}
		if g.header.Get("ETag") != fmt.Sprintf(`W/"%d"`, n+1) {
			t.Errorf("ETag %s after %d adds, want one version each", g.header.Get("ETag"), n)
		}

		user := c.do("POST", "/Users", userBody("alice@example.com")).want(t, 201).str("id")
		attrs := []string{"title", "nickName", "displayName", "profileUrl", "userType", "preferredLanguage", "locale", "timezone"}
		inParallel(t, len(attrs), http.StatusOK, func(i int) (int, string, error) {
			return c.sendText("PATCH", "/Users/"+user, patchBody(`{"op":"replace","path":"`+attrs[i]+`","value":"v`+fmt.Sprint(i)+`"}`))
		})
		u := c.do("GET", "/Users/"+user, nil).want(t, 200)
		for i, a := range attrs {
			if u.body[a] != fmt.Sprintf("v%d", i) {
				t.Errorf("parallel PATCH of %s lost: %s", a, u.raw)
			}
		}

		// A client that pins a version still gets 412 when it is stale.
		c.do("PATCH", "/Users/"+user, patchBody(`{"op":"replace","path":"title","value":"x"}`), "If-Match", `W/"1"`).wantError(t, 412, "", "")
	})
}

// TestWriteThatChangesNothing: RFC 7644 §3.5.2.1. A PATCH adding a value
// the resource has, a PUT of the resource as it is, and a PATCH adding a
// member the group holds keep meta.version, meta.lastModified and the
// ETag, and record no audit event.
func TestWriteThatChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		ctx := context.Background()
		tenant, err := db.Tenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		events := func(id string) int {
			t.Helper()
			evs, err := db.AuditEvents(ctx, tenant.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		same := func(what string, before, after response) {
			t.Helper()
			bm, _ := before.body["meta"].(map[string]any)
			am, _ := after.body["meta"].(map[string]any)
			if bm["version"] != am["version"] || bm["lastModified"] != am["lastModified"] {
				t.Errorf("%s moved meta from %v to %v", what, bm, am)
			}
			if etag := after.header.Get("ETag"); etag != before.header.Get("ETag") {
				t.Errorf("%s moved the ETag from %s to %s", what, before.header.Get("ETag"), etag)
			}
		}

		body := userBody("bjensen@example.com", "title", "Tour Guide", "externalId", "00u1")
		created := c.do("POST", "/Users", body).want(t, 201)
		id := created.str("id")
		before := c.do("GET", "/Users/"+id, nil).want(t, 200)

		add := c.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","path":"title","value":"Tour Guide"}`,
			`{"op":"add","path":"emails","value":[{"value":"bjensen@example.com","type":"work","primary":true}]}`)).want(t, 200)
		same("a PATCH adding values the user has", before, add)
		put := c.do("PUT", "/Users/"+id, body).want(t, 200)
		same("a PUT of the user as it is", before, put)
		same("the no-op writes (GET after them)", before, c.do("GET", "/Users/"+id, nil).want(t, 200))
		if n := events(id); n != 1 {
			t.Errorf("%d audit events, want only the create's", n)
		}
		changed := c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"title","value":"Guide"}`)).want(t, 200)
		if changed.header.Get("ETag") != `W/"2"` || events(id) != 2 {
			t.Errorf("a PATCH that changes the title: ETag %s, %d events", changed.header.Get("ETag"), events(id))
		}

		group := c.do("POST", "/Groups", groupBody("Staff", id)).want(t, 201).str("id")
		gBefore := c.do("GET", "/Groups/"+group, nil).want(t, 200)
		c.do("PATCH", "/Groups/"+group, patchBody(`{"op":"add","path":"members","value":[{"value":"`+id+`"}]}`)).want(t, 204)
		same("a PATCH adding a member the group holds", gBefore, c.do("GET", "/Groups/"+group, nil).want(t, 200))
		if n := events(group); n != 1 {
			t.Errorf("%d audit events for the group, want only the create's", n)
		}
		alice := c.do("POST", "/Users", userBody("alice@example.com")).want(t, 201).str("id")
		c.do("PATCH", "/Groups/"+group, patchBody(`{"op":"add","path":"members","value":[{"value":"`+id+`"},{"value":"`+alice+`"}]}`)).want(t, 204)
		g := c.do("GET", "/Groups/"+group, nil).want(t, 200)
		if g.header.Get("ETag") != `W/"2"` || events(group) != 2 || !slices.ContainsFunc(g.body["members"].([]any), func(m any) bool {
			return m.(map[string]any)["value"] == alice
		}) {
			t.Errorf("a PATCH adding a new member: ETag %s, %d events: %s", g.header.Get("ETag"), events(group), g.raw)
		}
	})
}

// TestGroupWriteThatChangesNothing: RFC 7644 §3.5.2.1 for groups. A PUT
// of the group as it is (its members in any order), a PATCH replacing the
// members with the same set, and a PATCH adding members it holds keep
// meta.version, meta.lastModified and the ETag, and record no audit event;
// a PUT or a replace that changes one member moves them.
func TestGroupWriteThatChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		ctx := context.Background()
		tenant, err := db.Tenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		alice := c.do("POST", "/Users", userBody("alice@example.com")).want(t, 201).str("id")
		bob := c.do("POST", "/Users", userBody("bob@example.com")).want(t, 201).str("id")
		carol := c.do("POST", "/Users", userBody("carol@example.com")).want(t, 201).str("id")
		sub := c.do("POST", "/Groups", groupBody("Sub")).want(t, 201).str("id")
		group := c.do("POST", "/Groups", groupBody("Staff", alice, bob, sub)).want(t, 201).str("id")
		before := c.do("GET", "/Groups/"+group, nil).want(t, 200)
		events := func() int {
			t.Helper()
			evs, err := db.AuditEvents(ctx, tenant.ID, group)
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		same := func(what string, r response) {
			t.Helper()
			after := c.do("GET", "/Groups/"+group, nil).want(t, 200)
			bm, _ := before.body["meta"].(map[string]any)
			am, _ := after.body["meta"].(map[string]any)
			if bm["version"] != am["version"] || bm["lastModified"] != am["lastModified"] || after.header.Get("ETag") != before.header.Get("ETag") {
				t.Errorf("%s moved meta from %v to %v", what, bm, am)
			}
			if r.header.Get("ETag") != before.header.Get("ETag") {
				t.Errorf("%s answered ETag %s, want %s", what, r.header.Get("ETag"), before.header.Get("ETag"))
			}
			if len(memberSet(after)) != 3 {
				t.Errorf("%s left the members %s", what, after.raw)
			}
			if n := events(); n != 1 {
				t.Errorf("%s: %d audit events for the group, want only the create's", what, n)
			}
		}
		time.Sleep(1100 * time.Millisecond) // lastModified has seconds: a write now would show

		same("a PUT of the group as it is", c.do("PUT", "/Groups/"+group, groupBody("Staff", alice, bob, sub)).want(t, 200))
		same("a PUT of the group, members in another order", c.do("PUT", "/Groups/"+group, groupBody("Staff", sub, bob, alice)).want(t, 200))
		same("a PATCH replacing the members with the same set", c.do("PATCH", "/Groups/"+group, patchBody(
			`{"op":"replace","path":"members","value":[{"value":"`+bob+`"},{"value":"`+sub+`"},{"value":"`+alice+`"}]}`)).want(t, 204))
		same("a PATCH adding members the group holds", c.do("PATCH", "/Groups/"+group, patchBody(
			`{"op":"add","path":"members","value":[{"value":"`+alice+`"},{"value":"`+sub+`"}]}`)).want(t, 204))

		r := c.do("PATCH", "/Groups/"+group, patchBody(
			`{"op":"replace","path":"members","value":[{"value":"`+alice+`"},{"value":"`+sub+`"},{"value":"`+carol+`"}]}`)).want(t, 204)
		if r.header.Get("ETag") != `W/"2"` || events() != 2 {
			t.Errorf("a replace of bob by carol: ETag %s, %d events", r.header.Get("ETag"), events())
		}
		r = c.do("PUT", "/Groups/"+group, groupBody("Staff", alice, sub)).want(t, 200)
		if r.header.Get("ETag") != `W/"3"` || events() != 3 || len(memberSet(c.do("GET", "/Groups/"+group, nil).want(t, 200))) != 2 {
			t.Errorf("a PUT without carol: ETag %s, %d events", r.header.Get("ETag"), events())
		}
	})
}
