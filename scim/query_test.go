package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func names(r response, key string) []string {
	var out []string
	list, _ := r.body["Resources"].([]any)
	for _, item := range list {
		out = append(out, fmt.Sprint(item.(map[string]any)[key]))
	}
	return out
}

func TestQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		alice := c.do("POST", "/Users", userBody("alice@example.com", "displayName", "Alice", "emails", []any{
			map[string]any{"value": "alice@work.example", "type": "work"}, map[string]any{"value": "alice@home.example", "type": "home"},
		}, "password", "secret")).want(t, 201).str("id")
		c.do("POST", "/Users", userBody("bob@example.com", "displayName", "Bob")).want(t, 201)
		c.do("POST", "/Users", userBody("carol@example.com", "active", false)).want(t, 201)
		staff := c.do("POST", "/Groups", groupBody("Staff", alice)).want(t, 201).str("id")

		get := func(query string) response {
			return c.do("GET", "/Users?"+query, nil).want(t, http.StatusOK)
		}
		q := url.QueryEscape
		// Microsoft's form of a value filter with a sub-attribute.
		if got := names(get("filter="+q(`emails[type eq "work"].value eq "ALICE@work.example"`)), "userName"); !slices.Equal(got, []string{"alice@example.com"}) {
			t.Errorf("Entra-style emails filter: %q", got)
		}
		if got := names(get("filter="+q(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr or userName sw "c"`)), "userName"); !slices.Equal(got, []string{"carol@example.com"}) {
			t.Errorf("core and extension mixed: %q", got)
		}
		if got := names(get("sortBy=userName&sortOrder=descending"), "userName"); !slices.Equal(got, []string{"carol@example.com", "bob@example.com", "alice@example.com"}) {
			t.Errorf("sorted descending: %q", got)
		}
		c.do("GET", "/Users?sortBy=emails", nil).wantError(t, 400, "invalidFilter", "emails")
		c.do("GET", "/Users?sortOrder=sideways", nil).wantError(t, 400, "invalidValue", "sortOrder")
		c.do("GET", "/Users?filter="+q(strings.Repeat("(", 20)+`userName pr`+strings.Repeat(")", 20)), nil).wantError(t, 400, "invalidFilter", "16")

		// Projection.
		proj := get("filter=" + q(`userName eq "alice@example.com"`) + "&attributes=userName,emails.value")
		res := proj.body["Resources"].([]any)[0].(map[string]any)
		if _, ok := res["displayName"]; ok || res["userName"] != "alice@example.com" || res["id"] != alice {
			t.Errorf("attributes=userName,emails.value: %v", res)
		}
		emails := res["emails"].([]any)
		if e := emails[0].(map[string]any); len(e) != 1 || e["value"] == nil {
			t.Errorf("emails.value projection kept %v", e)
		}
		one := c.do("GET", "/Users/"+alice+"?excludedAttributes=emails,groups,name.familyName", nil).want(t, 200)
		if _, ok := one.body["emails"]; ok {
			t.Errorf("excludedAttributes=emails: %s", one.raw)
		}
		if _, ok := one.body["groups"]; ok {
			t.Errorf("excludedAttributes=groups: %s", one.raw)
		}
		if n := one.body["name"].(map[string]any); n["familyName"] != nil || n["givenName"] != "Barbara" {
			t.Errorf("excludedAttributes=name.familyName: %v", n)
		}
		if strings.Contains(one.raw, "secret") || strings.Contains(one.raw, "password") {
			t.Errorf("password returned: %s", one.raw)
		}
		ms := c.do("GET", "/Users?attributes="+q(`emails[type eq "work"]`), nil).want(t, 200)
		if !strings.Contains(ms.raw, "alice@work.example") || strings.Contains(ms.raw, "Alice") {
			t.Errorf("attributes with a value filter: %s", ms.raw)
		}
		post := c.do("POST", "/Users?attributes=userName", userBody("dave@example.com", "displayName", "Dave")).want(t, 201)
		if _, ok := post.body["displayName"]; ok || post.str("userName") != "dave@example.com" {
			t.Errorf("projection on a write response: %s", post.raw)
		}

		// Groups without members read no members.
		g := c.do("GET", "/Groups/"+staff+"?excludedAttributes=members", nil).want(t, 200)
		if _, ok := g.body["members"]; ok || g.str("displayName") != "Staff" {
			t.Errorf("group excludedAttributes=members: %s", g.raw)
		}
		gl := c.do("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "staff"`), nil).want(t, 200)
		if gl.body["totalResults"] != 1.0 || strings.Contains(gl.raw, "members") {
			t.Errorf("group list without members: %s", gl.raw)
		}
		full := c.do("GET", "/Groups?filter="+q(fmt.Sprintf(`members[value eq %q]`, alice)), nil).want(t, 200)
		if !strings.Contains(full.raw, `"members":[{`) || !strings.Contains(full.raw, alice) {
			t.Errorf("group list with members: %s", full.raw)
		}

		// .search, per type and at the root.
		search := func(path string, body map[string]any) response {
			body["schemas"] = []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}
			return c.do("POST", path, body).want(t, 200)
		}
		s := search("/Users/.search", map[string]any{"filter": fmt.Sprintf(`id eq %q`, alice), "attributes": []string{"userName"}})
		if got := names(s, "userName"); !slices.Equal(got, []string{"alice@example.com"}) {
			t.Errorf("/Users/.search by id: %s", s.raw)
		}
		root := search("/.search", map[string]any{"filter": `displayName sw "S" or userName eq "bob@example.com"`})
		if root.body["totalResults"] != 2.0 || !strings.Contains(root.raw, `"resourceType":"User"`) || !strings.Contains(root.raw, `"resourceType":"Group"`) {
			t.Errorf("root search: %s", root.raw)
		}
		all := c.do("GET", "/?count=3", nil).want(t, 200)
		if all.body["totalResults"] != 5.0 || all.body["itemsPerPage"] != 3.0 {
			t.Errorf("root GET: %s", all.raw)
		}
		c.do("POST", "/Users/.search", `{"filter":"userName pr"}`).wantError(t, 400, "invalidSyntax", "SearchRequest")

		// If-None-Match.
		cur := c.do("GET", "/Users/"+alice, nil).want(t, 200)
		notMod := c.do("GET", "/Users/"+alice, nil, "If-None-Match", cur.header.Get("ETag"))
		if notMod.status != http.StatusNotModified || notMod.raw != "" {
			t.Errorf("If-None-Match with the current ETag: %d %s", notMod.status, notMod.raw)
		}
		c.do("GET", "/Users/"+alice, nil, "If-None-Match", `W/"999"`).want(t, 200)
	})
}

