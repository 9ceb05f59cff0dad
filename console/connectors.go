package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/connectors", c.signedIn(c.connectors))
		mux.HandleFunc("GET /console/{tenant}/connectors/{connector}", c.signedIn(c.connectorPage))
		mux.HandleFunc("POST /console/{tenant}/connectors/{connector}/tokens", c.signedIn(c.createToken))
		mux.HandleFunc("POST /console/{tenant}/connectors/{connector}/tokens/{id}/{action}", c.signedIn(c.tokenAction))
		mux.HandleFunc("POST /console/{tenant}/connectors/{connector}/held", c.signedIn(c.decideHeld))
	})
}

// connectorRow is a connector as the admin API lists them.
type connectorRow struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Admin       bool       `json:"admin"`
	OrgUnit     string     `json:"orgUnit"`
	Mode        string     `json:"mode"`
	Profile     string     `json:"profile"`
	LiveTokens  int        `json:"liveTokens"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastRequest *struct {
		ID     int64     `json:"id"`
		At     time.Time `json:"at"`
		Method string    `json:"method"`
		Path   string    `json:"path"`
		Status int       `json:"status"`
	} `json:"lastRequest"`
	Window struct {
		Requests     int64 `json:"requests"`
		ClientErrors int64 `json:"clientErrors"`
		ServerErrors int64 `json:"serverErrors"`
	} `json:"last24h"`
}

type connectorList struct {
	Connectors []connectorRow `json:"connectors"`
	Window     string         `json:"window"`
}

func (c *console) connectors(w http.ResponseWriter, r *http.Request, s session) {
	var out connectorList
	if err := c.call(r.Context(), s, http.MethodGet, "/connectors", nil, &out); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.page(w, r, http.StatusOK, "connectors", view{Title: "Connectors", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: out})
}

// tokenRow is a token as the admin API shows it; Secret only in the
// answer that made it.
type tokenRow struct {
	ID         int64      `json:"id"`
	Hint       string     `json:"hint"`
	Live       bool       `json:"live"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	Secret     string     `json:"secret"`
	Revoked    int64      `json:"revoked"`
}

type heldRow struct {
	ID           int64     `json:"id"`
	ResourceType string    `json:"resourceType"`
	ResourceID   string    `json:"resourceId"`
	UserName     string    `json:"userName"`
	Op           string    `json:"op"`
	Attempts     int       `json:"attempts"`
	CreatedAt    time.Time `json:"createdAt"`
}

type shadowDoc struct {
	Plans         int            `json:"plans"`
	Unchanged     int            `json:"unchanged"`
	Creates       map[string]int `json:"creates"`
	Updates       map[string]int `json:"updates"`
	Deletes       map[string]int `json:"deletes"`
	Attributes    map[string]int `json:"attributes"`
	Deactivations int            `json:"deactivations"`
	Granted       map[string]int `json:"granted"`
	Revoked       map[string]int `json:"revoked"`
	Conflicts     map[string]int `json:"conflicts"`
	Errors        int            `json:"errors"`
	Entries       []struct {
		ID         int64  `json:"id"`
		At         string `json:"at"`
		Kind       string `json:"kind"`
		Op         string `json:"op"`
		Action     string `json:"action"`
		ResourceID string `json:"resourceId"`
		Conflict   string `json:"conflict"`
		Error      string `json:"error"`
	} `json:"entries"`
}

// count is one figure of the shadow summary: "User", 3.
type count struct {
	Name string
	N    int
}

func counts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, count{k, m[k]})
	}
	return out
}

type connectorView struct {
	Connector connectorRow
	Window    string
	Tokens    []tokenRow
	MaxLive   int
	Live      int
	// New is the token just made, its secret shown on this page only.
	New *tokenRow
	// Held is a page of the pending held writes, after HeldAfter (0: from
	// the first); HeldNext is the next page's after, 0 on the last.
	Held                []heldRow
	HeldAfter, HeldNext int64
	Shadow              *shadowDoc
	// ShadowCounts are the summary's figures, named.
	ShadowCounts []count
}

// shadowShown is how many of a shadow log's plans the page lists.
const shadowShown = 20

// loadConnector reads what the connector page shows, its held writes
// after heldAfter: four calls of the admin API at most, in process, for
// one request of the browser.
func (c *console) loadConnector(ctx context.Context, s session, name string, heldAfter int64) (connectorView, error) {
	v := connectorView{HeldAfter: heldAfter}
	var list connectorList
	if err := c.call(ctx, s, http.MethodGet, "/connectors", nil, &list); err != nil {
		return v, err
	}
	i := slices.IndexFunc(list.Connectors, func(c connectorRow) bool { return c.Name == name })
	if i < 0 {
		return v, &apiError{Status: http.StatusNotFound, Detail: "no connector " + strconv.Quote(name) + " in this tenant"}
	}
	v.Connector, v.Window = list.Connectors[i], list.Window
	p := "/connectors/" + url.PathEscape(name)
	var ts struct {
		Tokens []tokenRow `json:"tokens"`
		Max    int        `json:"maxLive"`
	}
	if err := c.call(ctx, s, http.MethodGet, p+"/tokens", nil, &ts); err != nil {
		return v, err
	}
	v.Tokens, v.MaxLive = ts.Tokens, ts.Max
	for _, t := range ts.Tokens {
		if t.Live {
			v.Live++
		}
	}
	if v.Connector.Admin {
		return v, nil // administrators push no writes: nothing held, no shadow
	}
	var held struct {
		Held []heldRow `json:"held"`
		Next int64     `json:"next"`
	}
	q := url.Values{"state": {"pending"}}
	if heldAfter > 0 {
		q.Set("after", strconv.FormatInt(heldAfter, 10))
	}
	if err := c.call(ctx, s, http.MethodGet, p+"/held", q, &held); err != nil {
		return v, err
	}
	v.Held, v.HeldNext = held.Held, held.Next
	if v.Connector.Mode == "shadow" {
		v.Shadow = &shadowDoc{}
		if err := c.call(ctx, s, http.MethodGet, p+"/shadow", url.Values{"count": {strconv.Itoa(shadowShown)}}, v.Shadow); err != nil {
			return v, err
		}
		sh := v.Shadow
		for _, f := range []struct {
			what string
			m    map[string]int
		}{{"create", sh.Creates}, {"update", sh.Updates}, {"delete", sh.Deletes}, {"grant", sh.Granted}, {"revoke", sh.Revoked}, {"conflict on", sh.Conflicts}, {"change of", sh.Attributes}} {
			for _, n := range counts(f.m) {
				v.ShadowCounts = append(v.ShadowCounts, count{f.what + " " + n.Name, n.N})
			}
		}
	}
	return v, nil
}

