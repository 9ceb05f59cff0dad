package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// A draft is a configuration being edited, not saved: the mapping editor
// checks it as it is typed and previews a payload under it. Both use the
// engine's own checker and planner (PUT /config's and POST /preview's),
// so that what the editor shows is what a save and a push would do.
//
//	GET  /admin/v1/{tenant}/config/running   the configuration the tenant runs now: saved through the API, or serve's file's section of it, or the defaults
//	POST /admin/v1/{tenant}/config/check     body: a configuration; every problem with its line and column, or none
//	POST /admin/v1/{tenant}/config/preview   {"connector", "yaml", "user" | "request"}: what the payload would do under that configuration
func (a *api) draftRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/{tenant}/config/running", a.auth(tenantWide(a.runningConfig)))
	mux.HandleFunc("POST /admin/v1/{tenant}/config/check", a.auth(tenantWide(a.checkConfig)))
	mux.HandleFunc("POST /admin/v1/{tenant}/config/preview", a.auth(tenantWide(a.previewDraft)))
}

// running is the answer of GET /config/running.
type running struct {
	// From is where the configuration comes from: "api" (saved through
	// the admin API, Version > 0), "file" (serve's --config) or
	// "defaults" (neither names the tenant: YAML is empty).
	From    string `json:"from"`
	Version int64  `json:"version"`
	YAML    string `json:"yaml"`
}

// runningConfig answers the configuration the tenant's writes map
// through now, as text an editor starts from.
func (a *api) runningConfig(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	text, version, err := a.db.TenantConfig(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := running{From: "api", Version: version, YAML: text}
	if version == 0 {
		out.From, out.YAML = "defaults", ""
		if text, ok := a.engine.FileConfig(p.TenantName); ok {
			out.From, out.YAML = "file", text
		}
	}
	w.Header().Set("ETag", configETag(version)) // PUT /config's If-Match
	return writeJSON(w, out)
}

// checked is the answer of POST /config/check.
type checked struct {
	Valid bool `json:"valid"`
	// Problems are in file order, each with its 1-based line and column
	// (0: unknown), as PUT /config would refuse them.
	Problems   []rules.Problem `json:"problems"`
	Connectors []string        `json:"connectors,omitempty"`
}

// checkConfig checks a configuration as PUT /config does and answers
// every problem (200 either way: the check itself succeeded); it saves
// nothing.
func (a *api) checkConfig(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	raw, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	out := checked{Valid: true, Problems: []rules.Problem{}}
	_, err = reconcile.ParseTenantConfig(p.TenantName, string(raw))
	if invalid, ok := errors.AsType[*rules.Error](err); ok {
		out.Valid, out.Problems = false, invalid.Problems
	} else if err != nil {
		return err
	}
	if out.Valid {
		out.Connectors = connectorNames(p.TenantName, string(raw))
	}
	return writeJSON(w, out)
}

// previewDraft answers what a SCIM User payload pushed by a connector
// would do were the configuration in the body saved: match, rules fired,
// grants, changes. The payload is the body's user, or the body of the
// connector's logged request (a POST or PUT of a User) the body names; a
// logged PATCH of a User is replayed under the configuration instead. It
// writes nothing; a configuration with problems is refused (400) with
// them.
func (a *api) previewDraft(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var body struct {
		Connector string         `json:"connector"`
		YAML      string         `json:"yaml"`
		User      map[string]any `json:"user"`
		Request   int64          `json:"request"`
	}
	if err := a.readJSON(w, r, &body, `{"connector": "okta", "yaml": "tenants: …", "user": {"userName": …}} or "request": ID instead of "user"`); err != nil {
		return err
	}
	if body.Connector == "" {
		return &Error{http.StatusBadRequest, `name the connector whose push to preview: "connector"`}
	}
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, body.Connector)
	if err != nil {
		return err
	}
	doc := body.User
	if body.Request != 0 {
		lr, err := a.db.Request(r.Context(), p.TenantID, c.ConnectorID, body.Request)
		if err != nil {
			return err
		}
		if userPatch(lr) {
			return a.replayDraft(w, r, c, lr, body.YAML)
		}
		if doc, err = loggedUser(lr); err != nil {
			return err
		}
	}
	if doc == nil {
		return &Error{http.StatusBadRequest, `give the payload to preview: "user", a SCIM User, or "request", the id of a logged request`}
	}
	plan, err := a.engine.PlanWith(r.Context(), PreviewInput(c, doc), body.YAML)
	if err != nil {
		return err
	}
	return writeJSON(w, plan.Summary())
}

// loggedUser is the SCIM User a logged request pushed: the body of a
// POST or PUT of a User.
func loggedUser(lr store.LoggedRequest) (map[string]any, error) {
	if !wholeUser(lr) {
		return nil, &Error{http.StatusConflict, "logged request " + lr.Method + " " + lr.Path + " pushes no User (a POST or PUT of /Users, or a PATCH of one); replay it instead"}
	}
	if lr.Truncated {
		return nil, &Error{http.StatusConflict, "this request's body was cut to fit the log; it cannot be previewed"}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lr.Body), &doc); err != nil || doc == nil {
		return nil, &Error{http.StatusConflict, "logged request's body is not a JSON object"}
	}
	return doc, nil
}

// replayDraft answers what the logged request lr, a PATCH of a User,
// would do now were the configuration text saved: a PATCH says how to
// change a user, not what they become, so it is replayed (the user as
// stored now, patched) under the draft, writing nothing.
func (a *api) replayDraft(w http.ResponseWriter, r *http.Request, c store.Principal, lr store.LoggedRequest, text string) error {
	if a.replayer == nil {
		return &Error{http.StatusNotImplemented, "this server cannot replay requests, so cannot preview a logged PATCH"}
	}
	cfg, err := reconcile.ParseTenantConfig(c.TenantName, text)
	if err != nil {
		return err
	}
	got, err := a.replayer.Replay(reconcile.Draft(r.Context(), cfg), c, lr)
	if err != nil {
		return err
	}
	if got.Status >= 400 {
		return &Error{http.StatusConflict, fmt.Sprintf("under these rules, logged request %s %s would fail now (%d): %s", lr.Method, lr.Path, got.Status, got.Error)}
	}
	if len(got.Plans) != 1 || got.Plans[0].Plan == nil {
		return &Error{http.StatusConflict, fmt.Sprintf("logged request %s %s would make %d writes now, not one to preview; replay it instead", lr.Method, lr.Path, len(got.Plans))}
	}
	return writeJSON(w, got.Plans[0].Plan)
}

// wholeUser reports whether lr pushed a whole User: a POST of /Users or
// a PUT of /Users/{id}.
func wholeUser(lr store.LoggedRequest) bool {
	rest, ok := usersPath(lr.Path)
	return ok && (lr.Method == http.MethodPost && rest == "" || lr.Method == http.MethodPut && oneUser(rest))
}

// userPatch reports whether lr is a PATCH of /Users/{id}.
func userPatch(lr store.LoggedRequest) bool {
	rest, ok := usersPath(lr.Path)
	return ok && lr.Method == http.MethodPatch && oneUser(rest)
}

// usersPath is what follows /Users in a logged SCIM path, without its
// query, and whether it names /Users at all.
func usersPath(path string) (string, bool) {
	path, _, _ = strings.Cut(path, "?")
	i := strings.LastIndex(path, "/Users")
	if i < 0 {
		return "", false
	}
	return path[i+len("/Users"):], true
}

func oneUser(rest string) bool {
	return strings.Count(rest, "/") == 1 && rest != "/" && rest != "/.search"
}