// seedUsers inserts n users straight into the store, in one transaction.
func seedUsers(t testing.TB, db *store.DB, tenant string, n int) {
	t.Helper()
	ctx := context.Background()
	err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ten, _, err := tx.EnsureConnector(ctx, tenant, "seed")
		if err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("user%05d@example.com", i)
			u := store.User{TenantID: ten.ID, UserName: name, Active: true, Attrs: map[string]any{"userName": name, "active": true}}
			if err := tx.InsertUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPagingTenThousand walks 10,000 users by index and by cursor: each
// walk must see every user exactly once.
func TestPagingTenThousand(t *testing.T) {
	const n = 10000
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seedUsers(t, db, "acme", n)
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		seen := map[string]int{}
		check := func(walk string) {
			t.Helper()
			if len(seen) != n {
				t.Fatalf("%s walk saw %d distinct users, want %d", walk, len(seen), n)
			}
			for id, k := range seen {
				if k != 1 {
					t.Fatalf("%s walk saw %s %d times", walk, id, k)
				}
			}
			clear(seen)
		}
		for start := 1; ; start += 200 {
			page := c.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=200&attributes=userName", start), nil).want(t, 200)
			if page.body["totalResults"] != float64(n) {
				t.Fatalf("totalResults = %v", page.body["totalResults"])
			}
			ids := names(page, "id")
			for _, id := range ids {
				seen[id]++
			}
			if len(ids) < 200 {
				break
			}
		}
		check("index")

		cursor, pages := "", 0
		for {
			page := c.do("GET", "/Users?count=200&attributes=userName&cursor="+url.QueryEscape(cursor), nil).want(t, 200)
			pages++
			for _, id := range names(page, "id") {
				seen[id]++
			}
			next, _ := page.body["nextCursor"].(string)
			if next == "" {
				break
			}
			if pages == 2 {
				// The way back lands on the first page.
				prev, _ := page.body["previousCursor"].(string)
				back := c.do("GET", "/Users?count=200&cursor="+url.QueryEscape(prev), nil).want(t, 200)
				if first := names(back, "userName"); first[0] != "user00000@example.com" || len(first) != 200 {
					t.Fatalf("previousCursor from page 2 starts at %s (%d items)", first[0], len(first))
				}
			}
			cursor = next
		}
		if pages != n/200 {
			t.Errorf("cursor walk took %d pages, want %d", pages, n/200)
		}
		check("cursor")

		c.do("GET", "/Users?cursor=garbage", nil).wantError(t, 400, "invalidCursor", "")
		first := c.do("GET", "/Users?count=10&cursor=", nil).want(t, 200)
		next := first.body["nextCursor"].(string)
		c.do("GET", "/Users?count=10&filter="+url.QueryEscape(`userName sw "user1"`)+"&cursor="+url.QueryEscape(next), nil).wantError(t, 400, "invalidCursor", "another query")
		c.do("GET", "/Users?startIndex=2&cursor=", nil).wantError(t, 400, "invalidValue", "either")
	})
}

