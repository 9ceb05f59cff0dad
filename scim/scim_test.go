package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// client talks to a real scimd handler on loopback as one connector.
type client struct {
	t     testing.TB
	base  string // .../scim/v2/{tenant}
	token string
}

// newServer starts scimd on db behind a loopback HTTP server.
func newServer(t testing.TB, db *store.DB, cfg scim.Config) *httptest.Server {
	srv := httptest.NewServer(scim.NewHandler(cfg, db.Reader(), reconcile.New(db, nil)))
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t testing.TB, db *store.DB, srv *httptest.Server, tenant, connector string) *client {
	t.Helper()
	tok, err := reconcile.New(db, nil).IssueToken(context.Background(), reconcile.CommandLine, tenant, connector)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: srv.URL + "/scim/v2/" + tenant, token: tok.Secret}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c *client) do(method, path string, body any, header ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/scim+json" {
			c.t.Errorf("%s %s: Content-Type %q, want application/scim+json", method, path, ct)
		}
	}
	return r
}

// want fails the test unless the response has the status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// wantError checks a SCIM error response (RFC 7644 §3.12).
func (r response) wantError(t *testing.T, status int, scimType string, detailHas string) {
	t.Helper()
	r.want(t, status)
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("error schemas = %v", r.body["schemas"])
	}
	if r.body["status"] != fmt.Sprint(status) {
		t.Errorf("error status = %#v, want the string %q", r.body["status"], fmt.Sprint(status))
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		t.Errorf("scimType = %q, want %q", got, scimType)
	}
	if d, _ := r.body["detail"].(string); !strings.Contains(d, detailHas) {
		t.Errorf("detail %q does not mention %q", d, detailHas)
	}
}

func (r response) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

// userBody is a user whose work email is userName, or userName@example.com
// when userName is no address.
func userBody(userName string, extra ...any) map[string]any {
	email := userName
	if !strings.Contains(email, "@") {
		email += "@example.com"
	}
	b := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
		"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

func groupBody(name string, memberIDs ...string) map[string]any {
	members := []any{}
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
		"members":     members,
	}
}

func TestUsersCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := newServer(t, db, scim.Config{})
		c := newClient(t, db, srv, "acme", "okta")

		created := c.do("POST", "/Users", userBody("Bjensen@example.com",
			"externalId", "00u1",
			"password", "t1meMa$heen",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", map[string]any{"department": "Radiology"},
		)).want(t, http.StatusCreated)
		id := created.str("id")
		if id == "" || created.str("userName") != "Bjensen@example.com" || created.str("externalId") != "00u1" {
			t.Fatalf("created: %s", created.raw)
		}
		if created.body["active"] != true {
			t.Errorf("a new user without active should be active: %s", created.raw)
		}
		if _, ok := created.body["password"]; ok {
			t.Errorf("password returned: %s", created.raw)
		}
		meta, _ := created.body["meta"].(map[string]any)
		if meta["version"] != `W/"1"` || created.header.Get("ETag") != `W/"1"` {
			t.Errorf("version %v / ETag %q, want W/\"1\"", meta["version"], created.header.Get("ETag"))
		}
		if loc := created.header.Get("Location"); loc != c.base+"/Users/"+id || meta["location"] != loc {
			t.Errorf("Location %q, meta.location %v, want %s", loc, meta["location"], c.base+"/Users/"+id)
		}

		// GET shows exactly what POST answered.
		got := c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
		if got.raw != "" && !jsonEqual(got.body, created.body) {
			t.Errorf("GET differs from the POST response:\nPOST %s\nGET  %s", created.raw, got.raw)
		}
		ext, _ := got.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
		if ext["department"] != "Radiology" {
			t.Errorf("enterprise extension lost: %s", got.raw)
		}

		// PUT replaces the whole resource.
		put := c.do("PUT", "/Users/"+id, userBody("bjensen@example.com", "displayName", "Babs", "active", false)).want(t, http.StatusOK)
		if put.str("displayName") != "Babs" || put.body["active"] != false || put.str("externalId") != "" {
			t.Errorf("after PUT: %s", put.raw)
		}
		if _, ok := put.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]; ok {
			t.Errorf("PUT without the extension kept it: %s", put.raw)
		}
		if put.header.Get("ETag") != `W/"2"` {
			t.Errorf("ETag after PUT = %q, want W/\"2\"", put.header.Get("ETag"))
		}
		got = c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
		if got.str("displayName") != "Babs" || got.body["active"] != false {
			t.Errorf("GET after PUT: %s", got.raw)
		}

		c.do("DELETE", "/Users/"+id, nil).want(t, http.StatusNoContent)
		c.do("GET", "/Users/"+id, nil).wantError(t, http.StatusNotFound, "", "")
		c.do("DELETE", "/Users/"+id, nil).wantError(t, http.StatusNotFound, "", "")
		c.do("PUT", "/Users/"+id, userBody("x")).wantError(t, http.StatusNotFound, "", "")
	})
}

func TestUserNameConflictIgnoresCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		c.do("POST", "/Users", userBody("Alice@Example.com")).want(t, http.StatusCreated)
		c.do("POST", "/Users", userBody("aLICE@example.COM")).wantError(t, http.StatusConflict, "uniqueness", "userName")
		bob := c.do("POST", "/Users", userBody("bob@example.com")).want(t, http.StatusCreated)
		c.do("PUT", "/Users/"+bob.str("id"), userBody("ALICE@example.com")).wantError(t, http.StatusConflict, "uniqueness", "userName")

		list := c.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "ALICE@EXAMPLE.COM"`), nil).want(t, http.StatusOK)
		if list.body["totalResults"] != 1.0 || list.body["itemsPerPage"] != 1.0 {
			t.Fatalf("case-insensitive filter: %s", list.raw)
		}
		res := list.body["Resources"].([]any)[0].(map[string]any)
		if res["userName"] != "Alice@Example.com" {
			t.Errorf("filtered user = %v, want the stored spelling", res["userName"])
		}
	})
}

func TestListAndFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{MaxResults: 3}), "acme", "okta")
		empty := c.do("GET", "/Users", nil).want(t, http.StatusOK)
		if !strings.Contains(empty.raw, `"Resources":[]`) || empty.body["totalResults"] != 0.0 {
			t.Fatalf("empty list must be 200 with Resources [] : %s", empty.raw)
		}
		for i := range 5 {
			c.do("POST", "/Users", userBody(fmt.Sprintf("user%d@example.com", i), "externalId", fmt.Sprintf("ext-%d", i))).want(t, http.StatusCreated)
		}
		page := c.do("GET", "/Users?startIndex=2&count=2", nil).want(t, http.StatusOK)
		if page.body["totalResults"] != 5.0 || page.body["itemsPerPage"] != 2.0 || page.body["startIndex"] != 2.0 {
			t.Fatalf("page: %s", page.raw)
		}
		if first := page.body["Resources"].([]any)[0].(map[string]any); first["userName"] != "user1@example.com" {
			t.Errorf("startIndex=2 starts at %v, want user1", first["userName"])
		}
		clamped := c.do("GET", "/Users?count=1000", nil).want(t, http.StatusOK)
		if clamped.body["itemsPerPage"] != 3.0 {
			t.Errorf("count above maxResults must be clamped to 3: %s", clamped.raw)
		}
		byExt := c.do("GET", "/Users?filter="+url.QueryEscape(`externalId eq "ext-3"`), nil).want(t, http.StatusOK)
		if byExt.body["totalResults"] != 1.0 {
			t.Errorf("externalId eq: %s", byExt.raw)
		}
		// The Entra "Test Connection" probe: a user that does not exist.
		none := c.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "non-existent user"`), nil).want(t, http.StatusOK)
		if !strings.Contains(none.raw, `"Resources":[]`) || none.body["totalResults"] != 0.0 {
			t.Errorf("zero results: %s", none.raw)
		}
		c.do("GET", "/Users?filter="+url.QueryEscape(`userName eq`), nil).wantError(t, 400, "invalidFilter", "userName eq")
		c.do("GET", "/Users?filter="+url.QueryEscape(`shoeSize eq "9"`), nil).wantError(t, 400, "invalidFilter", "shoeSize")
		c.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+strings.Repeat("a", 2000)+`"`), nil).wantError(t, 400, "invalidFilter", "limit")
		c.do("GET", "/Users?count=ten", nil).wantError(t, 400, "invalidValue", "count")
		c.do("GET", "/Users/", nil).want(t, http.StatusOK) // trailing slash, as Entra sends it
	})
}

func TestGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		alice := c.do("POST", "/Users", userBody("alice@example.com", "displayName", "Alice")).want(t, http.StatusCreated).str("id")
		bob := c.do("POST", "/Users", userBody("bob@example.com")).want(t, http.StatusCreated).str("id")
		sub := c.do("POST", "/Groups", groupBody("Sub")).want(t, http.StatusCreated).str("id")

		g := c.do("POST", "/Groups", groupBody("Staff", alice, sub)).want(t, http.StatusCreated)
		gid := g.str("id")
		members := memberSet(g)
		if members[alice] != "User:Alice" || members[sub] != "Group:Sub" || len(members) != 2 {
			t.Fatalf("members in POST response: %s", g.raw)
		}
		got := c.do("GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
		if !jsonEqual(got.body, g.body) {
			t.Errorf("GET differs from POST:\nPOST %s\nGET  %s", g.raw, got.raw)
		}
		// The user lists its group.
		u := c.do("GET", "/Users/"+alice, nil).want(t, http.StatusOK)
		groups, _ := u.body["groups"].([]any)
		if len(groups) != 1 || groups[0].(map[string]any)["value"] != gid {
			t.Errorf("alice's groups: %s", u.raw)
		}

		// PUT replaces the member list.
		put := c.do("PUT", "/Groups/"+gid, groupBody("Staff", bob)).want(t, http.StatusOK)
		if m := memberSet(put); len(m) != 1 || m[bob] == "" {
			t.Errorf("members after PUT: %s", put.raw)
		}

		// A group is not its own member, and a refused PUT changes nothing
		// (unknown members: TestUnknownMembers).
		c.do("PUT", "/Groups/"+gid, groupBody("Staff", alice, gid)).wantError(t, 400, "invalidValue", "itself")
		if m := memberSet(c.do("GET", "/Groups/"+gid, nil)); len(m) != 1 || m[bob] == "" {
			t.Errorf("a refused PUT changed members: %v", m)
		}

		list := c.do("GET", "/Groups?filter="+url.QueryEscape(`displayName eq "STAFF"`), nil).want(t, http.StatusOK)
		if list.body["totalResults"] != 1.0 {
			t.Errorf("displayName eq: %s", list.raw)
		}

		// Deleting a member user leaves the group; deleting the group works.
		c.do("DELETE", "/Users/"+bob, nil).want(t, http.StatusNoContent)
		if m := memberSet(c.do("GET", "/Groups/"+gid, nil)); len(m) != 0 {
			t.Errorf("deleted user still a member: %v", m)
		}
		c.do("DELETE", "/Groups/"+gid, nil).want(t, http.StatusNoContent)
		c.do("GET", "/Groups/"+gid, nil).wantError(t, 404, "", "")
	})
}

func memberSet(r response) map[string]string {
	out := map[string]string{}
	list, _ := r.body["members"].([]any)
	for _, item := range list {
		m := item.(map[string]any)
		out[m["value"].(string)] = fmt.Sprint(m["type"], ":", m["display"])
	}
	return out
}

func TestBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{MaxBodyBytes: 4096}), "acme", "okta")
		c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x",}`).
			wantError(t, 400, "invalidSyntax", "line 1, column")
		c.do("POST", "/Users", `[1,2]`).wantError(t, 400, "invalidSyntax", "JSON object")
		c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`).wantError(t, 400, "invalidValue", "userName is required")
		c.do("POST", "/Users", `{"userName":"x"}`).wantError(t, 400, "invalidSyntax", "schemas")
		c.do("POST", "/Users", userBody("x", "active", "sometimes")).wantError(t, 400, "invalidValue", "active")
		c.do("POST", "/Users", userBody("x", "emails", "x@example.com")).wantError(t, 400, "invalidSyntax", "emails: expected a list")
		c.do("POST", "/Users", userBody("x", "USERNAME", "y")).wantError(t, 400, "invalidSyntax", "twice")
		c.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`).wantError(t, 400, "invalidValue", "displayName")
		big := userBody("x", "nickName", strings.Repeat("n", 5000))
		c.do("POST", "/Users", big).wantError(t, http.StatusRequestEntityTooLarge, "", "4096")
		// None of these wrote anything.
		if list := c.do("GET", "/Users", nil); list.body["totalResults"] != 0.0 {
			t.Errorf("a refused request wrote: %s", list.raw)
		}
		c.do("GET", "/Nothing", nil).wantError(t, 404, "", "")
		// Below a resource's path only {id} is served; the library's
		// PATCH answered these 500.
		c.do("PATCH", "/Users/a/b", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`).wantError(t, 404, "", "/Users/{id}")
		c.do("GET", "/Groups/a/b", nil).wantError(t, 404, "", "/Groups/{id}")
	})
}

func TestAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := newServer(t, db, scim.Config{})
		a := newClient(t, db, srv, "acme", "okta")
		b := newClient(t, db, srv, "globex", "okta")
		id := a.do("POST", "/Users", userBody("alice@acme.example")).want(t, http.StatusCreated).str("id")

		// Tenant B's token on tenant A's URL: 401, and no data.
		cross := &client{t: t, base: a.base, token: b.token}
		for _, r := range []response{
			cross.do("GET", "/Users", nil),
			cross.do("GET", "/Users/"+id, nil),
			cross.do("DELETE", "/Users/"+id, nil),
			cross.do("POST", "/Users", userBody("mallory")),
		} {
			r.wantError(t, http.StatusUnauthorized, "", "tenant")
			if strings.Contains(r.raw, "alice") {
				t.Errorf("401 leaks data: %s", r.raw)
			}
		}
		// Tenant B sees only its own users on its own URL.
		if list := b.do("GET", "/Users", nil).want(t, http.StatusOK); list.body["totalResults"] != 0.0 {
			t.Errorf("tenant B lists tenant A's users: %s", list.raw)
		}

		bad := &client{t: t, base: a.base, token: "scimd_" + strings.Repeat("A", 49)}
		bad.do("GET", "/Users", nil).wantError(t, http.StatusUnauthorized, "", "")
		engine, ctx := reconcile.New(db, nil), context.Background()
		revoked, err := engine.IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
		if err == nil {
			_, err = engine.RevokeToken(ctx, reconcile.CommandLine, revoked.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		r := (&client{t: t, base: a.base, token: revoked.Secret}).do("GET", "/Users", nil)
		r.wantError(t, http.StatusUnauthorized, "", "unknown or revoked")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		(&client{t: t, base: a.base}).do("GET", "/Users", nil).wantError(t, http.StatusUnauthorized, "", "Bearer")
		(&client{t: t, base: srv.URL + "/scim/v2/nope", token: a.token}).do("GET", "/Users", nil).wantError(t, http.StatusUnauthorized, "", "")
	})
}

func TestIfMatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		id := c.do("POST", "/Users", userBody("alice")).want(t, http.StatusCreated).str("id")
		c.do("PUT", "/Users/"+id, userBody("alice", "nickName", "A"), "If-Match", `W/"1"`).want(t, http.StatusOK)
		c.do("PUT", "/Users/"+id, userBody("alice", "nickName", "B"), "If-Match", `W/"1"`).wantError(t, http.StatusPreconditionFailed, "", "If-Match")
		c.do("DELETE", "/Users/"+id, nil, "If-Match", `W/"1"`).wantError(t, http.StatusPreconditionFailed, "", "")
		c.do("DELETE", "/Users/"+id, nil, "If-Match", `W/"2"`).want(t, http.StatusNoContent)
	})
}

func TestServiceProviderConfig(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		spc := c.do("GET", "/ServiceProviderConfig", nil).want(t, http.StatusOK)
		if spc.body["patch"].(map[string]any)["supported"] != true || spc.body["filter"].(map[string]any)["maxResults"] != 200.0 ||
			spc.body["sort"].(map[string]any)["supported"] != true || spc.body["etag"].(map[string]any)["supported"] != true ||
			spc.body["bulk"].(map[string]any)["maxOperations"] != 1000.0 || spc.body["pagination"].(map[string]any)["cursor"] != true {
			t.Errorf("service provider config: %s", spc.raw)
		}
		rts := c.do("GET", "/ResourceTypes", nil).want(t, http.StatusOK)
		if !strings.Contains(rts.raw, `"endpoint":"/Users"`) || !strings.Contains(rts.raw, `"endpoint":"/Groups"`) {
			t.Errorf("resource types: %s", rts.raw)
		}
		schemas := c.do("GET", "/Schemas", nil).want(t, http.StatusOK)
		for _, want := range []string{`"name":"userName"`, `"uniqueness":"server"`, `"returned":"never"`, `"mutability":"readOnly"`,
			`"id":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, `"name":"members"`} {
			if !strings.Contains(schemas.raw, want) {
				t.Errorf("/Schemas lacks %s", want)
			}
		}
		c.do("PATCH", "/Users/6e8bc430-9c3a-11d9-9669-0800200c9a66", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`).
			wantError(t, http.StatusNotFound, "", "")
	})
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
