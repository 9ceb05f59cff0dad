package console

import (
	"net/http"
	"net/url"
	"strconv"
)

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/groups", c.signedIn(c.groups))
		mux.HandleFunc("GET /console/{tenant}/groups/{id}", c.signedIn(c.group))
	})
}

// setGiven sets in v each key of keyValues (key, value, key, value…)
// whose value is not "": a query of the parameters a page was given.
func setGiven(v url.Values, keyValues ...string) {
	for i := 0; i+1 < len(keyValues); i += 2 {
		if keyValues[i+1] != "" {
			v.Set(keyValues[i], keyValues[i+1])
		}
	}
}

// memberCount is a group's count of members as the admin API gives it:
// absent for an org unit's administrator, capped for a large group.
type memberCount struct {
	Members     *int `json:"members"`
	MembersMore bool `json:"membersMore"`
}

// Count says the count for a person: "" when there is none.
func (m memberCount) Count() string {
	switch {
	case m.Members == nil:
		return ""
	case m.MembersMore:
		return "more than " + strconv.Itoa(*m.Members)
	}
	return strconv.Itoa(*m.Members)
}

type groupRow struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	memberCount
}

// groupsView is the groups page: the search as asked and its page.
type groupsView struct {
	Q      string
	Groups []groupRow
	// Paged is true past the first page; Next is the URL of the
	// following page, "" on the last.
	Paged bool
	Next  string
}

func (c *console) groups(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	v := groupsView{Q: q.Get("q"), Paged: q.Get("after") != ""}
	query := url.Values{"limit": {strconv.Itoa(pageSize)}}
	setGiven(query, "q", v.Q, "after", q.Get("after"))
	var out struct {
		Groups []groupRow `json:"groups"`
		Next   *string    `json:"next"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, "/groups", query, &out); err != nil {
		c.fail(w, r, s, err)
		return
	}
	v.Groups = out.Groups
	if out.Next != nil {
		next := url.Values{"after": {*out.Next}}
		setGiven(next, "q", v.Q)
		v.Next = "/console/" + url.PathEscape(s.tenant) + "/groups?" + next.Encode()
	}
	c.page(w, r, http.StatusOK, "groups", view{Title: "Groups", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v})
}

// groupView is a group's page: the group and a page of its members.
type groupView struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	memberCount
	Page []struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		UserName    string `json:"userName"`
		DisplayName string `json:"displayName"`
		Status      string `json:"status"`
	} `json:"page"`
	Cursor *string `json:"next"`
	// Paged is true past the first page; Next is the URL of the
	// following page, "" on the last.
	Paged bool   `json:"-"`
	Next  string `json:"-"`
}

func (c *console) group(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	query := url.Values{"limit": {strconv.Itoa(pageSize)}}
	after := r.URL.Query().Get("after")
	setGiven(query, "after", after)
	var v groupView
	if err := c.call(r.Context(), s, http.MethodGet, "/groups/"+url.PathEscape(id), query, &v); err != nil {
		c.fail(w, r, s, err)
		return
	}
	v.Paged = after != ""
	if v.Cursor != nil {
		v.Next = "/console/" + url.PathEscape(s.tenant) + "/groups/" + url.PathEscape(id) + "?" + url.Values{"after": {*v.Cursor}}.Encode()
	}
	c.page(w, r, http.StatusOK, "group", view{Title: v.DisplayName, Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v})
}
