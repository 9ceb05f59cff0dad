package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/audit", c.signedIn(c.audit))
		mux.HandleFunc("GET /console/{tenant}/connectors/{connector}/requests", c.signedIn(c.requests))
		mux.HandleFunc("GET /console/{tenant}/connectors/{connector}/requests/{id}", c.signedIn(c.requestPage))
		mux.HandleFunc("POST /console/{tenant}/connectors/{connector}/requests/{id}/replay", c.signedIn(c.replay))
	})
}

// auditPageSize is how many events a page of the audit log shows, and
// requests a page of a request log.
const auditPageSize = 50

// auditSources are the sources the audit page's filter offers.
var auditSources = []string{"scim", "oidc", "csv", "admin", "cli", "activation"}

// localMinute is the format of a datetime-local input, read as UTC.
const localMinute = "2006-01-02T15:04"

// auditEventDoc is an event as the admin API lists them.
type auditEventDoc struct {
	ID           int64          `json:"id"`
	At           time.Time      `json:"at"`
	Source       string         `json:"source"`
	Connector    string         `json:"connector"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resourceType"`
	ResourceID   string         `json:"resourceId"`
	UserName     string         `json:"userName"`
	Detail       map[string]any `json:"detail"`
}

// auditRow is an event as the audit page shows it.
type auditRow struct {
	auditEventDoc
	// IsUser says the event is about a user, linked by ResourceID.
	IsUser bool
	Fired  []string
	// Before and After are the resource's attributes (JSON), "" if none.
	Before, After string
	// Changed names the attributes that changed, for an event whose
	// values were erased.
	Changed []string
}

// auditView is the audit page: the filters as asked and a page of events.
type auditView struct {
	User, Connector, Source, From, To string
	Sources                           []string
	Events                            []auditRow
	// Problem is why the admin API refused the filters; the page shows
	// it in place of the events.
	Problem string
	// Next is the URL of the following page; "" on the last.
	Next string
}

func (c *console) audit(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	v := auditView{User: q.Get("user"), Connector: q.Get("connector"), Source: q.Get("source"), From: q.Get("from"), To: q.Get("to"), Sources: auditSources}
	filters := url.Values{}
	for k, val := range map[string]string{"user": v.User, "connector": v.Connector, "source": v.Source, "from": v.From, "to": v.To} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	query := url.Values{"limit": {strconv.Itoa(auditPageSize)}}
	for _, k := range []string{"user", "connector", "source"} {
		if val := filters.Get(k); val != "" {
			query.Set(k, val)
		}
	}
	status := http.StatusOK
	// From and to are minutes, to inclusive: until is the minute after.
	for _, b := range []struct {
		val, param, label string
		add               time.Duration
	}{{v.From, "since", "From", 0}, {v.To, "until", "To", time.Minute}} {
		if b.val == "" {
			continue
		}
		t, err := time.Parse(localMinute, b.val)
		if err != nil {
			v.Problem, status = b.label+" "+strconv.Quote(b.val)+": give a date and time, as 2026-12-06T18:00 (UTC)", http.StatusBadRequest
			continue
		}
		query.Set(b.param, t.Add(b.add).Format(time.RFC3339))
	}
	if before := q.Get("before"); before != "" {
		query.Set("before", before)
	}
	var out struct {
		Events []auditEventDoc `json:"events"`
		Next   string          `json:"next"`
	}
	if v.Problem == "" {
		err := c.call(r.Context(), s, http.MethodGet, "/audit", query, &out)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Status < 500:
			// A filter the API refused (an unknown user or connector, a
			// unit's administrator without a user) is said in place of
			// the events, the filters left as they are to be corrected.
			v.Problem, status = ae.Detail, ae.Status
		case err != nil:
			c.fail(w, r, s, err)
			return
		}
	}
	for _, e := range out.Events {
		v.Events = append(v.Events, auditRowOf(e))
	}
	if out.Next != "" {
		next := url.Values{"before": {out.Next}}
		for k := range filters {
			next.Set(k, filters.Get(k))
		}
		v.Next = "/console/" + url.PathEscape(s.tenant) + "/audit?" + next.Encode()
	}
	if status != http.StatusOK && r.Header.Get("HX-Request") == "true" {
		status = http.StatusOK // htmx swaps only a 2xx answer in
	}
	c.page(w, r, status, "audit", view{Title: "Audit log", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v})
}

func auditRowOf(e auditEventDoc) auditRow {
	row := auditRow{auditEventDoc: e, IsUser: e.ResourceType == "User"}
	if fired, ok := e.Detail["fired"].([]any); ok {
		for _, f := range fired {
			if s, ok := f.(string); ok {
				row.Fired = append(row.Fired, s)
			}
		}
	}
	if changed, ok := e.Detail["changed"].([]any); ok {
		for _, f := range changed {
			if s, ok := f.(string); ok {
				row.Changed = append(row.Changed, s)
			}
		}
	}
	row.Before, row.After = indentJSON(e.Detail["before"]), indentJSON(e.Detail["after"])
	return row
}

