package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func setProfile(t *testing.T, db *store.DB, tenant, connector, profile string) {
	t.Helper()
	if err := reconcile.New(db, nil).SetProfile(context.Background(), reconcile.CommandLine, tenant, connector, profile); err != nil {
		t.Fatal(err)
	}
}

// rawUser is a user body with the JSON text value (a literal, as sent)
// at attr: userName, displayName, title, name.givenName or the enterprise
// department.
func rawUser(userName, attr, value string) string {
	fields := map[string]string{
		"userName": fmt.Sprintf("%q", userName), "displayName": `"D"`, "title": `"T"`,
		"name": `{"givenName":"G","familyName":"F"}`, ent: `{"department":"R"}`,
	}
	switch attr {
	case "name.givenName":
		fields["name"] = `{"givenName":` + value + `,"familyName":"F"}`
	case ent + ":department":
		fields[ent] = `{"department":` + value + `}`
	default:
		fields[attr] = value
	}
	var b strings.Builder
	b.WriteString(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + ent + `"],"emails":[{"value":"h@example.com","type":"work"}]`)
	for k, v := range fields {
		fmt.Fprintf(&b, ",%q:%s", k, v)
	}
	return b.String() + "}"
}

// stored reads attr back from a user resource.
func stored(r response, attr string) any {
	switch attr {
	case "name.givenName":
		return r.body["name"].(map[string]any)["givenName"]
	case ent + ":department":
		return r.body[ent].(map[string]any)["department"]
	}
	return r.body[attr]
}