// connectorNotices are the notices a connector page shows after an
// action (?done=): only these, the query being anyone's to write.
var connectorNotices = map[string]string{
	"revoke":  "token revoked: it opens nothing from now on",
	"approve": "held writes approved and applied",
	"reject":  "held writes rejected: the identity provider's retries of them get 403",
}

func (c *console) connectorPage(w http.ResponseWriter, r *http.Request, s session) {
	c.showConnector(w, r, s, connectorNotices[r.URL.Query().Get("done")], nil)
}

// showConnector renders the connector page, with a token just made (its
// secret shown this once: the response of the POST, no-store, never a
// URL) or none.
func (c *console) showConnector(w http.ResponseWriter, r *http.Request, s session, notice string, made *tokenRow) {
	heldAfter, _ := strconv.ParseInt(r.URL.Query().Get("held"), 10, 64)
	v, err := c.loadConnector(r.Context(), s, r.PathValue("connector"), max(heldAfter, 0))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	v.New = made
	c.page(w, r, http.StatusOK, "connector", view{Title: "Connector " + v.Connector.Name, Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Notice: notice, Data: v})
}

func (c *console) tokensPath(r *http.Request) string {
	return "/connectors/" + url.PathEscape(r.PathValue("connector")) + "/tokens"
}

// createToken makes a token and answers the page with its secret.
func (c *console) createToken(w http.ResponseWriter, r *http.Request, s session) {
	var t tokenRow
	if err := c.send(r.Context(), s, http.MethodPost, c.tokensPath(r), nil, nil, &t); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.showConnector(w, r, s, "token "+strconv.FormatInt(t.ID, 10)+" created", &t)
}

// tokenAction rotates a token (the page answers with the new secret) or
// revokes one (303 back to the page).
func (c *console) tokenAction(w http.ResponseWriter, r *http.Request, s session) {
	path := c.tokensPath(r) + "/" + url.PathEscape(r.PathValue("id"))
	switch r.PathValue("action") {
	case "rotate":
		var t tokenRow
		if err := c.send(r.Context(), s, http.MethodPost, path+"/rotate", nil, nil, &t); err != nil {
			c.fail(w, r, s, err)
			return
		}
		c.showConnector(w, r, s, "token "+strconv.FormatInt(t.Revoked, 10)+" revoked and replaced by token "+strconv.FormatInt(t.ID, 10), &t)
	case "revoke":
		if err := c.call(r.Context(), s, http.MethodDelete, path, nil, nil); err != nil {
			c.fail(w, r, s, err)
			return
		}
		c.back(w, r, s, "revoke")
	default:
		c.page(w, r, http.StatusNotFound, "error", view{Title: "Not found", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
			Error: "no such token action " + strconv.Quote(r.PathValue("action")) + ": rotate or revoke"})
	}
}

func (c *console) back(w http.ResponseWriter, r *http.Request, s session, done string) {
	http.Redirect(w, r, "/console/"+url.PathEscape(s.tenant)+"/connectors/"+url.PathEscape(r.PathValue("connector"))+"?done="+done, http.StatusSeeOther)
}

// decideHeld approves or rejects held writes: the ones ticked, or all
// the page listed (its "all" form carries their ids), never one held
// after the page was shown.
func (c *console) decideHeld(w http.ResponseWriter, r *http.Request, s session) {
	decision := r.PostFormValue("decision")
	if decision != "approve" && decision != "reject" {
		c.page(w, r, http.StatusBadRequest, "error", view{Title: "Bad request", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
			Error: "decision is approve or reject"})
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			c.page(w, r, http.StatusBadRequest, "error", view{Title: "Bad request", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
				Error: "id " + strconv.Quote(v) + " is not a held write's"})
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		// The admin API decides every pending write without ids: not
		// what a form without a tick means.
		c.page(w, r, http.StatusBadRequest, "error", view{Title: "Bad request", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
			Error: "tick the held writes to " + decision + ", or use " + decision + " all"})
		return
	}
	body := map[string][]int64{"ids": ids}
	p := "/connectors/" + url.PathEscape(r.PathValue("connector")) + "/held/" + decision
	if err := c.send(r.Context(), s, http.MethodPost, p, nil, body, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.back(w, r, s, decision)
}
