package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func patchBody(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// TestIdPChecklist walks the "server must" checklist of IDP-QUIRKS.md
// §2.5, item by item, over HTTP on both databases.
func TestIdPChecklist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "entra")
		id := c.do("POST", "/Users", userBody("bjensen@example.com", "active", "True", "externalId", "e-1")).want(t, 201).str("id")
		get := func() response { return c.do("GET", "/Users/"+id, nil).want(t, 200) }

		t.Run("1: op in any case; Add on a single-valued attribute replaces", func(t *testing.T) {
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"displayName","value":"One"}`, `{"op":"ADD","path":"displayName","value":"Two"}`)).want(t, 200)
			if got := get().str("displayName"); got != "Two" {
				t.Errorf("displayName = %q", got)
			}
		})
		t.Run("2: string booleans in POST, PATCH and filters", func(t *testing.T) {
			if get().body["active"] != true {
				t.Error(`POST "active":"True" did not store true`)
			}
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"False"}`)).want(t, 200)
			if get().body["active"] != false {
				t.Error(`PATCH "False" did not store false`)
			}
			if r := c.do("GET", "/Users?filter="+url.QueryEscape(`active eq "false"`), nil).want(t, 200); r.body["totalResults"] != 1.0 {
				t.Errorf("filter with a string boolean: %s", r.raw)
			}
		})
		t.Run("3: attribute and sub-attribute names in any case", func(t *testing.T) {
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"Emails[Type eq \"work\"].Value","value":"b@work.example"}`)).want(t, 200)
			r := c.do("GET", "/Users?filter="+url.QueryEscape(`EMAILS.value eq "B@WORK.example"`), nil).want(t, 200)
			if r.body["totalResults"] != 1.0 {
				t.Errorf("case-insensitive names: %s", r.raw)
			}
			p := c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"UserName":"case@example.com","Emails":[{"Primary":true,"Value":"case@example.com","Type":"work"}]}`).want(t, 201)
			if !strings.Contains(p.raw, `"primary":true`) || !strings.Contains(p.raw, `"userName":"case@example.com"`) {
				t.Errorf("capitalised keys in a POST body: %s", p.raw)
			}
		})
		t.Run("4: path-less values: dotted keys, URNs, plain objects", func(t *testing.T) {
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{"name.givenName":"Kkom","`+ent+`:employeeNumber":"Aklq","active":true}}`)).want(t, 200)
			u := get()
			if u.body["name"].(map[string]any)["givenName"] != "Kkom" || u.body[ent].(map[string]any)["employeeNumber"] != "Aklq" || u.body["active"] != true {
				t.Errorf("path-less replace: %s", u.raw)
			}
		})
		t.Run("5: value filters create what they name and merge successive ops", func(t *testing.T) {
			ops := patchBody(
				`{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"}`,
				`{"op":"Add","path":"addresses[type eq \"work\"].postalCode","value":"12345"}`,
				`{"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555"}`)
			// A replace that matches nothing is noTarget (RFC 7644
			// §3.5.2.3), but for the entra profile, which creates it.
			c.do("PATCH", "/Users/"+id, ops).wantError(t, 400, "noTarget", "phoneNumbers")
			setProfile(t, db, "acme", "entra", "entra")
			c.do("PATCH", "/Users/"+id, ops).want(t, 204)
			setProfile(t, db, "acme", "entra", "default")
			u := get()
			addrs := u.body["addresses"].([]any)
			if len(addrs) != 1 || addrs[0].(map[string]any)["postalCode"] != "12345" || addrs[0].(map[string]any)["streetAddress"] != "1 Main St" {
				t.Errorf("addresses: %v", addrs)
			}
			if !strings.Contains(u.raw, `"phoneNumbers":[{"type":"mobile","value":"+1 555"}]`) {
				t.Errorf("phoneNumbers: %s", u.raw)
			}
		})
		t.Run("7: manager as a bare id or {value}; removal by an empty replace", func(t *testing.T) {
			boss := map[string]string{}
			for _, b := range []string{"boss-1", "boss-2", "boss-3"} {
				boss[b] = c.do("POST", "/Users", userBody(b+"@example.com")).want(t, 201).str("id")
			}
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+ent+`:manager","value":"`+boss["boss-1"]+`"}`)).want(t, 200)
			if !strings.Contains(get().raw, `"manager":{"value":"`+boss["boss-1"]+`"}`) {
				t.Error("bare manager id not stored as {value}")
			}
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"`+ent+`:manager","value":{"value":"`+boss["boss-2"]+`"}}`)).want(t, 200)
			if !strings.Contains(get().raw, `"manager":{"value":"`+boss["boss-2"]+`"}`) {
				t.Error("manager {value} not stored")
			}
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"`+ent+`:manager","value":""}`)).want(t, 200)
			if strings.Contains(get().raw, "manager") {
				t.Error("manager not removed by an empty replace")
			}
			p := c.do("POST", "/Users", userBody("managed@example.com", ent, map[string]any{"manager": boss["boss-3"]})).want(t, 201)
			if !strings.Contains(p.raw, `"manager":{"value":"`+boss["boss-3"]+`"}`) {
				t.Errorf("bare manager in a POST: %s", p.raw)
			}
		})
		t.Run("8: null and empty clear", func(t *testing.T) {
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"displayName","value":null}`, `{"op":"Replace","path":"addresses","value":""}`)).want(t, 200)
			u := get()
			if _, ok := u.body["displayName"]; ok {
				t.Errorf("displayName not cleared: %s", u.raw)
			}
			if _, ok := u.body["addresses"]; ok {
				t.Errorf("addresses not cleared: %s", u.raw)
			}
		})
		t.Run("13: disable keeps the user visible; reactivation works", func(t *testing.T) {
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{"active":false}}`)).want(t, 200)
			r := c.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "bjensen@example.com"`), nil).want(t, 200)
			if r.body["totalResults"] != 1.0 || !strings.Contains(r.raw, `"active":false`) {
				t.Errorf("a disabled user must stay visible: %s", r.raw)
			}
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":true}`)).want(t, 200)
			if get().body["active"] != true {
				t.Error("reactivation failed")
			}
		})
		t.Run("14: read-only attributes ignored on POST and PUT; unknown ones dropped on PUT", func(t *testing.T) {
			body := userBody("bjensen@example.com", "id", "forged", "meta", map[string]any{"resourceType": "User"}, "groups", []any{}, "adreses", "x")
			r := c.do("PUT", "/Users/"+id, body).want(t, 200)
			if r.str("id") != id || strings.Contains(r.raw, "adreses") || strings.Contains(r.raw, "forged") {
				t.Errorf("PUT with read-only and unknown attributes: %s", r.raw)
			}
		})
		t.Run("15, 16: JSON content type, SCIM 1.0 URN, query on the base URL, trailing slash, lower-case path", func(t *testing.T) {
			req, _ := http.NewRequest("POST", c.base+"/users/?aadOptscim062020", strings.NewReader(
				`{"schemas":["urn:scim:schemas:core:1.0","urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"google@example.com"}`))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "Google-Auto-Provisioning")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 201 || res.Header.Get("Content-Type") != "application/scim+json" {
				t.Errorf("Google-style POST: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			c.do("GET", "/Users/?aadOptscim062020&filter="+url.QueryEscape(`userName eq "google@example.com"`), nil).want(t, 200)
		})
		t.Run("17: PATCH answers 200 with the user, 204 for a group", func(t *testing.T) {
			r := c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"title","value":"Dr."}`)).want(t, 200)
			if r.str("title") != "Dr." || r.header.Get("ETag") == "" {
				t.Errorf("user PATCH response: %s", r.raw)
			}
			g := c.do("POST", "/Groups", groupBody("Staff")).want(t, 201).str("id")
			gr := c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"replace","path":"displayName","value":"Staff 2"}`))
			if gr.status != 204 || gr.raw != "" || gr.header.Get("ETag") != `W/"2"` {
				t.Errorf("group PATCH: %d %q ETag %q", gr.status, gr.raw, gr.header.Get("ETag"))
			}
		})
		t.Run("mutability and bad paths are 400 with the operation named", func(t *testing.T) {
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"id","value":"x"}`)).wantError(t, 400, "mutability", "Operations[0]")
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","path":"shoeSize","value":"9"}`)).wantError(t, 400, "invalidPath", "shoeSize")
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"remove","path":"userName"}`)).wantError(t, 400, "invalidValue", "userName")
			c.do("PATCH", "/Users/"+id, `{"Operations":[]}`).wantError(t, 400, "invalidSyntax", "PatchOp")
			c.do("PATCH", "/Users/"+id, patchBody()).want(t, 200) // the Microsoft validator's empty PATCH
			c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"title","value":"x"}`), "If-Match", `W/"1"`).wantError(t, 412, "", "If-Match")
		})
	})
}