// TestConcurrentIfMatch: two clients PUT the same version; one wins, the
// other gets 412.
func TestConcurrentIfMatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := newServer(t, db, scim.Config{})
		a := newClient(t, db, srv, "acme", "okta")
		b := &client{t: t, base: a.base, token: a.token}
		id := a.do("POST", "/Users", userBody("alice")).want(t, 201).str("id")
		for round := range 10 {
			version := a.do("GET", "/Users/"+id, nil).header.Get("ETag")
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for i, c := range []*client{a, b} {
				wg.Go(func() {
					statuses[i] = c.do("PUT", "/Users/"+id, userBody("alice", "nickName", fmt.Sprint(round, i)), "If-Match", version).status
				})
			}
			wg.Wait()
			slices.Sort(statuses)
			if !slices.Equal(statuses, []int{200, 412}) {
				t.Fatalf("round %d: statuses %v, want one 200 and one 412", round, statuses)
			}
		}
	})
}

// FuzzFilter sends arbitrary filters to scimd on SQLite and PostgreSQL:
// never a 500, always a SCIM body, and both databases give the same answer.
func FuzzFilter(f *testing.F) {
	for _, seed := range []string{
		`userName eq "alice@example.com"`, `emails[type eq "work"].value co "@"`, `not (active eq true) or title pr`,
		`meta.lastModified gt "2020-01-01T00:00:00Z"`, `name.familyName sw "B" and (emails.value ew ".com" or nickName pr)`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, `groups[value eq "x"]`,
		`userName gt 5`, `active eq "maybe"`, `x[`, `((((`, `userName eq "\u00E9"`, `id eq null`, `emails[not (primary eq true)]`,
	} {
		f.Add(seed)
	}
	var clients []*client
	for _, dsn := range []string{storetest.SQLiteDSN(f), storetest.PostgresDSN(f)} {
		db := storetest.Open(f, dsn)
		c := newClient(f, db, newServer(f, db, scim.Config{}), "acme", "okta")
		for _, name := range []string{"alice@example.com", "Bob@example.com", "carol@example.org"} {
			c.do("POST", "/Users", userBody(name, "title", "Dr.")).want(f, 201)
		}
		clients = append(clients, c)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		var results []string
		for _, c := range clients {
			c := *c
			c.t = t
			r := c.do("GET", "/Users?filter="+url.QueryEscape(filter), nil)
			if r.status >= 500 || r.body == nil {
				t.Fatalf("filter %q: %d %s", filter, r.status, r.raw)
			}
			if r.status != 200 && r.body["scimType"] != "invalidFilter" {
				t.Fatalf("filter %q: %d without scimType invalidFilter: %s", filter, r.status, r.raw)
			}
			results = append(results, fmt.Sprint(r.status, " ", r.body["totalResults"]))
		}
		if results[0] != results[1] {
			t.Fatalf("filter %q: SQLite answered %s, PostgreSQL %s", filter, results[0], results[1])
		}
	})
}

// TestFilterWildcardsLiteral: %, _ and \ in sw, co and ew values match
// themselves, over HTTP, on both databases; a query string with a bare %
// is refused instead of read without its filter.
func TestFilterWildcardsLiteral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		c.do("POST", "/Users", userBody("plain@example.com", "emails", []any{map[string]any{"value": "plain@example.com", "type": "work"}})).want(t, 201)
		c.do("POST", "/Users", userBody(`50%_off\deal@example.com`, "emails", []any{map[string]any{"value": `50%_off\deal@example.com`, "type": "work"}})).want(t, 201)
		odd := []string{`50%_off\deal@example.com`}
		for _, tt := range []struct {
			filter string
			want   []string
		}{
			{`emails.value sw "%"`, nil},
			{`emails.value co "%"`, odd},
			{`emails.value co "_"`, odd},
			{`emails.value co "\\"`, odd},
			{`emails.value ew "%"`, nil},
			{`userName sw "50%_"`, odd},
			{`userName sw "50__"`, nil},
			{`userName co "%\\d"`, nil},
			{`userName co "_off\\d"`, odd},
			{`emails[type eq "work" and value sw "50%"]`, odd},
		} {
			got := names(c.do("GET", "/Users?filter="+url.QueryEscape(tt.filter), nil).want(t, 200), "userName")
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %q, want %q", tt.filter, got, tt.want)
			}
		}
		c.do("GET", `/Users?filter=userName%20eq%20%22x%%22`, nil).wantError(t, 400, "invalidValue", "%25")
	})
}
