package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("POST /console/{tenant}/users/add", c.signedIn(c.addUsers))
	})
}

// addView is the add form as sent, and what became of each address.
type addView struct {
	AddText              string
	AddNotify, AddDryRun bool
	Problem              string
	Summary              string
	Refused              bool
	Results              []addResult
}

type addResult struct {
	Address, Outcome string
	// Link is the page of the user created; Bad marks a refused address.
	Link string
	Bad  bool
}

// addDoc is the admin API's answer to POST /users/add.
type addDoc struct {
	Committed  bool `json:"committed"`
	Added      int  `json:"added"`
	Unchanged  int  `json:"unchanged"`
	Updated    int  `json:"updated"`
	ErrorCount int  `json:"errorCount"`
	Created    []struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
		Email    string `json:"email"`
	} `json:"created"`
	Errors []struct {
		Line   int    `json:"line"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// splitAddresses is the addresses pasted: one per line, or separated by
// commas or semicolons, as an address book copies them.
func splitAddresses(text string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// addUsers adds the addresses pasted through the admin API (POST
// /users/add: all or nothing) and says what became of each. A request
// from htmx gets the results alone, always 200, so that htmx shows them.
func (c *console) addUsers(w http.ResponseWriter, r *http.Request, s session) {
	v := addView{AddText: r.PostFormValue("emails"), AddNotify: r.PostFormValue("notify") == "true",
		AddDryRun: r.PostFormValue("dryRun") == "true"}
	status := http.StatusOK
	render := func() {
		if r.Header.Get("HX-Request") == "true" {
			status = http.StatusOK
		}
		c.page(w, r, status, "usersadd", view{Title: "Add users", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: usersView{Add: &v, CanAdd: true}})
	}
	addrs := splitAddresses(v.AddText)
	if len(addrs) == 0 {
		v.Problem, status = "paste at least one email address", http.StatusBadRequest
		render()
		return
	}
	body, _ := json.Marshal(map[string]any{"emails": addrs, "notify": v.AddNotify, "dryRun": v.AddDryRun})
	var doc addDoc
	err := c.send(r.Context(), s, http.MethodPost, "/users/add", nil, body, &doc)
	if e, ok := errors.AsType[*apiError](err); ok && e.Status == http.StatusBadRequest && json.Unmarshal(e.body, &doc) == nil && doc.ErrorCount > 0 {
		err = nil // the addresses refused, each with its line
	}
	if err != nil {
		e, ok := errors.AsType[*apiError](err)
		if !ok || e.Status >= 500 {
			c.fail(w, r, s, err)
			return
		}
		v.Problem, status = e.Detail, e.Status
		render()
		return
	}
	refused := map[int]string{}
	for _, e := range doc.Errors {
		refused[e.Line] = e.Detail
	}
	created := map[string]string{}
	for _, u := range doc.Created {
		created[strings.ToLower(u.Email)], created[strings.ToLower(u.UserName)] = u.ID, u.ID
	}
	v.Refused = doc.ErrorCount > 0
	for i, a := range addrs {
		res := addResult{Address: a}
		id, isNew := created[strings.ToLower(a)]
		switch detail, bad := refused[i+1]; {
		case bad:
			res.Outcome, res.Bad = "refused: "+detail, true
		case v.Refused && len(doc.Errors) < doc.ErrorCount:
			res.Outcome = "not added: other addresses were refused (only the first are listed)"
		case v.Refused:
			res.Outcome = "good, not added: other addresses were refused"
		case isNew && doc.Committed:
			res.Outcome = "added, a new user"
			if id != "" {
				res.Link = "/console/" + url.PathEscape(s.tenant) + "/users/" + url.PathEscape(id)
			}
		case isNew:
			res.Outcome = "would be added, a new user"
		case doc.Committed:
			res.Outcome = "already a user: unchanged"
		default:
			res.Outcome = "already a user: would stay as they are"
		}
		v.Results = append(v.Results, res)
	}
	switch {
	case v.Refused:
		v.Summary, status = strconv.Itoa(doc.ErrorCount)+" address(es) refused: nobody was added; correct them and send again", http.StatusBadRequest
	case doc.Committed:
		v.Summary = strconv.Itoa(doc.Added) + " user(s) added, " + strconv.Itoa(doc.Updated+doc.Unchanged) + " already there"
	default:
		v.Summary = "checked only: " + strconv.Itoa(doc.Added) + " user(s) would be added, " + strconv.Itoa(doc.Updated+doc.Unchanged) + " are already there; nobody was added"
	}
	render()
}
