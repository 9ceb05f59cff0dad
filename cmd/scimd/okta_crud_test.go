package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// oktaCRUDAssertions is how many assertions the CRUD export declares.
const oktaCRUDAssertions = 21

// TestOktaCRUD runs Okta's Runscope export "Okta SCIM 2.0 CRUD Test", the
// other half of an OIN submission, with TestOktaSPEC's runner. Half of its
// steps call an Okta org's management API ({{oktaOrgUrl}}/api/v1/...:
// create a user, assign the app, change the name, deactivate, reactivate,
// unassign) and the other half check on scimd that the SCIM requests Okta
// sent for them had their effect. The org is stood in for by oktaOrg,
// which answers the management calls and sends scimd what Okta sends.
func TestOktaCRUD(t *testing.T) {
	dir := conformanceDir(t)
	var spec runscopeTest
	readJSON(t, filepath.Join(dir, "okta-Okta-SCIM-20-CRUD-Test.json"), &spec)

	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		addr, tokens := serveTenants(t, dsn, "okta", "acme")
		base := "http://" + addr + "/scim/v2/acme"
		auth := "Bearer " + tokens["acme"]
		org := &oktaOrg{scim: base, auth: auth, token: fmt.Sprintf("okta-%d", rand.Int64()), users: map[string]*oktaUser{}}
		srv := httptest.NewServer(org.handler())
		defer srv.Close()

		given, family := fmt.Sprintf("Crud%03d", rand.IntN(1000)), fmt.Sprintf("Tester%03d", rand.IntN(1000))
		vars := map[string]string{
			"oktaOrgUrl":                 srv.URL,
			"oktaAppId":                  "0oascimd",
			"oktaToken":                  org.token,
			"SCIMUrl":                    base,
			"SCIMAuth":                   auth,
			"okta_user_firstname":        given,
			"okta_user_lastname":         family,
			"okta_user_email":            given + "." + family + "@atko.com",
			"okta_user_title":            "Engineer",
			"okta_user_primaryphone":     "+1 555 0100",
			"okta_user_firstname_update": given + "Updated",
		}
		results := runRunscope(t, spec, vars)
		reportRunscope(t, spec, results, oktaCRUDAssertions)
	})
}

// oktaOrg answers the few Okta management API calls the CRUD export makes
// (developer.okta.com/docs/api/openapi/okta-management) and, for those that
// reach an assigned app, sends scimd the SCIM requests Okta documents for
// its provisioning (developer.okta.com/docs/reference/scim/scim-20):
//   - assigning the app: GET /Users?filter=userName eq; POST /Users if
//     none, else PATCH active true (a returning user);
//   - a profile change: GET /Users/{id}, then PUT of the whole user;
//   - deactivating the user, or unassigning the app: PATCH active false,
//     and the assignment ends (Okta never DELETEs a user).
//
// A SCIM request that fails answers the management call with 502 and
// scimd's response, so that the export's status assertion shows it.
type oktaOrg struct {
	scim, auth  string // scimd's base URL and Authorization header
	token       string // the SSWS token the export authenticates with
	mu          sync.Mutex
	users       map[string]*oktaUser // by Okta id
	lastOktaID  int
	scimFailure error
}

type oktaUser struct {
	profile  map[string]string
	scimID   string // once provisioned
	assigned bool
}

