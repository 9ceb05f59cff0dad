package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/users", c.signedIn(c.users))
		mux.HandleFunc("GET /console/{tenant}/users/{id}", c.signedIn(c.user))
		mux.HandleFunc("POST /console/{tenant}/users/{id}/{action}", c.signedIn(c.action))
	})
}

// pageSize is how many users a page of the list shows.
const pageSize = 50

// userRow is a user as the admin API lists them.
type userRow struct {
	ID          string `json:"id"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
}

// usersView is the users page: the search as asked and its page.
type usersView struct {
	Q, Status, OrgUnit string
	// Connector is the source connector asked for: the users it manages.
	Connector string
	Statuses  []string
	// Problem is the admin API's refusal of the search (an unknown
	// connector, an org unit outside the administrator's), shown in the
	// table's place so that a search typed half-way keeps the page.
	Problem string
	// CanAdd is true for a tenant-wide administrator, who may add users
	// by their addresses (the admin API refuses an org unit's).
	CanAdd bool
	// Add is the add form as sent and its results (the add page's).
	Add   *addView
	Users []userRow
	// Next is the URL of the following page; "" on the last.
	Next string
	// Further: the page is short but not the last: the search read as
	// far as one page reads through a filter (store.SearchRounds scans of
	// store.DefaultSearchScan index entries) and goes on from there at Next.
	Further bool
}

var statuses = []string{"active", "disabled", "pending", "deleted"}

func (c *console) users(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	v := usersView{Q: q.Get("q"), Status: q.Get("status"), OrgUnit: q.Get("orgUnit"), Connector: q.Get("connector"), Statuses: statuses,
		CanAdd: s.p.OrgUnit == ""}
	query := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if v.Q != "" {
		query.Set("q", v.Q)
	}
	if v.Status != "" {
		if !slices.Contains(statuses, v.Status) {
			c.page(w, r, http.StatusBadRequest, "error", view{Title: "Bad request", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
				Error: "status " + strconv.Quote(v.Status) + ": choose active, disabled, pending or deleted"})
			return
		}
		query.Set("status", v.Status)
	}
	setGiven(query, "orgUnit", v.OrgUnit, "connector", v.Connector, "after", q.Get("after"))
	var out struct {
		Users []userRow `json:"users"`
		Next  string    `json:"next"`
	}
	err := c.call(r.Context(), s, http.MethodGet, "/users", query, &out)
	var refused *apiError
	if errors.As(err, &refused) && (refused.Status == http.StatusBadRequest || refused.Status == http.StatusForbidden) {
		v.Problem, err = refused.Detail, nil
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	v.Users = out.Users
	if out.Next != "" {
		next := url.Values{"after": {out.Next}}
		setGiven(next, "q", v.Q, "status", v.Status, "orgUnit", v.OrgUnit, "connector", v.Connector)
		v.Next = "/console/" + url.PathEscape(s.tenant) + "/users?" + next.Encode()
		v.Further = len(out.Users) < pageSize
	}
	c.page(w, r, http.StatusOK, "users", view{Title: "Users", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v})
}

// userDoc is a user as the admin API shows one.
type userDoc struct {
	ID          string                `json:"id"`
	UserName    string                `json:"userName"`
	Status      string                `json:"status"`
	AccessStart *time.Time            `json:"accessStart"`
	AccessEnd   *time.Time            `json:"accessEnd"`
	Attributes  map[string]any        `json:"attributes"`
	Grants      []grantDoc            `json:"grants"`
	SetBy       map[string]provenance `json:"setBy"`
	Local       bool                  `json:"local"`
}

type grantDoc struct {
	Kind      string    `json:"kind"`
	Target    string    `json:"target"`
	Source    string    `json:"source"`
	Connector string    `json:"connector"`
	Rule      string    `json:"rule"`
	GrantedAt time.Time `json:"grantedAt"`
}

type provenance struct {
	Source    string    `json:"source"`
	Connector string    `json:"connector"`
	Rule      string    `json:"rule"`
	SetAt     time.Time `json:"setAt"`
}

type eventDoc struct {
	At        time.Time      `json:"at"`
	Source    string         `json:"source"`
	Connector string         `json:"connector"`
	Action    string         `json:"action"`
	Detail    map[string]any `json:"detail"`
}

type sessionDoc struct {
	ID         int64      `json:"id"`
	Connector  string     `json:"connector"`
	Live       bool       `json:"live"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastSeenAt time.Time  `json:"lastSeenAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	EndedAt    *time.Time `json:"endedAt"`
	EndReason  string     `json:"endReason"`
}

// attribute is one row of a user's attributes: its value and who set it.
type attribute struct {
	Name  string
	Value any
	SetBy *provenance
}

type userView struct {
	User        userDoc
	DisplayName string
	Attributes  []attribute
	// Provenance lists every attribute path a source set, sorted.
	Provenance []attribute
	Events     []eventDoc
	Sessions   []sessionDoc
	Live       int
}

func (c *console) user(w http.ResponseWriter, r *http.Request, s session) {
	v, err := c.loadUser(r.Context(), s, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	notice := ""
	// Only an action's name: the query is anyone's to write.
	if done := r.URL.Query().Get("done"); actions[done].method != "" {
		notice = "done: " + done
	}
	c.page(w, r, http.StatusOK, "user", view{Title: v.User.UserName, Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Notice: notice, Data: v})
}

// loadUser reads what the user page shows: three calls of the admin API,
// in process, for one request of the browser.
func (c *console) loadUser(ctx context.Context, s session, id string) (userView, error) {
	var v userView
	p := "/users/" + url.PathEscape(id)
	if err := c.call(ctx, s, http.MethodGet, p, nil, &v.User); err != nil {
		return v, err
	}
	var evs struct {
		Events []eventDoc `json:"events"`
	}
	if err := c.call(ctx, s, http.MethodGet, p+"/events", nil, &evs); err != nil {
		return v, err
	}
	slices.Reverse(evs.Events) // newest first
	v.Events = evs.Events
	var ss struct {
		Sessions []sessionDoc `json:"sessions"`
	}
	if err := c.call(ctx, s, http.MethodGet, p+"/sessions", nil, &ss); err != nil {
		return v, err
	}
	v.Sessions = ss.Sessions
	for _, x := range ss.Sessions {
		if x.Live {
			v.Live++
		}
	}
	v.DisplayName, _ = v.User.Attributes["displayName"].(string)
	for _, k := range sortedKeys(v.User.Attributes) {
		a := attribute{Name: k, Value: v.User.Attributes[k]}
		if p, ok := v.User.SetBy[k]; ok {
			a.SetBy = &p
		}
		v.Attributes = append(v.Attributes, a)
	}
	for _, k := range sortedKeys(v.User.SetBy) {
		p := v.User.SetBy[k]
		v.Provenance = append(v.Provenance, attribute{Name: k, SetBy: &p})
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// actions maps the console's action names to the admin API's requests.
var actions = map[string]struct{ method, suffix string }{
	"disable":      {http.MethodPost, "/disable"},
	"enable":       {http.MethodPost, "/enable"},
	"delete":       {http.MethodDelete, ""},
	"restore":      {http.MethodPost, "/restore"},
	"end-sessions": {http.MethodDelete, "/sessions"},
}

// action runs a lifecycle action through the admin API, then sends the
// browser back (303) to where the form said: the user's page, or the
// list for a user deleted.
func (c *console) action(w http.ResponseWriter, r *http.Request, s session) {
	name, id := r.PathValue("action"), r.PathValue("id")
	a, ok := actions[name]
	if !ok {
		c.page(w, r, http.StatusNotFound, "error", view{Title: "Not found", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
			Error: "no such action " + strconv.Quote(name) + ": disable, enable, delete, restore or end-sessions"})
		return
	}
	if err := c.call(r.Context(), s, a.method, "/users/"+url.PathEscape(id)+a.suffix, nil, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	to := "/console/" + url.PathEscape(s.tenant) + "/users/" + url.PathEscape(id) + "?done=" + url.QueryEscape(name)
	if name == "delete" || r.PostFormValue("back") == "list" {
		to = "/console/" + url.PathEscape(s.tenant) + "/users?status=deleted"
		if name != "delete" {
			to = "/console/" + url.PathEscape(s.tenant) + "/users"
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