// indentJSON is v as indented JSON; "" for nothing.
func indentJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// planDoc is a plan as the request log and a replay show it.
type planDoc struct {
	Plan *struct {
		Action   string `json:"action"`
		Kind     string `json:"kind"`
		ID       string `json:"id"`
		UserName string `json:"userName"`
		Display  string `json:"displayName"`
		Status   string `json:"status"`
		Match    *struct {
			By     string `json:"by"`
			UserID string `json:"userId"`
			Linked bool   `json:"linked"`
		} `json:"match"`
		Fired  []string `json:"fired"`
		Grants []struct {
			Op, Kind, Name, Rule string
		} `json:"grants"`
		Changes []struct {
			Attribute string `json:"attribute"`
			Before    any    `json:"before"`
			After     any    `json:"after"`
			Rule      string `json:"rule"`
		} `json:"changes"`
	} `json:"plan"`
	Error string `json:"error"`
}

// requestDoc is a logged request as the admin API shows it.
type requestDoc struct {
	ID            int64     `json:"id"`
	At            time.Time `json:"at"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	Body          string    `json:"body"`
	Truncated     bool      `json:"truncated"`
	Status        int       `json:"status"`
	LatencyMicros int64     `json:"latencyMicros"`
	RequestID     string    `json:"requestId"`
	DryRun        bool      `json:"dryRun"`
	Plans         []planDoc `json:"plans"`
	Error         string    `json:"error"`
}

// Latency is the request's latency in milliseconds, for a person.
func (d requestDoc) Latency() string {
	return strconv.FormatFloat(float64(d.LatencyMicros)/1000, 'f', 1, 64) + " ms"
}

// requestsView is a page of a connector's request log.
type requestsView struct {
	Connector string
	Requests  []requestDoc
	// Next is the URL of the following page; "" on the last.
	Next string
}

func (c *console) requests(w http.ResponseWriter, r *http.Request, s session) {
	connector := r.PathValue("connector")
	query := url.Values{"limit": {strconv.Itoa(auditPageSize)}}
	if before := r.URL.Query().Get("before"); before != "" {
		query.Set("before", before)
	}
	var out struct {
		Requests []requestDoc `json:"requests"`
		Next     string       `json:"next"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, "/connectors/"+url.PathEscape(connector)+"/requests", query, &out); err != nil {
		c.fail(w, r, s, err)
		return
	}
	v := requestsView{Connector: connector, Requests: out.Requests}
	if out.Next != "" {
		v.Next = "/console/" + url.PathEscape(s.tenant) + "/connectors/" + url.PathEscape(connector) + "/requests?" + url.Values{"before": {out.Next}}.Encode()
	}
	c.page(w, r, http.StatusOK, "requests", view{Title: "Requests of " + connector, Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v})
}

// replayDoc is what a logged request would do now.
type replayDoc struct {
	Status int       `json:"status"`
	Error  string    `json:"error"`
	Plans  []planDoc `json:"plans"`
}

// requestView is one logged request, and once replayed what it would do
// now.
type requestView struct {
	Connector string
	Request   requestDoc
	// Body is the request's body, indented if it is JSON.
	Body   string
	Replay *replayDoc
}

func (c *console) loadRequest(r *http.Request, s session) (requestView, error) {
	v := requestView{Connector: r.PathValue("connector")}
	p := "/connectors/" + url.PathEscape(v.Connector) + "/requests/" + url.PathEscape(r.PathValue("id"))
	if err := c.call(r.Context(), s, http.MethodGet, p, nil, &v.Request); err != nil {
		return v, err
	}
	v.Body = v.Request.Body
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(v.Body), "", "  ") == nil {
		v.Body = buf.String()
	}
	return v, nil
}

func (c *console) requestPage(w http.ResponseWriter, r *http.Request, s session) {
	v, err := c.loadRequest(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.page(w, r, http.StatusOK, "request", view{Title: "Request " + r.PathValue("id"), Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v})
}

// replay shows what the logged request would do now: the admin API runs
// it again as its connector, writing nothing.
func (c *console) replay(w http.ResponseWriter, r *http.Request, s session) {
	v, err := c.loadRequest(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	v.Replay = &replayDoc{}
	p := "/connectors/" + url.PathEscape(v.Connector) + "/requests/" + url.PathEscape(r.PathValue("id")) + "/replay"
	if err := c.call(r.Context(), s, http.MethodPost, p, nil, v.Replay); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.page(w, r, http.StatusOK, "request", view{Title: "Request " + r.PathValue("id"), Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName,
		Notice: "replayed: what this request would do now; nothing was written", Data: v})
}
