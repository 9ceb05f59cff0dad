package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// newToken makes a token the way an operator would: the last stdout line
// of scimd token create, on a database scimd migrate made (if need be).
func newToken(t *testing.T, dsn, tenant, connector string, flags ...string) string {
	t.Helper()
	if code, _, errOut := scimd(t, nil, "migrate", "--database-url", dsn); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	args := append([]string{"token", "create", "--tenant", tenant, "--connector", connector, "--database-url", dsn}, flags...)
	code, out, errOut := scimd(t, nil, args...)
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// call sends an authenticated request to a running scimd and returns the
// status and the body as it came.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

const radiologyConfig = `
tenants:
  - name: acme
    roles:
      - name: faculty
    connectors:
      - name: okta
        create: {orgUnits: true}
        allow: {roles: [faculty], orgUnits: [Medicine]}
        rules:
          - name: radiology
            if: department == "Radiology"
            orgUnit: Medicine/Radiology
            roles: [faculty]
`

const radiologist = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "userName":"rad@example.com","externalId":"00u9",
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Radiology"}}`

// TestConnectorRules runs a configured connector end to end: serve with
// --config, a SCIM push that a rule maps, the CLI preview and the admin
// API's preview (same plan, nothing written), and the admin API's account
// of who set what.
func TestConnectorRules(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		config := filepath.Join(dir, "scimd.yaml")
		payload := filepath.Join(dir, "user.json")
		os.WriteFile(config, []byte(radiologyConfig), 0o600)
		os.WriteFile(payload, []byte(radiologist), 0o600)
		tokens := map[string]string{}
		tokens["okta"] = newToken(t, dsn, "acme", "okta")
		tokens["admin"] = newToken(t, dsn, "acme", "admin", "--admin")

		code, previewOut, errOut := scimd(t, nil, "connector", "preview", "--tenant", "acme", "--connector", "okta",
			"--config", config, "--database-url", dsn, payload)
		if code != 0 {
			t.Fatalf("preview: %d %s", code, errOut)
		}
		var cli struct {
			Action string
			Fired  []string
			Grants []struct{ Op, Kind, Name, Rule string }
		}
		if err := json.Unmarshal([]byte(previewOut), &cli); err != nil {
			t.Fatalf("preview output is not JSON: %v\n%s", err, previewOut)
		}
		if cli.Action != "create" || len(cli.Fired) != 1 || cli.Fired[0] != "radiology" || len(cli.Grants) != 2 {
			t.Fatalf("preview: %s", previewOut)
		}

		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_CONFIG": config})
		defer stop()
		base := "http://" + addr
		do := func(method, path, token, body string) (int, string) { return call(t, method, base+path, token, body) }
		if status, body := do("GET", "/scim/v2/acme/Users", tokens["okta"], ""); status != 200 || !strings.Contains(body, `"totalResults":0`) {
			t.Fatalf("the preview wrote something: %d %s", status, body)
		}

		status, adminPreview := do("POST", "/admin/v1/acme/connectors/okta/preview", tokens["admin"], radiologist)
		if status != 200 || adminPreview != previewOut {
			t.Fatalf("admin preview %d differs from the CLI's:\n%s\nCLI:\n%s", status, adminPreview, previewOut)
		}
		if status, _ := do("POST", "/admin/v1/acme/connectors/okta/preview", tokens["okta"], radiologist); status != 401 {
			t.Fatalf("a SCIM connector's token opened the admin API: %d", status)
		}

		status, body := do("POST", "/scim/v2/acme/Users", tokens["okta"], radiologist)
		if status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		var created struct{ ID string }
		json.Unmarshal([]byte(body), &created)
		status, body = do("GET", "/admin/v1/acme/users/"+created.ID, tokens["admin"], "")
		var account struct {
			Status string
			Grants []struct{ Kind, Target, Source, Connector, Rule string }
			SetBy  map[string]struct{ Source, Connector, Rule string }
		}
		json.Unmarshal([]byte(body), &account)
		if status != 200 || account.Status != "active" || len(account.Grants) != 2 {
			t.Fatalf("admin user: %d %s", status, body)
		}
		for _, g := range account.Grants {
			if g.Rule != "radiology" || g.Connector != "okta" || g.Source != "scim" {
				t.Fatalf("grant %+v: want made by okta's rule radiology", g)
			}
		}
		if g := account.Grants[0]; g.Kind != "orgUnit" || g.Target != "Medicine/Radiology" {
			t.Fatalf("first grant %+v, want the org unit", g)
		}
		if s := account.SetBy["userName"]; s.Source != "scim" || s.Connector != "okta" {
			t.Fatalf("userName set by %+v, want scim via okta", s)
		}
		status, body = do("GET", "/admin/v1/acme/users/"+created.ID+"/events", tokens["admin"], "")
		var history struct {
			Events []struct {
				Source, Connector, Action string
				Detail                    struct{ Fired []string }
			}
		}
		json.Unmarshal([]byte(body), &history)
		if status != 200 || len(history.Events) != 1 || history.Events[0].Action != "create" ||
			history.Events[0].Connector != "okta" || fmt.Sprint(history.Events[0].Detail.Fired) != "[radiology]" {
			t.Fatalf("events: %d %s", status, body)
		}
	})
}