// TestGroupMembershipPatch: membership changes of any size are set
// operations; adding an existing member is a no-op; removing by value
// list removes only those.
func TestGroupMembershipPatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{MaxBodyBytes: 4 << 20, MaxPatchMembers: 5000}), "acme", "okta")
		const n = 5000
		seedUsers(t, db, "acme", n)
		var ids []string
		for start := 1; start <= n; start += 200 {
			page := c.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=200&attributes=id", start), nil).want(t, 200)
			ids = append(ids, names(page, "id")...)
		}
		g := c.do("POST", "/Groups", groupBody("Everyone")).want(t, 201).str("id")

		values := make([]string, len(ids))
		for i, id := range ids {
			values[i] = fmt.Sprintf(`{"value":%q,"$ref":null}`, id)
		}
		start := time.Now()
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"Add","path":"members","value":[`+strings.Join(values, ",")+`]}`)).want(t, 204)
		t.Logf("added %d members in one PATCH in %v", n, time.Since(start))
		count := func() int {
			ctx := context.Background()
			pr, _ := db.ConnectorPrincipal(ctx, "acme", "okta")
			grp, err := db.Group(ctx, pr.TenantID, pr.ConnectorID, g)
			if err != nil {
				t.Fatal(err)
			}
			k := 0
			db.EachMember(ctx, grp.PK, func(store.Member) error { k++; return nil })
			return k
		}
		if got := count(); got != n {
			t.Fatalf("members after adding %d: %d", n, got)
		}
		// Adding again (Okta re-pushes) is a no-op, not an error.
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"add","path":"members","value":[{"value":"`+ids[0]+`"}]}`)).want(t, 204)
		// Entra removes with a value list: only those go.
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"Remove","path":"members","value":[{"value":"`+ids[0]+`"},{"value":"`+ids[1]+`"}]}`)).want(t, 204)
		// Okta removes by filter and adds in one request.
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members[value eq \"`+ids[2]+`\"]"}`, `{"op":"add","path":"members","value":[{"value":"`+ids[0]+`","display":"x"}]}`)).want(t, 204)
		if got := count(); got != n-2 {
			t.Fatalf("members after removing 3 and adding 1 back: %d, want %d", got, n-2)
		}
		// An id that names nothing is skipped by default (an IdP may push a
		// group before its members) and refused under the strict profile.
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"add","path":"members","value":[{"value":"6e8bc430-9c3a-11d9-9669-0800200c9a66"},{"value":"`+ids[1]+`"}]}`)).want(t, 204)
		if got := count(); got != n-1 {
			t.Fatalf("members after a partly unknown add: %d, want %d", got, n-1)
		}
		setProfile(t, db, "acme", "okta", "strict")
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"add","path":"members","value":[{"value":"6e8bc430-9c3a-11d9-9669-0800200c9a66"}]}`)).wantError(t, 400, "invalidValue", "6e8bc430")
		c.do("PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members"}`)).want(t, 204)
		if got := count(); got != 0 {
			t.Fatalf("members after remove all: %d", got)
		}
		r := c.do("GET", "/Groups/"+g, nil).want(t, 200)
		if r.header.Get("ETag") != `W/"6"` {
			t.Errorf("each membership PATCH that changes members moves the version, the re-add does not (RFC 7644 §3.5.2.1): ETag %s after 5 such PATCHes", r.header.Get("ETag"))
		}
	})
}

// FuzzPatch sends arbitrary PATCH bodies to a user and a group: never a
// 500, and every refusal is a SCIM error.
func FuzzPatch(f *testing.F) {
	for _, seed := range []string{
		patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"}`),
		patchBody(`{"op":"replace","value":{"active":"False","name.givenName":"a"}}`),
		patchBody(`{"op":"remove","path":"members[value eq \"x\"]"}`),
		patchBody(`{"op":"add","path":"members","value":"bare"}`),
		patchBody(`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m"}`),
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"name.givenName"}]}`,
		`{}`, `[`, patchBody(`{"op":"add","path":"x[","value":1}`),
	} {
		f.Add(seed)
	}
	db := storetest.Open(f, storetest.SQLiteDSN(f))
	c := newClient(f, db, newServer(f, db, scim.Config{}), "acme", "okta")
	user := c.do("POST", "/Users", userBody("alice@example.com")).want(f, 201).str("id")
	group := c.do("POST", "/Groups", groupBody("Staff", user)).want(f, 201).str("id")
	f.Fuzz(func(t *testing.T, body string) {
		cc := *c
		cc.t = t
		for _, path := range []string{"/Users/" + user, "/Groups/" + group} {
			r := cc.do("PATCH", path, body)
			if r.status >= 500 {
				t.Fatalf("PATCH %s %s: %d %s", path, body, r.status, r.raw)
			}
			if r.status >= 400 && (r.body == nil || r.body["detail"] == nil) {
				t.Fatalf("PATCH %s %s: %d without a SCIM error: %s", path, body, r.status, r.raw)
			}
		}
	})
}