func (o *oktaOrg) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/apps/{app}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("app"), "label": "scimd", "status": "ACTIVE"})
	})
	mux.HandleFunc("POST /api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Profile map[string]string }
		if !readBody(w, r, &body) {
			return
		}
		o.lastOktaID++
		id := fmt.Sprintf("00u%d", o.lastOktaID)
		o.users[id] = &oktaUser{profile: body.Profile}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "ACTIVE", "profile": body.Profile})
	})
	mux.HandleFunc("PUT /api/v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Profile map[string]string }
		u := o.user(w, r)
		if u == nil || !readBody(w, r, &body) {
			return
		}
		u.profile = body.Profile
		if u.assigned {
			o.pushProfile(u)
		}
		o.answer(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "profile": u.profile})
	})
	mux.HandleFunc("POST /api/v1/users/{id}/lifecycle/deactivate", func(w http.ResponseWriter, r *http.Request) {
		if u := o.user(w, r); u != nil {
			o.unassign(u)
			o.answer(w, http.StatusOK, map[string]any{})
		}
	})
	mux.HandleFunc("POST /api/v1/users/{id}/lifecycle/activate", func(w http.ResponseWriter, r *http.Request) {
		if u := o.user(w, r); u != nil {
			writeJSON(w, http.StatusOK, map[string]any{})
		}
	})
	mux.HandleFunc("POST /api/v1/apps/{app}/users", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID          string
			Credentials struct{ UserName string }
			Profile     map[string]string
		}
		if !readBody(w, r, &body) {
			return
		}
		u := o.users[body.ID]
		if u == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"errorSummary": "Not found: " + body.ID})
			return
		}
		o.assign(u, body.Credentials.UserName, body.Profile)
		o.answer(w, http.StatusOK, map[string]any{"id": body.ID, "scope": "USER", "status": "PROVISIONED"})
	})
	mux.HandleFunc("DELETE /api/v1/apps/{app}/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if u := o.user(w, r); u != nil {
			o.unassign(u)
			o.answer(w, http.StatusNoContent, nil)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "SSWS "+o.token {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		o.scimFailure = nil
		mux.ServeHTTP(w, r)
	})
}

func (o *oktaOrg) user(w http.ResponseWriter, r *http.Request) *oktaUser {
	u := o.users[r.PathValue("id")]
	if u == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"errorSummary": "Not found: " + r.PathValue("id")})
	}
	return u
}

// assign provisions u to the app under userName, as Okta does: a user
// scimd already has (found by userName) is reactivated, not created again.
func (o *oktaOrg) assign(u *oktaUser, userName string, profile map[string]string) {
	var found struct{ Resources []struct{ ID string } }
	o.send("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil, &found)
	switch {
	case o.scimFailure != nil:
		return
	case len(found.Resources) > 0:
		u.scimID = found.Resources[0].ID
		o.setActive(u, true)
	default:
		var created struct{ ID string }
		o.send("POST", "/Users", map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": userName,
			"name":     map[string]any{"givenName": profile["givenName"], "familyName": profile["familyName"]},
			"emails":   []any{map[string]any{"primary": true, "value": profile["email"], "type": profile["emailType"]}},
			"active":   true,
		}, &created)
		u.scimID = created.ID
	}
	u.assigned = o.scimFailure == nil
}

// pushProfile sends a changed Okta profile as Okta does: the user read
// back, its mapped attributes changed, and the whole of it PUT.
func (o *oktaOrg) pushProfile(u *oktaUser) {
	var doc map[string]any
	o.send("GET", "/Users/"+u.scimID, nil, &doc)
	if o.scimFailure != nil {
		return
	}
	doc["name"] = map[string]any{"givenName": u.profile["firstName"], "familyName": u.profile["lastName"]}
	o.send("PUT", "/Users/"+u.scimID, doc, nil)
}

func (o *oktaOrg) unassign(u *oktaUser) {
	if u.assigned {
		o.setActive(u, false)
		u.assigned = false
	}
}

func (o *oktaOrg) setActive(u *oktaUser, active bool) {
	o.send("PATCH", "/Users/"+u.scimID, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": active}}},
	}, nil)
}

// send makes one SCIM request to scimd, decoding the answer into out. The
// first failure is kept in scimFailure and stops the requests after it.
func (o *oktaOrg) send(method, path string, body, out any) {
	if o.scimFailure != nil {
		return
	}
	var reader io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, o.scim+path, reader)
	if err != nil {
		o.scimFailure = err
		return
	}
	req.Header.Set("Authorization", o.auth)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := client.Do(req)
	if err != nil {
		o.scimFailure = err
		return
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		o.scimFailure = fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, got)
		return
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			o.scimFailure = fmt.Errorf("%s %s: %v in %s", method, path, err, got)
		}
	}
}

// answer ends a management call that made SCIM requests: with status and
// body if they all succeeded, else with 502 and the failure.
func (o *oktaOrg) answer(w http.ResponseWriter, status int, body any) {
	if o.scimFailure != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"errorSummary": "provisioning to scimd failed: " + o.scimFailure.Error()})
		return
	}
	writeJSON(w, status, body)
}

func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorSummary": err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		json.NewEncoder(w).Encode(body)
	}
}
