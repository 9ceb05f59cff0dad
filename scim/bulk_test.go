package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const bulkRequestURN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

// bulkBody is a bulk request of ops; failOnErrors 0 leaves it out.
func bulkBody(failOnErrors int, ops ...map[string]any) map[string]any {
	b := map[string]any{"schemas": []string{bulkRequestURN}, "Operations": ops}
	if failOnErrors > 0 {
		b["failOnErrors"] = failOnErrors
	}
	return b
}

// bulkOperation is one operation; empty bulkId, version and nil data are left out.
func bulkOperation(method, path, bulkID, version string, data any) map[string]any {
	op := map[string]any{"method": method, "path": path}
	if bulkID != "" {
		op["bulkId"] = bulkID
	}
	if version != "" {
		op["version"] = version
	}
	if data != nil {
		op["data"] = data
	}
	return op
}

// bulkResults checks a bulk response and returns its operations, which
// must number n.
func bulkResults(t *testing.T, r response, n int) []map[string]any {
	t.Helper()
	r.want(t, http.StatusOK)
	if s, _ := r.body["schemas"].([]any); len(s) != 1 || s[0] != "urn:ietf:params:scim:api:messages:2.0:BulkResponse" {
		t.Errorf("bulk response schemas = %v", r.body["schemas"])
	}
	list, _ := r.body["Operations"].([]any)
	if len(list) != n {
		t.Fatalf("%d operations in the bulk response, want %d: %s", len(list), n, r.raw)
	}
	ops := make([]map[string]any, n)
	for i, item := range list {
		ops[i] = item.(map[string]any)
	}
	return ops
}

// wantOp checks an operation's method, status (a string), version and
// location, "" meaning absent; a failure must carry a response, a success not.
func wantOp(t *testing.T, op map[string]any, method, status, version, location string) {
	t.Helper()
	if op["method"] != method || op["status"] != status {
		t.Errorf("operation %v: want method %s status %q", op, method, status)
	}
	if got, _ := op["version"].(string); got != version {
		t.Errorf("operation %v: version %q, want %q", op, got, version)
	}
	if got, _ := op["location"].(string); got != location {
		t.Errorf("operation %v: location %q, want %q", op, got, location)
	}
	if _, has := op["response"]; has != (status >= "400") { // three digits compare as strings
		t.Errorf("operation %v: response present = %v for status %s", op, has, status)
	}
}

// wantOpError checks the SCIM error in a failed operation's response.
func wantOpError(t *testing.T, op map[string]any, status, scimType, detailHas string) {
	t.Helper()
	e, _ := op["response"].(map[string]any)
	if op["status"] != status || e["status"] != status {
		t.Errorf("operation %v: want status %q in it and in its response", op, status)
	}
	if got, _ := e["scimType"].(string); got != scimType {
		t.Errorf("operation %v: scimType %q, want %q", op, got, scimType)
	}
	if d, _ := e["detail"].(string); !strings.Contains(d, detailHas) {
		t.Errorf("operation %v: detail does not mention %q", op, detailHas)
	}
}

func userCount(t *testing.T, c *client) float64 {
	t.Helper()
	n, _ := c.do("GET", "/Users", nil).want(t, http.StatusOK).body["totalResults"].(float64)
	return n
}