// TestBadConfig: serve refuses a configuration with problems, naming the
// line of each, and exits 3.
func TestBadConfig(t *testing.T) {
	config := filepath.Join(t.TempDir(), "scimd.yaml")
	os.WriteFile(config, []byte(strings.Replace(radiologyConfig, `department == "Radiology"`, `departmnt == "Radiology"`, 1)), 0o600)
	code, _, errOut := scimd(t, map[string]string{"SCIMD_CONFIG": config, "SCIMD_DATABASE_URL": filepath.Join(t.TempDir(), "x.db")}, "serve")
	if code != exitInvalid || !strings.Contains(errOut, "scimd.yaml:12:") || !strings.Contains(errOut, "department") {
		t.Fatalf("code %d, stderr %q: want exit 3 naming line 12 and the hint department", code, errOut)
	}
}

// TestConfigThroughAdminAPI: a configuration saved through the admin API of
// one replica maps the next write on another, and a configuration with
// problems is refused whole, each problem with its line.
func TestConfigThroughAdminAPI(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		tokens := map[string]string{}
		tokens["okta"] = newToken(t, dsn, "acme", "okta")
		tokens["admin"] = newToken(t, dsn, "acme", "admin", "--admin")
		var replicas []string
		for range 2 {
			addr := freeAddr(t)
			stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr})
			defer stop()
			replicas = append(replicas, "http://"+addr)
		}
		do := func(base, method, path, token, body string) (int, string) {
			return call(t, method, base+path, token, body)
		}
		a, b := replicas[0], replicas[1]

		bad := strings.Replace(radiologyConfig, "roles: [faculty]\n`", "roles: [facutly]\n`", 1)
		bad = strings.Replace(bad, "            roles: [faculty]", "            roles: [facutly]", 1)
		status, body := do(a, "PUT", "/admin/v1/acme/config", tokens["admin"], bad)
		if status != 400 || !strings.Contains(body, `"Line":14`) || !strings.Contains(body, "facutly") {
			t.Fatalf("bad config: %d %s", status, body)
		}
		if status, _ := do(a, "GET", "/admin/v1/acme/config", tokens["admin"], ""); status != 404 {
			t.Fatalf("a refused configuration was saved: %d", status)
		}
		other := strings.Replace(radiologyConfig, "name: acme", "name: globex", 1)
		if status, body := do(a, "PUT", "/admin/v1/acme/config", tokens["admin"], other); status != 400 || !strings.Contains(body, "globex") {
			t.Fatalf("a configuration of another tenant: %d %s", status, body)
		}

		if status, body := do(a, "PUT", "/admin/v1/acme/config", tokens["admin"], radiologyConfig); status != 200 || !strings.Contains(body, `"version": 1`) {
			t.Fatalf("PUT config: %d %s", status, body)
		}
		status, body = do(b, "POST", "/scim/v2/acme/Users", tokens["okta"], radiologist)
		var created struct{ ID string }
		json.Unmarshal([]byte(body), &created)
		if status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		grants := func() string {
			_, body := do(b, "GET", "/admin/v1/acme/users/"+created.ID, tokens["admin"], "")
			var account struct {
				Grants []struct{ Kind, Target, Rule string }
			}
			json.Unmarshal([]byte(body), &account)
			return fmt.Sprint(account.Grants)
		}
		if got := grants(); got != "[{orgUnit Medicine/Radiology radiology} {role faculty radiology}]" {
			t.Fatalf("replica b mapped with %s, want version 1's rule", got)
		}

		if _, body := do(b, "GET", "/scim/v2/acme/Schemas", tokens["okta"], ""); strings.Contains(body, schoolExt) {
			t.Fatalf("version 1 declares no extension, and /Schemas lists one")
		}
		v2 := strings.Replace(radiologyConfig, "orgUnit: Medicine/Radiology", "orgUnit: Medicine/Imaging", 1)
		v2 = strings.Replace(v2, "    connectors:", "    extensions:\n      - schema: "+schoolExt+"\n        attributes: [{name: gradYear, type: integer}]\n    connectors:", 1)
		if status, body := do(a, "PUT", "/admin/v1/acme/config", tokens["admin"], v2); status != 200 || !strings.Contains(body, `"version": 2`) {
			t.Fatalf("PUT config v2: %d %s", status, body)
		}
		if status, body := do(b, "PUT", "/scim/v2/acme/Users/"+created.ID, tokens["okta"], radiologist); status != 200 {
			t.Fatalf("PUT user: %d %s", status, body)
		}
		if got := grants(); got != "[{orgUnit Medicine/Imaging radiology} {role faculty radiology}]" {
			t.Fatalf("replica b mapped with %s, want version 2's rule", got)
		}
		if _, body := do(b, "GET", "/scim/v2/acme/Schemas", tokens["okta"], ""); !strings.Contains(body, schoolExt) {
			t.Fatalf("replica b's /Schemas does not list the extension version 2 declares")
		}
		if status, body := do(b, "GET", "/admin/v1/acme/config", tokens["admin"], ""); status != 200 || !strings.Contains(body, "Medicine/Imaging") {
			t.Fatalf("GET config: %d %s", status, body)
		}
	})
}