// TestHostileStrings: whatever string a user is created with, it is either
// refused with a 400 naming the attribute, or stored exactly as decoded and
// the user can then be patched, disabled, replaced and deleted. A NUL is
// always refused (PostgreSQL cannot store one, SQLite truncates at it).
func TestHostileStrings(t *testing.T) {
	values := []struct {
		name, json string
		refused    string // "" when stored; else what the detail says
	}{
		{"NUL", `"\u0000"`, "NUL"},
		{"NUL inside", `"a\u0000b"`, "NUL"},
		{"lone surrogate", `"\ud800x"`, ""},
		{"invalid UTF-8", "\"a\xff\xfeb\"", ""},
		{"control characters", `"a\u0001\u001f\u007fb"`, ""},
		{"LIKE metacharacters", `"%_\\%"`, ""},
		{"quotes", `"'\"'"`, ""},
		{"SQL", `"x'); DROP TABLE users; --"`, ""},
		{"emoji", `"😀👍🏽"`, ""},
		{"right-to-left override", `"\u202eabc"`, ""},
		{"the text \\u0000 (bun would write a NUL)", `"\\u0000"`, `\u0000`},
		{"200 characters", `"` + strings.Repeat("é", 200) + `"`, ""},
		{"5,000 characters", `"` + strings.Repeat("a", 5000) + `"`, "limit"},
	}
	attrs := []string{"userName", "displayName", "title", "name.givenName", ent + ":department"}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		for i, v := range values {
			for _, attr := range attrs {
				t.Run(v.name+"/"+attr, func(t *testing.T) {
					userName := fmt.Sprintf("u%d@example.com", i)
					body := rawUser(userName, attr, v.json)
					if attr == "userName" {
						body = rawUser("", attr, v.json)
					}
					created := c.do("POST", "/Users", body)
					if v.refused != "" {
						created.wantError(t, 400, "invalidValue", v.refused)
						if d := created.str("detail"); !strings.Contains(d, attr) {
							t.Errorf("detail %q does not name %s", d, attr)
						}
						return
					}
					created.want(t, 201)
					id := created.str("id")
					var want string
					if err := json.Unmarshal([]byte(v.json), &want); err != nil {
						t.Fatal(err)
					}
					if got := stored(c.do("GET", "/Users/"+id, nil).want(t, 200), attr); got != want {
						t.Errorf("stored %q, sent %q", got, want)
					}
					c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"n"}`)).want(t, 200)
					c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)).want(t, 200)
					c.do("PUT", "/Users/"+id, body).want(t, 200)
					c.do("DELETE", "/Users/"+id, nil).want(t, 204)
				})
			}
		}
	})
}

// TestNULEverywhere: a NUL is refused wherever a request carries a
// string, naming where it was, and writes nothing.
func TestNULEverywhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		id := c.do("POST", "/Users", userBody("alice@example.com")).want(t, 201).str("id")
		gid := c.do("POST", "/Groups", groupBody("Staff", id)).want(t, 201).str("id")
		for _, tt := range []struct {
			method, path, body, names string
		}{
			{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b@example.com","emails":[{"value":"b\u0000@example.com"}]}`, "emails[0].value"},
			{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b@example.com","ti\u0000tle":"x"}`, "key"},
			{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G\u0000"}`, "displayName"},
			{"PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.com","title":"\u0000"}`, "title"},
			{"PATCH", "/Users/" + id, patchBody(`{"op":"replace","path":"title","value":"a\u0000"}`), "Operations[0].value"},
			{"PATCH", "/Users/" + id, patchBody(`{"op":"replace","path":"ti\u0000tle","value":"a"}`), "Operations[0].path"},
			{"PATCH", "/Users/" + id, patchBody(`{"op":"replace","value":{"title":"\u0000"}}`), "Operations[0].value.title"},
			{"PATCH", "/Groups/" + gid, patchBody(`{"op":"add","path":"members","value":[{"value":"\u0000"}]}`), "Operations[0].value[0].value"},
			{"POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users","bulkId":"1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\u0000"}}]}`, "Operations[0].data.userName"},
			{"POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"\u0000\""}`, "filter"},
			{"GET", "/Users?filter=" + url.QueryEscape("userName eq \"\x00\""), "", "filter"},
			{"GET", "/Users?sortBy=%00", "", "sortBy"},
			{"GET", "/Users?filter=" + url.QueryEscape("userName eq \"\xff\""), "", "UTF-8"},
			{"GET", "/Users/%00", "", "path"},
			{"DELETE", "/Users/" + id + "%00", "", "path"},
		} {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			c.do(tt.method, tt.path, body).wantError(t, 400, "invalidValue", tt.names)
		}
		u := c.do("GET", "/Users/"+id, nil).want(t, 200)
		if _, ok := u.body["title"]; ok {
			t.Errorf("a refused write changed the user: %s", u.raw)
		}
		if n := c.do("GET", "/Users", nil).body["totalResults"]; n != 1.0 {
			t.Errorf("%v users after refused creates, want 1", n)
		}
	})
}

// TestSingularMultiValued: a single object where the schema says
// multi-valued is read as a list of one, on POST, PUT and PATCH, and the
// tenant's filters on those attributes keep working.
func TestSingularMultiValued(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "entra")
		id := c.do("POST", "/Users", userBody("a@example.com",
			"emails", map[string]any{"value": "a@work.example", "type": "work"},
			"phoneNumbers", map[string]any{"value": "+1 555", "type": "mobile"},
			"addresses", map[string]any{"locality": "Springfield", "type": "work"},
			"roles", map[string]any{"value": "admin"},
		)).want(t, 201).str("id")
		u := c.do("GET", "/Users/"+id, nil).want(t, 200)
		for _, attr := range []string{"emails", "phoneNumbers", "addresses", "roles"} {
			if list, ok := u.body[attr].([]any); !ok || len(list) != 1 {
				t.Errorf("%s stored as %v, want a list of one", attr, u.body[attr])
			}
		}
		c.do("PUT", "/Users/"+id, userBody("a@example.com", "emails", map[string]any{"value": "b@work.example", "type": "work"})).want(t, 200)
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"roles","value":{"value":"auditor"}}`)).want(t, 200)
		u = c.do("GET", "/Users/"+id, nil).want(t, 200)
		if !strings.Contains(u.raw, `"emails":[{"type":"work","value":"b@work.example"}]`) || !strings.Contains(u.raw, `"roles":[{"value":"auditor"}]`) {
			t.Errorf("after PUT and PATCH of single values: %s", u.raw)
		}
		for _, f := range []string{`emails[type eq "work"].value eq "b@work.example"`, `emails.value co "work"`, `phoneNumbers.value pr`, `addresses.locality pr`, `roles.value eq "auditor"`} {
			r := c.do("GET", "/Users?filter="+url.QueryEscape(f), nil).want(t, 200)
			if f == `emails[type eq "work"].value eq "b@work.example"` && r.body["totalResults"] != 1.0 {
				t.Errorf("%s: %s", f, r.raw)
			}
		}
	})
}