func TestBulkForwardReferences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		// The group comes first: its members are users created after it.
		ops := bulkResults(t, c.do("POST", "/Bulk", bulkBody(0,
			bulkOperation("POST", "/Groups", "g1", "", groupBody("Staff", "bulkId:u1", "bulkId:u2")),
			bulkOperation("POST", "/Users", "u1", "", userBody("alice@example.com")),
			bulkOperation("POST", "/Users", "u2", "", userBody("bob@example.com")),
		)), 3)

		ids := make([]string, 3)
		for i, endpoint := range []string{"/Groups/", "/Users/", "/Users/"} {
			loc, _ := ops[i]["location"].(string)
			ids[i] = strings.TrimPrefix(loc, c.base+endpoint)
			if ids[i] == "" || ids[i] == loc {
				t.Fatalf("operation %d: location %q is not under %s", i, loc, c.base+endpoint)
			}
			wantOp(t, ops[i], "POST", "201", `W/"1"`, c.base+endpoint+ids[i])
			if want := []string{"g1", "u1", "u2"}[i]; ops[i]["bulkId"] != want {
				t.Errorf("operation %d: bulkId %v, want %s (results keep request order)", i, ops[i]["bulkId"], want)
			}
		}

		g := c.do("GET", "/Groups/"+ids[0], nil).want(t, http.StatusOK)
		members := memberSet(g)
		if len(members) != 2 || !strings.HasPrefix(members[ids[1]], "User:") || !strings.HasPrefix(members[ids[2]], "User:") {
			t.Errorf("group members are not the two created users %s, %s: %s", ids[1], ids[2], g.raw)
		}
		if strings.Contains(g.raw, "bulkId:") {
			t.Errorf("a bulkId reference was stored: %s", g.raw)
		}
		for i, name := range map[int]string{1: "alice@example.com", 2: "bob@example.com"} {
			if u := c.do("GET", "/Users/"+ids[i], nil).want(t, http.StatusOK); u.str("userName") != name {
				t.Errorf("user %s: %s", ids[i], u.raw)
			}
		}
	})
}

func TestBulkFailOnErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		ops := func() []map[string]any {
			return []map[string]any{
				bulkOperation("POST", "/Users", "bad", "", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}}),
				bulkOperation("POST", "/Users", "u1", "", userBody("alice@example.com")),
				bulkOperation("POST", "/Users", "u2", "", userBody("bob@example.com")),
			}
		}

		// The first error stops the request: the later operations neither
		// run nor appear.
		res := bulkResults(t, c.do("POST", "/Bulk", bulkBody(1, ops()...)), 1)
		wantOp(t, res[0], "POST", "400", "", "")
		wantOpError(t, res[0], "400", "invalidValue", "userName is required")
		if n := userCount(t, c); n != 0 {
			t.Errorf("%v users after failOnErrors=1 stopped at the first operation, want 0", n)
		}

		// Without failOnErrors, an error does not stop the others.
		res = bulkResults(t, c.do("POST", "/Bulk", bulkBody(0, ops()...)), 3)
		wantOpError(t, res[0], "400", "invalidValue", "userName is required")
		for _, op := range res[1:] {
			if op["status"] != "201" {
				t.Errorf("operation after an error: %v", op)
			}
		}
		if n := userCount(t, c); n != 2 {
			t.Errorf("%v users, want 2", n)
		}
	})
}

func TestBulkVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		alice := c.do("POST", "/Users", userBody("alice")).want(t, http.StatusCreated).str("id")
		bob := c.do("POST", "/Users", userBody("bob")).want(t, http.StatusCreated).str("id")
		carol := c.do("POST", "/Users", userBody("carol")).want(t, http.StatusCreated).str("id")
		c.do("PUT", "/Users/"+bob, userBody("bob", "nickName", "Bobby")).want(t, http.StatusOK) // bob is at version 2

		res := bulkResults(t, c.do("POST", "/Bulk", bulkBody(0,
			bulkOperation("PUT", "/Users/"+alice, "", `W/"1"`, userBody("alice", "nickName", "Al")),
			bulkOperation("PUT", "/Users/"+bob, "", `W/"1"`, userBody("bob", "nickName", "Stale")),
			bulkOperation("DELETE", "/Users/"+bob, "", `W/"1"`, nil),
			bulkOperation("DELETE", "/Users/"+carol, "", `W/"1"`, nil),
		)), 4)
		wantOp(t, res[0], "PUT", "200", `W/"2"`, c.base+"/Users/"+alice)
		wantOp(t, res[1], "PUT", "412", "", c.base+"/Users/"+bob)
		wantOpError(t, res[1], "412", "", "If-Match")
		wantOp(t, res[2], "DELETE", "412", "", c.base+"/Users/"+bob)
		wantOp(t, res[3], "DELETE", "204", "", c.base+"/Users/"+carol)

		if a := c.do("GET", "/Users/"+alice, nil).want(t, http.StatusOK); a.str("nickName") != "Al" {
			t.Errorf("alice after the bulk PUT: %s", a.raw)
		}
		if b := c.do("GET", "/Users/"+bob, nil).want(t, http.StatusOK); b.str("nickName") != "Bobby" || b.header.Get("ETag") != `W/"2"` {
			t.Errorf("bob changed by operations with a stale version: %s", b.raw)
		}
		c.do("GET", "/Users/"+carol, nil).wantError(t, http.StatusNotFound, "", "")
	})
}

func TestBulkRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")

		// Whole requests that are refused run nothing.
		var many []map[string]any
		for i := range 1001 {
			many = append(many, bulkOperation("POST", "/Users", fmt.Sprint("u", i), "", userBody(fmt.Sprintf("user%d@example.com", i))))
		}
		c.do("POST", "/Bulk", bulkBody(0, many...)).wantError(t, http.StatusRequestEntityTooLarge, "", "1000")
		c.do("POST", "/Bulk", `{"schemas":["`+bulkRequestURN+`"],"Operations":[{"method":"POST",}]}`).
			wantError(t, http.StatusBadRequest, "invalidSyntax", "line 1, column")
		c.do("POST", "/Bulk", `{"Operations":[]}`).wantError(t, http.StatusBadRequest, "invalidSyntax", "schemas")
		c.do("POST", "/Bulk", bulkBody(0)).wantError(t, http.StatusBadRequest, "invalidSyntax", "Operations")
		c.do("POST", "/Bulk", bulkBody(0, bulkOperation("POST", "/Users", "", "", userBody("x")))).
			wantError(t, http.StatusBadRequest, "invalidValue", "bulkId is required")
		c.do("POST", "/Bulk", bulkBody(0, bulkOperation("GET", "/Users", "", "", nil))).
			wantError(t, http.StatusBadRequest, "invalidValue", "method")
		if n := userCount(t, c); n != 0 {
			t.Fatalf("a refused bulk request wrote %v users", n)
		}

		// A nested bulk is refused, however its path is spelt, and runs nothing.
		nested := bulkBody(0, bulkOperation("POST", "/Users", "n1", "", userBody("nested@example.com")))
		res := bulkResults(t, c.do("POST", "/Bulk", bulkBody(0,
			bulkOperation("POST", "/Bulk", "b1", "", nested),
			bulkOperation("POST", "/%42ulk/", "b2", "", nested),
		)), 2)
		wantOpError(t, res[0], "400", "invalidValue", "/Bulk")
		wantOpError(t, res[1], "400", "invalidValue", "/Bulk")
		if n := userCount(t, c); n != 0 {
			t.Fatalf("a nested bulk request wrote %v users", n)
		}

		// References that can never resolve fail their operation with 409;
		// the other operations run.
		res = bulkResults(t, c.do("POST", "/Bulk", bulkBody(0,
			bulkOperation("POST", "/Users", "u1", "", userBody("alice@example.com")),
			bulkOperation("POST", "/Groups", "g1", "", groupBody("Lost", "bulkId:u1", "bulkId:nobody")),
			bulkOperation("POST", "/Groups", "ga", "", groupBody("A", "bulkId:gb")),
			bulkOperation("POST", "/Groups", "gb", "", groupBody("B", "bulkId:ga")),
			bulkOperation("POST", "/Users", "bad", "", userBody("")),
			bulkOperation("PUT", "/Groups/bulkId:bad", "", "", groupBody("C")),
		)), 6)
		wantOp(t, res[0], "POST", "201", `W/"1"`, res[0]["location"].(string))
		wantOpError(t, res[1], "409", "invalidValue", "bulkId:nobody")
		wantOpError(t, res[2], "409", "invalidValue", "bulkId:gb")
		wantOpError(t, res[3], "409", "invalidValue", "bulkId:ga")
		if res[4]["status"] != "400" {
			t.Errorf("POST of an invalid user: %v", res[4])
		}
		wantOpError(t, res[5], "409", "invalidValue", "bulkId:bad")
		if list := c.do("GET", "/Groups", nil).want(t, http.StatusOK); list.body["totalResults"] != 0.0 {
			t.Errorf("an operation with an unresolved reference wrote: %s", list.raw)
		}

		// Entra capitalises keys and may send a method in any case.
		res = bulkResults(t, c.do("POST", "/Bulk", `{"Schemas":["`+bulkRequestURN+`"],"FailOnErrors":1,"Operations":[`+
			`{"Method":"post","Path":"/Users","BulkId":"e1","Data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"entra@example.com"}},`+
			`{"METHOD":"Delete","PATH":"/Users/bulkId:e1"}]}`), 2)
		wantOp(t, res[0], "POST", "201", `W/"1"`, res[0]["location"].(string))
		wantOp(t, res[1], "DELETE", "204", "", res[0]["location"].(string))
		if n := userCount(t, c); n != 1 {
			t.Errorf("%v users, want alice only", n)
		}
	})
}