// TestScopedAdmin: an administrator of an org unit sees it and everything
// below, nothing above or beside (001 seed), and admin and SCIM tokens do
// not open each other's doors.
func TestScopedAdmin(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		os.WriteFile(config, []byte(strings.NewReplacer(
			`if: department == "Radiology"`, `if: department != ""`,
			"orgUnit: Medicine/Radiology", `orgUnit: "${department}"`,
			"orgUnits: [Medicine]", "orgUnits: [Medicine, Surgery]").Replace(radiologyConfig)), 0o600)
		okta := newToken(t, dsn, "acme", "okta")
		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_CONFIG": config})
		defer stop()
		do := func(method, path, token, body string) (int, string) {
			return call(t, method, "http://"+addr+path, token, body)
		}
		ids := map[string]string{}
		for _, u := range [][2]string{{"med", "Medicine"}, {"rad", "Medicine/Radiology"}, {"surg", "Surgery"}} {
			status, body := do("POST", "/scim/v2/acme/Users", okta, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+u[0]+`",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"`+u[1]+`"}}`)
			var created struct{ ID string }
			json.Unmarshal([]byte(body), &created)
			if status != 201 {
				t.Fatalf("POST %s: %d %s", u[0], status, body)
			}
			ids[u[0]] = created.ID
		}
		medicine := newToken(t, dsn, "acme", "medicine-admins", "--admin", "--org-unit", "Medicine")
		radiology := newToken(t, dsn, "acme", "radiology-admins", "--admin", "--org-unit", "Medicine/Radiology")
		tenantWide := newToken(t, dsn, "acme", "admins", "--admin")

		for _, c := range []struct {
			token string
			want  []string
		}{{medicine, []string{"med", "rad"}}, {radiology, []string{"rad"}}, {tenantWide, []string{"med", "rad", "surg"}}} {
			status, body := do("GET", "/admin/v1/acme/users", c.token, "")
			var page struct{ Users []struct{ UserName string } }
			json.Unmarshal([]byte(body), &page)
			var got []string
			for _, u := range page.Users {
				got = append(got, u.UserName)
			}
			if status != 200 || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("sees %v (%d %s), want %v", got, status, body, c.want)
			}
		}
		if status, _ := do("GET", "/admin/v1/acme/users/"+ids["surg"], medicine, ""); status != 404 {
			t.Fatalf("Medicine's admin read a Surgery user: %d", status)
		}
		if status, _ := do("GET", "/admin/v1/acme/users/"+ids["surg"]+"/events", medicine, ""); status != 404 {
			t.Fatalf("Medicine's admin read a Surgery user's history: %d", status)
		}
		if status, _ := do("GET", "/admin/v1/acme/users/"+ids["med"], radiology, ""); status != 404 {
			t.Fatalf("Radiology's admin read a user of the unit above: %d", status)
		}
		if status, _ := do("GET", "/admin/v1/acme/users/"+ids["rad"], medicine, ""); status != 200 {
			t.Fatalf("Medicine's admin cannot read a Radiology user: %d", status)
		}
		if status, _ := do("PUT", "/admin/v1/acme/config", medicine, radiologyConfig); status != 403 {
			t.Fatalf("a unit's admin saved the tenant's configuration: %d", status)
		}
		if status, _ := do("GET", "/scim/v2/acme/Users", tenantWide, ""); status != 401 {
			t.Fatalf("an admin token opened SCIM: %d", status)
		}
		if status, _ := do("GET", "/admin/v1/acme/users", okta, ""); status != 401 {
			t.Fatalf("a SCIM token opened the admin API: %d", status)
		}
		if code, _, errOut := scimd(t, nil, "token", "create", "--tenant", "acme", "--connector", "okta", "--admin", "--database-url", dsn); code == 0 || !strings.Contains(errOut, "already provisions") {
			t.Fatalf("made the SCIM connector an admin one: %d %s", code, errOut)
		}
	})
}

