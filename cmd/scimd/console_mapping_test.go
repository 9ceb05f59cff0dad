package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// staffRules grants Staff to every example.com address.
const staffRules = `tenants:
  - name: acme
    connectors:
      - name: okta
        allow: {groups: [Staff, Faculty]}
        rules:
          - name: example-staff
            if: email.endsWith("@example.com")
            groups: [Staff]
`

// TestConsoleMapping: the mapping editor's routes over HTTP: the text
// checked (problems at their line and column), a YAML larger than the
// console's 16 KiB forms taken on these routes only, a save refused whole
// with its problems and then taken, without htmx too.
func TestConsoleMapping(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		c := w.signIn(w.bootstrap())
		base := w.srv.URL + "/console/acme/mapping"
		res, page := do(t, c, "GET", base+"?connector=okta", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, `<textarea id="yaml"`) || !strings.Contains(page, "- name: &#34;okta&#34;") ||
			!strings.Contains(page, "No problems.") {
			t.Fatalf("the editor: %d %s", res.StatusCode, page)
		}
		csrf := csrfField.FindStringSubmatch(page)[1]
		htmx := []string{"HX-Request", "true"}

		bad := strings.Replace(staffRules, `"@example.com")`, `"@example.com"): x`, 1)
		res, page = do(t, c, "POST", base+"/check", url.Values{"csrf": {csrf}, "yaml": {bad}}, htmx...)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, `data-line="8" data-column="47"`) || !strings.Contains(page, "line 8, column 47") ||
			strings.Contains(page, "<html") {
			t.Fatalf("check of a syntax error: %d %s", res.StatusCode, page)
		}
		if res, _ := do(t, c, "POST", base+"/check", url.Values{"yaml": {bad}}, htmx...); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a check without the CSRF token: %d", res.StatusCode)
		}

		// 300 KiB of configuration (comments) is taken here, and not by the
		// console's other forms.
		large := staffRules + strings.Repeat("# a comment of the configuration, to make it large\n", 6000)
		if res, page := do(t, c, "POST", base+"/check", url.Values{"csrf": {csrf}, "yaml": {large}}, htmx...); res.StatusCode != http.StatusOK || !strings.Contains(page, "No problems.") {
			t.Fatalf("a %d KiB configuration: %d %s", len(large)>>10, res.StatusCode, page)
		}
		if res, _ := do(t, c, "POST", base+"/check", url.Values{"csrf": {csrf}, "yaml": {strings.Repeat(large, 4)}}, htmx...); res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 1.2 MiB form: %d, want 413", res.StatusCode)
		}
		if res, _ := do(t, c, "POST", w.srv.URL+"/console/acme/users/"+w.ids["ann@example.com"]+"/disable",
			url.Values{"csrf": {csrf}, "pad": {strings.Repeat("x", 20<<10)}}); res.StatusCode == http.StatusSeeOther {
			t.Fatal("a 20 KiB form passed the users' 16 KiB cap")
		}

		// A logged PATCH of ann is offered to the preview and previewed
		// under the rules as edited: replayed on ann as stored, nothing
		// written (nothing is saved yet: the rules in force fire none).
		if res, body := request(t, "POST", w.srv.URL+"/admin/v1/acme/groups", w.admin, `{"displayName":"Staff"}`); res.StatusCode != http.StatusCreated {
			t.Fatalf("create group Staff: %d %v", res.StatusCode, body)
		}
		p, err := w.db.ConnectorPrincipal(context.Background(), "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		var logged []store.LoggedRequest
		if err := w.db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			logged = []store.LoggedRequest{{TenantID: p.TenantID, ConnectorID: p.ConnectorID, Method: "PATCH", Path: "/scim/v2/acme/Users/" + w.ids["ann@example.com"], Status: 200,
				Body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Ann S."}]}`}}
			return tx.AppendRequests(ctx, logged)
		}); err != nil {
			t.Fatal(err)
		}
		patchID := strconv.FormatInt(logged[0].ID, 10)
		res, page = do(t, c, "GET", base+"?connector=okta", nil)
		if !strings.Contains(page, `<option value="`+patchID+`">#`+patchID+` PATCH /scim/v2/acme/Users/`) {
			t.Fatalf("the editor does not offer the logged PATCH: %d %s", res.StatusCode, page)
		}
		res, page = do(t, c, "POST", base+"/preview", url.Values{"csrf": {csrf}, "yaml": {staffRules}, "connector": {"okta"}, "request": {patchID}}, htmx...)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "The payload of logged request #"+patchID+" would <strong class=\"action\">patch</strong> <strong>ann@example.com</strong>") ||
			!strings.Contains(page, "example-staff") {
			t.Fatalf("the preview of the logged PATCH: %d %s", res.StatusCode, page)
		}
		if _, ann := request(t, "GET", w.srv.URL+"/scim/v2/acme/Users/"+w.ids["ann@example.com"], w.okta, ""); ann["displayName"] != "Ann Smith" {
			t.Fatalf("the preview wrote: %v", ann)
		}

		// A save with problems is refused whole, without htmx too.
		res, page = do(t, c, "POST", base+"/save", url.Values{"csrf": {csrf}, "yaml": {bad}})
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "refused, nothing saved") || !strings.Contains(page, "line 8, column 47") {
			t.Fatalf("save of a bad configuration: %d %s", res.StatusCode, page)
		}
		if res, _ := request(t, "GET", w.srv.URL+"/admin/v1/acme/config", w.admin, ""); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a refused save saved: %d", res.StatusCode)
		}
		res, page = do(t, c, "POST", base+"/save", url.Values{"csrf": {csrf}, "yaml": {staffRules}}, htmx...)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Saved as version 1") || !strings.Contains(page, "/mapping/reapply") ||
			!strings.Contains(page, `<input type="hidden" id="version" name="version" value="1" hx-swap-oob="true">`) {
			t.Fatalf("save: %d %s", res.StatusCode, page)
		}
		res, page = do(t, c, "GET", base, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "saved version 1") || !strings.Contains(page, "example-staff") {
			t.Fatalf("the editor after the save: %d %s", res.StatusCode, page)
		}

		// A second editor who loaded the page before that save does not
		// undo it unseen; from version 1, the save is taken.
		faculty := strings.Replace(staffRules, "groups: [Staff]", "groups: [Faculty]", 1)
		res, page = do(t, c, "POST", base+"/save", url.Values{"csrf": {csrf}, "yaml": {faculty}, "version": {"0"}}, htmx...)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "refused, nothing saved: the configuration was saved as version 1 since this edit started from no saved version") {
			t.Fatalf("a save from before the last: %d %s", res.StatusCode, page)
		}
		if _, doc := request(t, "GET", w.srv.URL+"/admin/v1/acme/config", w.admin, ""); doc["version"] != 1.0 || strings.Contains(doc["yaml"].(string), "[Faculty]") {
			t.Fatalf("a refused save saved: %v", doc)
		}
		res, page = do(t, c, "POST", base+"/save", url.Values{"csrf": {csrf}, "yaml": {faculty}, "version": {"1"}}, htmx...)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Saved as version 2") {
			t.Fatalf("a save from version 1: %d %s", res.StatusCode, page)
		}
	})
}