// TestBulkOneTransaction: the operations of a bulk run in one transaction
// and see each other's writes, reads included: a PATCH of a user that an
// earlier POST of the same request created answers with the patched user.
func TestBulkOneTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		res := bulkResults(t, c.do("POST", "/Bulk", bulkBody(1,
			bulkOperation("POST", "/Users", "u1", "", userBody("alice@example.com")),
			bulkOperation("PATCH", "/Users/bulkId:u1", "", "", map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "Alice"}},
			}),
		)), 2)
		loc, _ := res[0]["location"].(string)
		wantOp(t, res[0], "POST", "201", `W/"1"`, loc)
		wantOp(t, res[1], "PATCH", "200", `W/"2"`, loc)
		if u := c.do("GET", strings.TrimPrefix(loc, c.base), nil).want(t, http.StatusOK); u.str("displayName") != "Alice" {
			t.Errorf("after the bulk: %s", u.raw)
		}
	})
}

// TestBulkRetried sends a bulk again, as an identity provider does when it
// never saw the answer. Cut short the first time, the bulk left nothing
// behind and the retry runs as a first attempt would. Committed the first
// time, the retry answers each create with the user it made then (same
// location and version), so that the references and the operations after
// it still run, instead of a 409 that, with failOnErrors, stops the bulk.
func TestBulkRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		staff := c.do("POST", "/Groups", groupBody("Staff")).want(t, http.StatusCreated).str("id")
		body := bulkBody(1,
			bulkOperation("POST", "/Users", "u1", "", userBody("alice@example.com", "externalId", "00u1")),
			bulkOperation("POST", "/Users", "u2", "", userBody("bob@example.com")),
			bulkOperation("PATCH", "/Groups/"+staff, "", "", map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "bulkId:u1"}, map[string]any{"value": "bulkId:u2"}}}},
			}),
		)
		first := bulkResults(t, c.do("POST", "/Bulk", body), 3)
		again := bulkResults(t, c.do("POST", "/Bulk", body), 3)
		for i, op := range again[:2] {
			wantOp(t, op, "POST", "201", `W/"1"`, first[i]["location"].(string))
		}
		if again[2]["status"] != "204" {
			t.Errorf("the members added again: %v", again[2])
		}
		if n := userCount(t, c); n != 2 {
			t.Errorf("%v users after the retry, want 2", n)
		}
		g := c.do("GET", "/Groups/"+staff, nil).want(t, http.StatusOK)
		if members, _ := g.body["members"].([]any); len(members) != 2 {
			t.Errorf("group after the retry: %s", g.raw)
		}

		// Only a create that would change nothing is a replay. A user
		// changed since in what the create sends is a conflict, as is a
		// second create outside a bulk (RFC 7644 §3.3).
		alice := strings.TrimPrefix(first[0]["location"].(string), c.base+"/Users/")
		c.do("PUT", "/Users/"+alice, userBody("alice@example.com", "externalId", "00u1",
			"name", map[string]any{"givenName": "Alice", "familyName": "Jensen"})).want(t, http.StatusOK)
		res := bulkResults(t, c.do("POST", "/Bulk", body), 1)
		wantOpError(t, res[0], "409", "uniqueness", "")
		c.do("POST", "/Users", userBody("bob@example.com")).wantError(t, http.StatusConflict, "uniqueness", "")
	})
}