// TestOktaAndEntraPushOnePerson: over HTTP, the same person pushed by Okta
// and by Entra (their own external IDs, their own userNames, one email)
// ends as one user; each IdP reads back its own externalId.
func TestOktaAndEntraPushOnePerson(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		os.WriteFile(config, []byte(`
tenants:
  - name: acme
    connectors:
      - name: okta
        emailDomains: [example.com]
      - name: entra
        emailDomains: [example.com]
`), 0o600)
		tokens := map[string]string{"okta": newToken(t, dsn, "acme", "okta"), "entra": newToken(t, dsn, "acme", "entra")}
		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_CONFIG": config})
		defer stop()
		do := func(method, path, token, body string) (int, map[string]any) {
			res, doc := request(t, method, "http://"+addr+"/scim/v2/acme"+path, token, body)
			return res.StatusCode, doc
		}
		push := func(idp, userName, externalID string) map[string]any {
			status, doc := do("POST", "/Users", tokens[idp], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
				"userName":"`+userName+`","externalId":"`+externalID+`","emails":[{"value":"BJensen@example.com","primary":true}]}`)
			if status != 201 {
				t.Fatalf("%s POST: %d %v", idp, status, doc)
			}
			return doc
		}
		okta := push("okta", "bjensen", "00u1")
		entra := push("entra", "bjensen@example.com", "aad-1")
		if okta["id"] != entra["id"] {
			t.Fatalf("two users: okta %v, entra %v", okta["id"], entra["id"])
		}
		for idp, want := range map[string]string{"okta": "00u1", "entra": "aad-1"} {
			status, doc := do("GET", "/Users/"+okta["id"].(string), tokens[idp], "")
			if status != 200 || doc["externalId"] != want {
				t.Fatalf("%s reads externalId %v (%d), want %s", idp, doc["externalId"], status, want)
			}
		}
		if _, list := do("GET", "/Users", tokens["okta"], ""); list["totalResults"] != float64(1) {
			t.Fatalf("users: %v, want 1", list["totalResults"])
		}
		if status, doc := do("POST", "/Users", tokens["okta"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"BJENSEN@example.com"}`); status != 409 || doc["scimType"] != "uniqueness" {
			t.Fatalf("okta re-creating a userName: %d %v", status, doc)
		}
	})
}