// TestInputBounds: every parser input is bounded before it is parsed; a
// mebibyte of it is refused at once, with a detail naming the limit.
func TestInputBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{MaxBodyBytes: 4 << 20}), "acme", "okta")
		id := c.do("POST", "/Users", userBody("a@example.com")).want(t, 201).str("id")
		huge := strings.Repeat("a", 1<<20)
		var slowest time.Duration
		defer func() { t.Logf("slowest refusal: %v", slowest) }()
		search := func(field string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],` + field + `}`
		}
		for _, tt := range []struct {
			method, path, body, scimType, detail string
		}{
			{"PATCH", "/Users/" + id, patchBody(`{"op":"replace","path":"` + huge + `","value":"x"}`), "invalidPath", "limit is 1024"},
			{"PATCH", "/Users/" + id, patchBody(`{"op":"replace","path":"emails[value eq \"` + huge + `\"].type","value":"x"}`), "invalidPath", "limit is 1024"},
			{"PATCH", "/Users/" + id, patchBody(`{"op":"replace","value":{"` + huge + `":"x"}}`), "invalidPath", "limit is 1024"},
			{"POST", "/Users/.search", search(`"sortBy":"` + huge + `"`), "invalidValue", "sortBy is 1048576 bytes long; the limit is 256"},
			{"POST", "/Users/.search", search(`"attributes":["` + huge + `"]`), "invalidValue", "attributes is 1048576 bytes long; the limit is 4096"},
			{"POST", "/Users/.search", search(`"excludedAttributes":["` + strings.Repeat("a,", 1<<19) + `"]`), "invalidValue", "limit is 4096"},
			{"POST", "/Users/.search", search(`"cursor":"` + huge + `"`), "invalidValue", "cursor is 1048576 bytes long; the limit is 512"},
			{"POST", "/Users/.search", search(`"filter":"` + huge + `"`), "invalidFilter", "limit is 1024"},
			{"GET", "/Users?sortBy=" + huge[:64<<10], "", "invalidValue", "limit is 256"},
			{"GET", "/Users/" + id + "?attributes=" + huge[:64<<10], "", "invalidValue", "limit is 4096"},
			{"GET", "/Users?cursor=" + huge[:64<<10], "", "invalidValue", "limit is 512"},
		} {
			start := time.Now()
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := c.do(tt.method, tt.path, body)
			r.wantError(t, 400, tt.scimType, tt.detail)
			d := time.Since(start)
			if d > time.Second {
				t.Errorf("%s %.60s: %v", tt.method, tt.path, d)
			}
			slowest = max(slowest, d)
			if len(r.raw) > 2000 {
				t.Errorf("the error echoes the input back: %d bytes", len(r.raw))
			}
		}
	})
}

// TestPrimary: at most one value of a multi-valued attribute is primary
// (RFC 7643 §2.4) on every write; setting a new primary clears the old one
// (RFC 7644 §3.5.2); values of the same type and value collapse.
func TestPrimary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		two := []any{
			map[string]any{"value": "a@work.example", "type": "work", "primary": true},
			map[string]any{"value": "a@home.example", "type": "home", "primary": true},
		}
		c.do("POST", "/Users", userBody("a@example.com", "emails", two)).wantError(t, 400, "invalidValue", "emails: 2 values are primary")
		id := c.do("POST", "/Users", userBody("a@example.com", "emails", []any{
			map[string]any{"value": "a@work.example", "type": "work", "primary": true},
			map[string]any{"value": "A@WORK.example", "type": "Work", "display": "dup"},
			map[string]any{"value": "a@home.example", "type": "home"},
		})).want(t, 201).str("id")
		emails := func() []any { return c.do("GET", "/Users/"+id, nil).want(t, 200).body["emails"].([]any) }
		primaries := func(list []any) (n int, which string) {
			for _, e := range list {
				if m := e.(map[string]any); m["primary"] == true {
					n, which = n+1, m["value"].(string)
				}
			}
			return n, which
		}
		if got := emails(); len(got) != 2 {
			t.Errorf("same type and value did not collapse: %v", got)
		}
		c.do("PUT", "/Users/"+id, userBody("a@example.com", "emails", two)).wantError(t, 400, "invalidValue", "at most one")
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"emails","value":`+mustJSON(two)+`}`)).wantError(t, 400, "invalidValue", "at most one")

		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","path":"emails","value":[{"value":"a@new.example","type":"other","primary":true}]}`)).want(t, 200)
		if n, which := primaries(emails()); n != 1 || which != "a@new.example" {
			t.Errorf("after adding a primary: %d primaries, %s", n, which)
		}
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`)).want(t, 200)
		if n, which := primaries(emails()); n != 1 || which != "a@home.example" {
			t.Errorf("after a filtered primary: %d primaries, %s", n, which)
		}
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","path":"emails","value":[{"value":"a@home.example","type":"home"}]}`)).want(t, 200)
		if got := emails(); len(got) != 3 {
			t.Errorf("adding an existing (type, value) added a value: %v", got)
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestLimits: lengths, email addresses and base64 are checked on POST,
// PUT and PATCH with a detail naming the attribute and what it takes; the
// limits are advertised in /Schemas.
func TestLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		long := strings.Repeat("a", 5000)
		c.do("POST", "/Users", userBody(long)).wantError(t, 400, "invalidValue", "userName is 5000 characters long; the limit is 256")
		c.do("POST", "/Users", userBody("a@example.com", "displayName", long)).wantError(t, 400, "invalidValue", "displayName is 5000 characters long; the limit is 256")
		c.do("POST", "/Users", userBody("a@example.com", "externalId", long)).wantError(t, 400, "invalidValue", "externalId is 5000 characters long; the limit is 256")
		c.do("POST", "/Users", userBody("a@example.com", "title", long)).wantError(t, 400, "invalidValue", "title is 5000 characters long; the limit is 1024")
		c.do("POST", "/Groups", groupBody(long)).wantError(t, 400, "invalidValue", "displayName is 5000 characters long")
		for _, bad := range []string{"not an address", "@example.com", "a@", "a@@", "a@b..c", "a b@example.com"} {
			c.do("POST", "/Users", userBody("a@example.com", "emails", []any{map[string]any{"value": bad}})).
				wantError(t, 400, "invalidValue", "emails[0].value")
		}
		c.do("POST", "/Users", userBody("a@example.com", "x509Certificates", []any{map[string]any{"value": "not base64!"}})).
			wantError(t, 400, "invalidValue", "x509Certificates[0].value is not valid base64")
		id := c.do("POST", "/Users", userBody("a@example.com", "x509Certificates", []any{map[string]any{"value": "TUlJQg=="}})).want(t, 201).str("id")
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"userName","value":"`+long+`"}`)).wantError(t, 400, "invalidValue", "userName is 5000 characters long")
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"externalId","value":"`+long+`"}`)).wantError(t, 400, "invalidValue", "externalId is 5000")
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"nope"}`)).wantError(t, 400, "invalidValue", "not an email address")
		c.do("PUT", "/Users/"+id, userBody("a@example.com", ent, map[string]any{"department": long})).wantError(t, 400, "invalidValue", ent+":department is 5000 characters long")

		// Microsoft's own test suite posts emails such as "emailName357":
		// the entra profile stores them.
		setProfile(t, db, "acme", "okta", "entra")
		c.do("POST", "/Users", userBody("b@example.com", "emails", []any{map[string]any{"value": "emailName357"}})).want(t, 201)

		schemas := c.do("GET", "/Schemas", nil).want(t, 200).raw
		for _, want := range []string{"at most 256 characters", "at most 1024 characters", "value at most 254 characters", "base64", "at most one value primary"} {
			if !strings.Contains(schemas, want) {
				t.Errorf("/Schemas does not advertise %q", want)
			}
		}
	})
}

// TestUnknownMembers: an id that names nothing gets the same answer on
// POST, PUT and PATCH of a group: skipped (an IdP may push a group before
// its members) in the IdP profiles, refused under strict.
func TestUnknownMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		alice := c.do("POST", "/Users", userBody("alice@example.com")).want(t, 201).str("id")
		unknown := "6e8bc430-9c3a-11d9-9669-0800200c9a66"
		g := c.do("POST", "/Groups", groupBody("Staff", alice, unknown)).want(t, 201)
		gid := g.str("id")
		if m := memberSet(g); len(m) != 1 || m[alice] == "" {
			t.Errorf("POST members: %v", m)
		}
		c.do("PUT", "/Groups/"+gid, groupBody("Staff", unknown, alice)).want(t, 200)
		c.do("PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+unknown+`"}]}`)).want(t, 204)
		if m := memberSet(c.do("GET", "/Groups/"+gid, nil)); len(m) != 1 || m[alice] == "" {
			t.Errorf("members: %v", m)
		}
		setProfile(t, db, "acme", "okta", "strict")
		c.do("POST", "/Groups", groupBody("Other", alice, unknown)).wantError(t, 400, "invalidValue", unknown)
		c.do("PUT", "/Groups/"+gid, groupBody("Staff", alice, unknown)).wantError(t, 400, "invalidValue", unknown)
		c.do("PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+unknown+`"}]}`)).wantError(t, 400, "invalidValue", unknown)
	})
}

// TestManagerExists: manager.value names a user of the same tenant.
func TestManagerExists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := newServer(t, db, scim.Config{})
		c := newClient(t, db, srv, "acme", "okta")
		other := newClient(t, db, srv, "globex", "okta")
		boss := c.do("POST", "/Users", userBody("boss@example.com")).want(t, 201).str("id")
		foreign := other.do("POST", "/Users", userBody("boss@globex.example")).want(t, 201).str("id")
		manager := func(id string) map[string]any { return map[string]any{"manager": map[string]any{"value": id}} }

		for _, id := range []string{foreign, "6e8bc430-9c3a-11d9-9669-0800200c9a66", "not-an-id"} {
			c.do("POST", "/Users", userBody("e@example.com", ent, manager(id))).wantError(t, 400, "invalidValue", "manager.value")
		}
		e := c.do("POST", "/Users", userBody("e@example.com", ent, manager(boss))).want(t, 201).str("id")
		c.do("PUT", "/Users/"+e, userBody("e@example.com", ent, manager(foreign))).wantError(t, 400, "invalidValue", "manager.value")
		c.do("PATCH", "/Users/"+e, patchBody(`{"op":"replace","path":"`+ent+`:manager","value":"`+foreign+`"}`)).wantError(t, 400, "invalidValue", "manager.value")
		c.do("PATCH", "/Users/"+e, patchBody(`{"op":"replace","path":"title","value":"x"}`)).want(t, 200)
		// Deleting the manager leaves the report as it is: only a write that
		// names a manager checks it.
		c.do("DELETE", "/Users/"+boss, nil).want(t, 204)
		c.do("PATCH", "/Users/"+e, patchBody(`{"op":"replace","path":"active","value":false}`)).want(t, 200)
	})
}

// goTypes are the Go type names that decoding into interfaces shows.
var goTypes = regexp.MustCompile(`map\[|\[\](any|interface|string|int|float|byte|map)|interface \{\}|float64|int64|json\.Number|Go (struct|value)|\bstruct\b|\bscim\.`)

// TestNoGoTypeNames sends wrongly typed values for many attributes, on
// every write path, and reads every error detail.
func TestNoGoTypeNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		id := c.do("POST", "/Users", userBody("a@example.com")).want(t, 201).str("id")
		gid := c.do("POST", "/Groups", groupBody("Staff")).want(t, 201).str("id")
		wrong := []string{`1`, `1.5`, `true`, `"s"`, `[]`, `[1]`, `{}`, `{"a":1}`, `[{"value":1}]`, `[[1]]`}
		attrs := []string{"userName", "displayName", "active", "name", "emails", "phoneNumbers", "addresses", "x509Certificates", "roles", "externalId", "schemas", ent}
		var details []string
		check := func(r response, what string) {
			if r.status >= 500 {
				t.Errorf("%s: %d %s", what, r.status, r.raw)
			}
			if d := r.str("detail"); goTypes.MatchString(d) {
				details = append(details, what+": "+d)
			}
		}
		for _, attr := range attrs {
			for _, v := range wrong {
				body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b@example.com",` + fmt.Sprintf("%q", attr) + ":" + v + "}"
				if attr == "schemas" || attr == "userName" {
					body = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],` + fmt.Sprintf("%q", attr) + ":" + v + `,"userName":"b@example.com"}`
				}
				check(c.do("POST", "/Users", body), "POST "+attr+"="+v)
				check(c.do("PUT", "/Users/"+id, body), "PUT "+attr+"="+v)
				check(c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"`+attr+`","value":`+v+`}`)), "PATCH "+attr+"="+v)
				check(c.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","value":{"`+attr+`":`+v+`}}`)), "PATCH path-less "+attr+"="+v)
			}
		}
		for _, v := range wrong {
			check(c.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":`+v+`}`), "POST members="+v)
			check(c.do("PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":`+v+`}`)), "PATCH members="+v)
			for _, field := range []string{"filter", "sortBy", "startIndex", "count", "attributes", "cursor", "schemas"} {
				check(c.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"`+field+`":`+v+`}`), ".search "+field+"="+v)
			}
			for _, field := range []string{"Operations", "failOnErrors", "schemas"} {
				check(c.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"`+field+`":`+v+`}`), "Bulk "+field+"="+v)
			}
			for _, field := range []string{"method", "path", "bulkId", "version"} {
				check(c.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users","bulkId":"1","`+field+`":`+v+`}]}`), "Bulk op "+field+"="+v)
			}
			check(c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+v+`}`), "PATCH Operations="+v)
			check(c.do("PATCH", "/Users/"+id, v), "PATCH body "+v)
			check(c.do("POST", "/Users", v), "POST body "+v)
		}
		for _, d := range details {
			t.Error(d)
		}
	})
}

// TestLegacyRowsStayWritable: a user stored before today's limits (here
// written past the edge, as an older scimd or another source could have)
// can still be patched, disabled and deleted: a PATCH checks what it
// changes, not what it leaves alone.
func TestLegacyRowsStayWritable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		ctx := context.Background()
		pr, err := db.ConnectorPrincipal(ctx, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := reconcile.New(db, nil).Apply(ctx, reconcile.Input{
			Source: reconcile.SourceSCIM, Principal: pr, Kind: reconcile.KindUser, Op: reconcile.Create,
			Attrs: map[string]any{
				"userName": "legacy", "title": strings.Repeat("t", 5000),
				"emails": []any{map[string]any{"value": "legacy", "primary": true}, map[string]any{"value": "l@example.com", "primary": true}},
			},
			ExternalID: strings.Repeat("e", 300),
		})
		if err != nil {
			t.Fatal(err)
		}
		id := plan.User.ID
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)).want(t, 200)
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"n"}`)).want(t, 200)
		c.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"title","value":"`+strings.Repeat("t", 1025)+`"}`)).wantError(t, 400, "invalidValue", "title")
		c.do("DELETE", "/Users/"+id, nil).want(t, 204)
	})
}