// TestBulkCutShort stops a bulk mid-way, as a crash or a dropped
// connection would: nothing of it is committed, and sent again, it runs
// as a first attempt.
func TestBulkCutShort(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var running sync.WaitGroup
		h := scim.NewHandler(scim.Config{}, db.Reader(), reconcile.New(db, nil))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			running.Add(1)
			defer running.Done()
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		c := newClient(t, db, srv, "acme", "okta")
		bulk := func(prefix string) map[string]any {
			ops := make([]map[string]any, 400)
			for i := range ops {
				ops[i] = bulkOperation("POST", "/Users", fmt.Sprint("u", i), "", userBody(fmt.Sprintf("%s%d@example.com", prefix, i)))
			}
			return bulkBody(0, ops...)
		}
		// How long a whole bulk takes here, to cut the next one at a third.
		start := time.Now()
		bulkResults(t, c.do("POST", "/Bulk", bulk("timed")), 400)
		took := time.Since(start)

		ctx, cancel := context.WithTimeout(t.Context(), took/3)
		defer cancel()
		data, _ := json.Marshal(bulk("cut"))
		req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/Bulk", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/scim+json")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("the bulk finished (%s) before it was cut at %v: the cut comes too late to test anything", res.Status, took/3)
		}
		running.Wait() // the server has seen the cut and stopped
		list := c.do("GET", "/Users?filter="+url.QueryEscape(`userName sw "cut"`), nil).want(t, http.StatusOK)
		if n := list.body["totalResults"]; n != 0.0 {
			t.Fatalf("a bulk cut short left %v of its users behind", n)
		}
		for _, op := range bulkResults(t, c.do("POST", "/Bulk", bulk("cut")), 400) {
			if op["status"] != "201" {
				t.Fatalf("the bulk sent again: %v", op)
			}
		}
	})
}

// TestBulkLimitsAdvertised: /ServiceProviderConfig advertises the limits
// that bulk requests are held to.
func TestBulkLimitsAdvertised(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const limit = 64 << 10
		c := newClient(t, db, newServer(t, db, scim.Config{MaxBodyBytes: limit}), "acme", "okta")
		bulk, _ := c.do("GET", "/ServiceProviderConfig", nil).want(t, http.StatusOK).body["bulk"].(map[string]any)
		if bulk["supported"] != true || bulk["maxOperations"] != 1000.0 || bulk["maxPayloadSize"] != float64(limit) {
			t.Fatalf("bulk in /ServiceProviderConfig: %v", bulk)
		}
		var ops []map[string]any
		for i := range 400 { // about 100 KiB
			ops = append(ops, bulkOperation("POST", "/Users", fmt.Sprint("u", i), "", userBody(fmt.Sprintf("user%d@example.com", i))))
		}
		c.do("POST", "/Bulk", bulkBody(0, ops...)).wantError(t, http.StatusRequestEntityTooLarge, "", fmt.Sprint(limit))
		if n := userCount(t, c); n != 0 {
			t.Errorf("a bulk over maxPayloadSize wrote %v users", n)
		}
	})
}

