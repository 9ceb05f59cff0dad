package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// addGroups gives the console world a second source connector, entra,
// with one user of its own (carl), 57 more users of okta's, and the
// groups Engineering (the 60 okta users and the nested group Support),
// Sales (ann) and Support (bob): more members than a page holds.
func (w *consoleWorld) addGroups() (engineering string) {
	t := w.t
	t.Helper()
	entra := newToken(t, w.dsn, "acme", "entra")
	push := func(token, path, body string) string {
		t.Helper()
		res, doc := request(t, "POST", w.srv.URL+"/scim/v2/acme/"+path, token, body)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", path, res.StatusCode, doc)
		}
		return doc["id"].(string)
	}
	user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"displayName":%q}`
	w.ids["carl@example.com"] = push(entra, "Users", fmt.Sprintf(user, "carl@example.com", "Carl Entra"))
	var members []string
	for _, name := range []string{"ann@example.com", "bob@example.com", "eve@example.com"} {
		members = append(members, fmt.Sprintf(`{"value":%q}`, w.ids[name]))
	}
	for i := range 57 {
		name := fmt.Sprintf("m%02d@example.com", i)
		w.ids[name] = push(w.okta, "Users", fmt.Sprintf(user, name, fmt.Sprintf("Member %02d", i)))
		members = append(members, fmt.Sprintf(`{"value":%q}`, w.ids[name]))
	}
	group := func(name string, members ...string) string {
		return push(w.okta, "Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`","members":[`+strings.Join(members, ",")+`]}`)
	}
	group("Sales", fmt.Sprintf(`{"value":%q}`, w.ids["ann@example.com"]))
	support := group("Support", fmt.Sprintf(`{"value":%q}`, w.ids["bob@example.com"]))
	return group("Engineering", append(members, fmt.Sprintf(`{"value":%q,"type":"Group"}`, support))...)
}

// TestConsoleGroups: the groups page searches by name (htmx gets the
// table alone) and pages; a group's page lists its members a page at a
// time, each linked; the users page filters by source connector, an
// unknown one said in the table's place; and the add form adds pasted
// addresses all or nothing, saying what became of each.
func TestConsoleGroups(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		engineering := w.addGroups()
		c := w.signIn(w.bootstrap())
		get := func(path string, header ...string) string {
			t.Helper()
			res, page := do(t, c, "GET", w.srv.URL+path, nil, header...)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.StatusCode, page)
			}
			return page
		}
		page := get("/console/acme/groups")
		for _, want := range []string{`>Engineering</a>`, `>Sales</a>`, `>Support</a>`, `<td>61</td>`, `<label for="q">`} {
			if !strings.Contains(page, want) {
				t.Errorf("groups page lacks %s:\n%s", want, page)
			}
		}
		page = get("/console/acme/groups?q=SA", "HX-Request", "true")
		if strings.Contains(page, "<html") || !strings.Contains(page, ">Sales</a>") || strings.Contains(page, "Support") {
			t.Errorf("htmx search for sa:\n%s", page)
		}

		// Engineering's 61 members: 50, then 10 users and Support.
		member := regexp.MustCompile(`href="/console/acme/(users|groups)/([0-9a-f-]{36})"`)
		next := regexp.MustCompile(`href="(/console/acme/groups/[^"]+)" rel="next"`)
		seen := map[string]bool{}
		u, pages := "/console/acme/groups/"+engineering, 0
		for u != "" && pages < 4 {
			pages++
			page = get(strings.ReplaceAll(u, "&amp;", "&"))
			if pages == 1 && !strings.Contains(page, "61 member(s)") {
				t.Errorf("the group's count:\n%s", page)
			}
			for _, m := range member.FindAllStringSubmatch(page, -1) {
				if m[2] == engineering { // the first page's link
					continue
				}
				if seen[m[1]+"/"+m[2]] {
					t.Fatalf("%s on two pages", m[2])
				}
				seen[m[1]+"/"+m[2]] = true
			}
			u = ""
			if m := next.FindStringSubmatch(page); m != nil {
				u = m[1]
			}
		}
		if len(seen) != 61 || pages != 2 || !seen["users/"+w.ids["m56@example.com"]] || !seen["users/"+w.ids["ann@example.com"]] {
			t.Errorf("%d members linked on %d pages, want 61 on 2", len(seen), pages)
		}
		get("/console/acme/users/" + w.ids["m56@example.com"]) // a member's link opens the user

		// The users of a source connector.
		page = get("/console/acme/users?connector=entra")
		if !strings.Contains(page, "carl@example.com") || strings.Contains(page, "ann@example.com") || !strings.Contains(page, `<label for="connector">`) {
			t.Errorf("users of entra:\n%s", page)
		}
		page = get("/console/acme/users?connector=okt", "HX-Request", "true")
		if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "no connector") {
			t.Errorf("an unknown connector:\n%s", page)
		}

		// Add by pasting: one bad address refuses them all; then two.
		csrf := csrfField.FindStringSubmatch(get("/console/acme/users"))[1]
		add := func(text string, dry bool) (int, string) {
			t.Helper()
			form := url.Values{"csrf": {csrf}, "emails": {text}}
			if dry {
				form.Set("dryRun", "true")
			}
			res, page := do(t, c, "POST", w.srv.URL+"/console/acme/users/add", form)
			return res.StatusCode, page
		}
		exists := func(name string) bool {
			res, doc := request(t, "GET", w.srv.URL+"/admin/v1/acme/users?q="+url.QueryEscape(name), w.admin, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("admin users: %d %v", res.StatusCode, doc)
			}
			return len(doc["users"].([]any)) > 0
		}
		status, page := add("new1@example.com, not-an-address\nnew2@example.com", false)
		if status != http.StatusBadRequest || !strings.Contains(page, "refused: ") || !strings.Contains(page, "good, not added") || exists("new1@") {
			t.Errorf("a bad address: %d %s", status, page)
		}
		if status, page = add("new1@example.com", true); status != http.StatusOK || !strings.Contains(page, "would be added") || exists("new1@") {
			t.Errorf("check only: %d %s", status, page)
		}
		status, page = add("new1@example.com; ann@example.com,\r\nnew2@example.com", false)
		if status != http.StatusOK || strings.Count(page, "added, a new user") != 2 || !strings.Contains(page, "already a user") || !exists("new1@") || !exists("new2@") {
			t.Errorf("add: %d %s", status, page)
		}
		if !regexp.MustCompile(`<a href="/console/acme/users/[0-9a-f-]{36}">new2@example.com</a>`).MatchString(page) {
			t.Errorf("a user added is not linked:\n%s", page)
		}
	})
}