const schoolExt = "urn:ietf:params:scim:schemas:extension:school:2.0:User"

// TestCustomExtension: a tenant's own extension, declared in its
// configuration, is served, validated, stored, returned, filtered, patched
// and given to the rules; another tenant knows nothing of it.
func TestCustomExtension(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		os.WriteFile(config, []byte(`
tenants:
  - name: school
    roles: [{name: lecturer}]
    extensions:
      - schema: `+schoolExt+`
        name: School
        attributes:
          - {name: gradYear, type: integer}
          - {name: employeeType}
    connectors:
      - name: okta
        allow: {groups: ["Class of *"], roles: [lecturer]}
        rules:
          - name: cohort
            if: gradYear > 0
            groups: ["Class of ${gradYear}"]
            skipMissing: true
          - name: lecturers
            if: >-
              has(attributes["`+schoolExt+`"].employeeType) &&
              attributes["`+schoolExt+`"].employeeType == "Lecturer"
            roles: [lecturer]
`), 0o600)
		okta := newToken(t, dsn, "school", "okta")
		other := newToken(t, dsn, "other", "okta")
		admin := newToken(t, dsn, "school", "admins", "--admin")
		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_CONFIG": config})
		defer stop()
		base := "http://" + addr
		do := func(method, path, token, body string) (int, string) { return call(t, method, base+path, token, body) }

		if status, body := do("GET", "/scim/v2/school/Schemas", okta, ""); status != 200 || !strings.Contains(body, schoolExt) || !strings.Contains(body, `"gradYear"`) {
			t.Fatalf("/Schemas: %d %s", status, body)
		}
		if status, body := do("GET", "/scim/v2/other/Schemas", other, ""); status != 200 || strings.Contains(body, schoolExt) {
			t.Fatalf("another tenant's /Schemas: %d lists the extension: %v", status, strings.Contains(body, schoolExt))
		}
		if status, body := do("POST", "/scim/v2/school/Groups", okta, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Class of 2027"}`); status != 201 {
			t.Fatalf("POST group: %d %s", status, body)
		}
		student := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + schoolExt + `"],"userName":"ada","` + schoolExt + `":{"gradYear":2027,"employeeType":"Lecturer"}}`
		status, body := do("POST", "/scim/v2/school/Users", okta, student)
		var created struct {
			ID      string
			Schemas []string
			School  map[string]any `json:"urn:ietf:params:scim:schemas:extension:school:2.0:User"`
		}
		json.Unmarshal([]byte(body), &created)
		if status != 201 || !slices.Contains(created.Schemas, schoolExt) || created.School["gradYear"] != float64(2027) {
			t.Fatalf("POST user: %d %s", status, body)
		}
		_, body = do("GET", "/admin/v1/school/users/"+created.ID, admin, "")
		if !strings.Contains(body, `"target": "Class of 2027"`) || !strings.Contains(body, `"target": "lecturer"`) {
			t.Fatalf("the rules did not read the extension: %s", body)
		}
		if status, body := do("GET", "/scim/v2/school/Users?filter="+url.QueryEscape(schoolExt+":gradYear eq 2027"), okta, ""); status != 200 || !strings.Contains(body, `"totalResults":1`) {
			t.Fatalf("filter on the extension: %d %s", status, body)
		}
		if status, body := do("PATCH", "/scim/v2/school/Users/"+created.ID, okta, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","path":"`+schoolExt+`:gradYear","value":2028}]}`); status != 200 || !strings.Contains(body, `"gradYear":2028`) {
			t.Fatalf("PATCH the extension: %d %s", status, body)
		}
		if status, body := do("POST", "/scim/v2/school/Users", okta, strings.Replace(strings.Replace(student, "2027", `"soon"`, 1), `"ada"`, `"bob"`, 1)); status != 400 || !strings.Contains(body, "gradYear") {
			t.Fatalf("a string gradYear: %d %s", status, body)
		}
		status, body = do("POST", "/scim/v2/other/Users", other, student)
		if status != 201 || strings.Contains(body, "gradYear") {
			t.Fatalf("another tenant stored the undeclared extension: %d %s", status, body)
		}
	})
}
