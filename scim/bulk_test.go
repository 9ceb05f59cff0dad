package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

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
	if _, has := op["response"]; has != (status >= "400") {
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
			loc, _ := ops[i].(map[string]any)["location"].(string)
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
		for i, name := range []string{"", "alice@example.com", "bob@example.com"} {
			if i > 0 {
				if u := c.do("GET", "/Users/"+ids[i], nil).want(t, http.StatusOK); u.str("userName") != name {
					t.Errorf("user %s: %s", ids[i], u.raw)
				}
			}
		}
	})
}

// bulk is ops as a generic list, for bulkResults' callers that index it.
func (op bulkOpAlias) get(key string) any { return op[key] }

type bulkOpAlias map[string]any