// TestBulkRetriedEveryOperation: a bulk that committed, its answer lost,
// is sent again. Every operation that took effect the first time answers
// the retry as it did then: a group POST 201 with the group it made, a
// DELETE 204, a PUT and a PATCH 200 with the version they left, none of
// them writing or auditing anything again; so failOnErrors does not stop
// the bulk at the first of them and the operations after it still run.
func TestBulkRetriedEveryOperation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := newServer(t, db, scim.Config{})
		c := newClient(t, db, srv, "acme", "okta")
		tenant, err := db.Tenant(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string // of every resource the bulk writes
		events := func() int {
			t.Helper()
			n := 0
			for _, id := range ids {
				evs, err := db.AuditEvents(t.Context(), tenant.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				n += len(evs)
			}
			return n
		}
		bob := c.do("POST", "/Users", userBody("bob@example.com")).want(t, http.StatusCreated).str("id")
		carol := c.do("POST", "/Users", userBody("carol@example.com")).want(t, http.StatusCreated).str("id")
		erin := c.do("POST", "/Users", userBody("erin@example.com")).want(t, http.StatusCreated).str("id")
		old := c.do("POST", "/Groups", groupBody("Old", bob)).want(t, http.StatusCreated).str("id")
		body := bulkBody(1,
			bulkOperation("POST", "/Users", "u1", "", userBody("alice@example.com")),
			bulkOperation("POST", "/Groups", "g1", "", groupBody("Staff", "bulkId:u1", bob)),
			bulkOperation("PUT", "/Users/"+bob, "", "", userBody("bob@example.com", "nickName", "Bobby")),
			bulkOperation("PATCH", "/Users/"+erin, "", "", json.RawMessage(patchBody(`{"op":"replace","path":"title","value":"Guide"}`))),
			bulkOperation("DELETE", "/Users/"+carol, "", "", nil),
			bulkOperation("DELETE", "/Groups/"+old, "", "", nil),
			bulkOperation("POST", "/Groups", "g2", "", groupBody("Empty")),
		)
		first := bulkResults(t, c.do("POST", "/Bulk", body), 7)
		wantStatus := []string{"201", "201", "200", "200", "204", "204", "201"}
		for i, op := range first {
			if op["status"] != wantStatus[i] {
				t.Fatalf("first attempt, operation %d: %v", i, op)
			}
		}
		ids = append(ids, bob, carol, erin, old)
		for _, i := range []int{0, 1, 6} {
			ids = append(ids, path.Base(first[i]["location"].(string)))
		}
		n := events()
		again := bulkResults(t, c.do("POST", "/Bulk", body), 7)
		for i, op := range again {
			v, _ := first[i]["version"].(string)
			loc, _ := first[i]["location"].(string)
			wantOp(t, op, first[i]["method"].(string), wantStatus[i], v, loc)
		}
		if got := events(); got != n {
			t.Errorf("the retry recorded %d audit events, want none", got-n)
		}
		staff := strings.TrimPrefix(first[1]["location"].(string), c.base+"/Groups/")
		if g := c.do("GET", "/Groups/"+staff, nil).want(t, http.StatusOK); len(memberSet(g)) != 2 || g.header.Get("ETag") != `W/"1"` {
			t.Errorf("the group after the retry: %s %s", g.header.Get("ETag"), g.raw)
		}

		// Only what the retry would not change replays. A group changed
		// since in its members is a conflict, as a second POST outside a
		// bulk is; a DELETE of what never existed, or of what another
		// connector deleted, is a 404, and so is any second DELETE outside
		// a bulk (RFC 7644 §3.6).
		c.do("PUT", "/Groups/"+staff, groupBody("Staff", bob)).want(t, http.StatusOK)
		res := bulkResults(t, c.do("POST", "/Bulk", body), 2)
		wantOp(t, res[0], "POST", "201", `W/"1"`, first[0]["location"].(string))
		wantOpError(t, res[1], "409", "uniqueness", "")
		c.do("POST", "/Groups", groupBody("Empty")).wantError(t, http.StatusConflict, "uniqueness", "")
		c.do("DELETE", "/Users/"+carol, nil).wantError(t, http.StatusNotFound, "", "")
		entra := newClient(t, db, srv, "acme", "entra")
		dave := c.do("POST", "/Users", userBody("dave@example.com")).want(t, http.StatusCreated).str("id")
		c.do("DELETE", "/Users/"+dave, nil).want(t, http.StatusNoContent)
		res = bulkResults(t, entra.do("POST", "/Bulk", bulkBody(0,
			bulkOperation("DELETE", "/Users/"+dave, "", "", nil),
			bulkOperation("DELETE", "/Users/"+uuidLike, "", "", nil),
		)), 2)
		wantOpError(t, res[0], "404", "", "")
		wantOpError(t, res[1], "404", "", "")
	})
}

const uuidLike = "6f1c2a54-0000-4000-8000-000000000000"
