package admin_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestGroupsAPI: the groups by a prefix of their name, paged, with member
// counts; a group with a page of its members at a time, users then nested
// groups; what an org unit's administrator sees of them; and the users of
// a source connector.
func TestGroupsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, e := server(t, db, 0)
		okta, entra := token(t, e, "okta", "-"), token(t, e, "entra", "-")
		wide := token(t, e, "admins", "")
		api := srv.URL + "/admin/v1/acme"
		for _, body := range []string{`{"path":"Medicine/Cardiology"}`} {
			if status, doc, _ := call(t, "POST", api+"/orgunits", wide, body); status != 201 {
				t.Fatalf("POST orgunits: %d %v", status, doc)
			}
		}
		if status, doc, _ := call(t, "POST", api+"/groups", wide, `{"displayName":"Faculty"}`); status != 201 {
			t.Fatalf("POST groups: %d %v", status, doc)
		}
		push := func(tok, path, body string) string {
			t.Helper()
			status, doc, _ := call(t, "POST", srv.URL+"/scim/v2/acme/"+path, tok, body)
			if status != 201 {
				t.Fatalf("POST %s: %d %v", path, status, doc)
			}
			return doc["id"].(string)
		}
		// Three cardiologists (Medicine/Cardiology, and Faculty by the
		// rule), two others, all okta's; one user of entra's.
		var ids []string
		for i := range 5 {
			dept := "Cardiology"
			if i >= 3 {
				dept = "Sales"
			}
			ids = append(ids, push(okta, "Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"userName":"u%d@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":%q}}`, i, dept)))
		}
		other := push(entra, "Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"other@example.com"}`)
		_, faculty, _ := call(t, "GET", api+"/groups?q=FAC", wide, "")
		facultyID := faculty["groups"].([]any)[0].(map[string]any)["id"].(string)
		members := []string{fmt.Sprintf(`{"value":%q,"type":"Group"}`, facultyID)}
		for _, id := range ids {
			members = append(members, fmt.Sprintf(`{"value":%q}`, id))
		}
		staff := push(okta, "Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff","members":[`+strings.Join(members, ",")+`]}`)

		get := func(tok, path string, want int) map[string]any {
			t.Helper()
			status, doc, _ := call(t, "GET", api+path, tok, "")
			if status != want {
				t.Fatalf("GET %s: %d %v, want %d", path, status, doc, want)
			}
			return doc
		}
		list := func(doc map[string]any, key, field string) []string {
			var out []string
			for _, x := range doc[key].([]any) {
				out = append(out, fmt.Sprint(x.(map[string]any)[field]))
			}
			return out
		}

		// The list: by name, counted; a prefix; a page after another.
		doc := get(wide, "/groups", 200)
		if got := list(doc, "groups", "displayName"); !slices.Equal(got, []string{"Faculty", "Staff"}) {
			t.Errorf("groups: %v", got)
		}
		if got := list(doc, "groups", "members"); !slices.Equal(got, []string{"3", "6"}) {
			t.Errorf("member counts: %v, want 3 and 6", got)
		}
		if got := list(get(wide, "/groups?q=st", 200), "groups", "displayName"); !slices.Equal(got, []string{"Staff"}) {
			t.Errorf("q=st: %v", got)
		}
		doc = get(wide, "/groups?limit=1", 200)
		if got := list(doc, "groups", "displayName"); !slices.Equal(got, []string{"Faculty"}) || doc["next"] != "faculty" {
			t.Errorf("the first page of one: %v, next %v", got, doc["next"])
		}
		if got := list(get(wide, "/groups?limit=1&after=faculty", 200), "groups", "displayName"); !slices.Equal(got, []string{"Staff"}) {
			t.Errorf("the second page: %v", got)
		}

		// A group's members, two a page: five users, then Faculty.
		var seen []string
		after := ""
		for pages := 0; pages < 5; pages++ {
			doc = get(wide, "/groups/"+staff+"?limit=2&after="+after, 200)
			if doc["displayName"] != "Staff" || doc["members"] != 6.0 {
				t.Fatalf("the group: %v", doc)
			}
			seen = append(seen, list(doc, "page", "id")...)
			next, ok := doc["next"].(string)
			if !ok {
				break
			}
			after = next
		}
		if want := append(slices.Clone(ids), facultyID); !slices.Equal(seen, want) {
			t.Errorf("members paged: %v, want %v", seen, want)
		}
		get(wide, "/groups/"+staff+"?after=x1", 400)
		get(wide, "/groups/"+other, 404) // a user's id names no group

		// An org unit's administrator: every group, no counts; of the
		// members, the users of the unit (the cardiologists) and the
		// nested group.
		medicine := token(t, e, "medicine-admins", "Medicine")
		doc = get(medicine, "/groups", 200)
		if got := list(doc, "groups", "displayName"); !slices.Equal(got, []string{"Faculty", "Staff"}) || strings.Contains(fmt.Sprint(doc), "members") {
			t.Errorf("the unit's admin lists %v", doc)
		}
		doc = get(medicine, "/groups/"+staff, 200)
		if got, want := list(doc, "page", "id"), append(slices.Clone(ids[:3]), facultyID); !slices.Equal(got, want) || doc["members"] != nil {
			t.Errorf("the unit's admin sees members %v (count %v), want %v and no count", got, doc["members"], want)
		}

		// The users of a source connector.
		if got := list(get(wide, "/users?connector=okta", 200), "users", "id"); !slices.Equal(got, ids) {
			t.Errorf("connector=okta: %v, want %v", got, ids)
		}
		doc = get(wide, "/users?connector=okta&limit=2&after=0", 200)
		doc = get(wide, fmt.Sprintf("/users?connector=okta&limit=2&after=%v", doc["next"]), 200)
		if got := list(doc, "users", "id"); !slices.Equal(got, ids[2:4]) {
			t.Errorf("connector=okta, the second page: %v, want %v", got, ids[2:4])
		}
		if got := list(get(wide, "/users?connector=entra", 200), "users", "id"); !slices.Equal(got, []string{other}) {
			t.Errorf("connector=entra: %v", got)
		}
		if got := list(get(medicine, "/users?connector=okta", 200), "users", "id"); !slices.Equal(got, ids[:3]) {
			t.Errorf("the unit's admin, connector=okta: %v, want the cardiologists", got)
		}
		get(wide, "/users?connector=nobody", 400)
	})
}
