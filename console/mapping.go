package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The mapping editor: the tenant's connector configuration as YAML,
// checked as it is typed, a payload previewed and the existing users'
// impact worked out under the text as edited, then saved and re-applied.
// Every answer is the admin API's (POST /config/check, /config/preview,
// /config/impact, PUT /config, POST /reapply), so the editor shows what
// a save would do with the engine's own checker and planner.
func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/mapping", c.signedIn(c.mapping))
		// The forms carry the whole YAML: see mappingFormLimit.
		mux.HandleFunc("POST /console/{tenant}/mapping/check", c.signedInUpTo(mappingFormLimit, c.mappingCheck))
		mux.HandleFunc("POST /console/{tenant}/mapping/preview", c.signedInUpTo(mappingFormLimit, c.mappingPreview))
		mux.HandleFunc("POST /console/{tenant}/mapping/impact", c.signedInUpTo(mappingFormLimit, c.mappingImpact))
		mux.HandleFunc("POST /console/{tenant}/mapping/save", c.signedInUpTo(mappingFormLimit, c.mappingSave))
		mux.HandleFunc("POST /console/{tenant}/mapping/reapply", c.signedIn(c.mappingReapply))
		mux.HandleFunc("GET /console/{tenant}/mapping/reapply/{id}", c.signedIn(c.mappingJob))
	})
}

// mappingFormLimit bounds the editor's POSTs: a configuration of up to
// 256 KiB, form-encoded (newlines and quotes take three bytes each), with
// a pasted payload. The admin API bounds the YAML again (1 MiB).
const mappingFormLimit = 768 << 10

// recentRequests is how many of the connector's logged requests the
// preview offers.
const recentRequests = 20

// problemDoc is a configuration problem as the admin API reports it.
type problemDoc struct {
	Line   int    `json:"Line"`
	Column int    `json:"Column"`
	Msg    string `json:"Msg"`
	Hint   string `json:"Hint"`
}

// checkDoc is POST /config/check's answer, or PUT's refusal.
type checkDoc struct {
	Valid      bool         `json:"valid"`
	Detail     string       `json:"detail"`
	Problems   []problemDoc `json:"problems"`
	Connectors []string     `json:"connectors"`
}

// previewPlan is a plan's summary as the admin API shows it.
type previewPlan struct {
	Action   string `json:"action"`
	UserName string `json:"userName"`
	Status   string `json:"status"`
	Match    *struct {
		By     string `json:"by"`
		Value  string `json:"value"`
		UserID string `json:"userId"`
		Linked bool   `json:"linked"`
	} `json:"match"`
	Fired   []string      `json:"fired"`
	Grants  []grantChange `json:"grants"`
	Denied  []ruleGrant   `json:"denied"`
	Missing []ruleGrant   `json:"missing"`
	Changes []struct {
		Attribute string `json:"attribute"`
		Before    any    `json:"before"`
		After     any    `json:"after"`
		Rule      string `json:"rule"`
	} `json:"changes"`
}

type grantChange struct {
	Op     string `json:"op"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Rule   string `json:"rule"`
	Create bool   `json:"create"`
}

type ruleGrant struct {
	Kind string `json:"Kind"`
	Name string `json:"Name"`
	Rule string `json:"Rule"`
}

// impactDoc is what a configuration would change for the existing users.
type impactDoc struct {
	Users    int `json:"users"`
	Changed  int `json:"changed"`
	Failed   int `json:"failed"`
	ByRule   map[string]struct{ Added, Revoked int }
	ByChange map[string]int `json:"byChange"`
	Sample   []struct {
		UserName  string        `json:"userName"`
		Connector string        `json:"connector"`
		Grants    []grantChange `json:"grants"`
		Changes   []struct {
			Attribute string `json:"attribute"`
			Before    any    `json:"before"`
			After     any    `json:"after"`
		} `json:"changes"`
		Before struct{ Status string } `json:"before"`
		After  struct{ Status string } `json:"after"`
		Error  string                  `json:"error"`
	} `json:"sample"`
	Undecided []string `json:"undecided"`
}

// impactCount is one line of a impactCount table.
type impactCount struct {
	Name string
	N, M int
}

func (d *impactDoc) Rules() []impactCount {
	var out []impactCount
	for _, k := range sortedKeys(d.ByRule) {
		out = append(out, impactCount{k, d.ByRule[k].Added, d.ByRule[k].Revoked})
	}
	return out
}

func (d *impactDoc) Changes() []impactCount {
	var out []impactCount
	for _, k := range sortedKeys(d.ByChange) {
		out = append(out, impactCount{Name: k, N: d.ByChange[k]})
	}
	return out
}

// jobDoc is a re-apply job.
type jobDoc struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	UsersDone    int64  `json:"usersDone"`
	UsersTotal   int64  `json:"usersTotal"`
	UsersChanged int64  `json:"usersChanged"`
	UsersFailed  int64  `json:"usersFailed"`
}

// pushDoc is a logged request offered to the preview.
type pushDoc struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	Body   string    `json:"body"`
	// Previewable: the admin API can preview it under edited rules.
	Previewable bool `json:"previewable"`
}

// mappingView is the editor: the text as loaded or as posted, and the
// panels a request filled.
type mappingView struct {
	YAML string
	// Version is the saved configuration's; 0: none was saved, and YAML
	// is From serve's file or a starting point.
	Version    int64
	From       string
	Connector  string
	Connectors []string
	Requests   []pushDoc
	Payload    string
	Request    int64

	Check        *checkDoc
	Preview      *previewPlan
	PreviewOf    string // the logged request previewed, if one was
	PreviewError string
	Impact       *impactDoc
	ImpactError  string
	Saved        *struct {
		Version int64      `json:"version"`
		Impact  *impactDoc `json:"impact"`
	}
	SaveError string
	Job       *jobDoc
	JobError  string
	// Fragment is set when one panel is rendered for htmx.
	Fragment bool
}

func (c *console) mapping(w http.ResponseWriter, r *http.Request, s session) {
	v := mappingView{Connector: r.URL.Query().Get("connector")}
	var cfg runningDoc
	if err := c.call(r.Context(), s, http.MethodGet, "/config/running", nil, &cfg); err != nil {
		c.fail(w, r, s, err)
		return
	}
	v.YAML, v.Version, v.From = cfg.YAML, cfg.Version, cfg.From
	if cfg.YAML == "" {
		v.YAML = starter(s.tenant, v.Connector)
	}
	if err := c.fillMapping(r.Context(), s, &v, true); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.page(w, r, http.StatusOK, "mapping", c.mappingPage(s, v))
}

// runningDoc is the configuration a tenant runs now (GET /config/running).
type runningDoc struct {
	From    string `json:"from"` // api, file or defaults
	Version int64  `json:"version"`
	YAML    string `json:"yaml"`
}

// starter is the editor's text for a tenant that neither a saved
// configuration nor serve's file names: it runs on the defaults.
func starter(tenant, connector string) string {
	if connector == "" {
		connector = "okta"
	}
	q := strconv.Quote
	return "# Neither the console nor serve's --config file configures this tenant: it runs on\n" +
		"# the defaults (match by externalId, userName, email; no rules). Saving this replaces them.\n" +
		"tenants:\n  - name: " + q(tenant) + "\n    connectors:\n      - name: " + q(connector) + "\n        rules: []\n"
}

// fillMapping checks v.YAML and reads the connectors and recent requests
// the preview offers.
func (c *console) fillMapping(ctx context.Context, s session, v *mappingView, check bool) error {
	if check {
		v.Check = &checkDoc{}
		if err := c.send(ctx, s, http.MethodPost, "/config/check", nil, []byte(v.YAML), v.Check); err != nil {
			return err
		}
	}
	if v.Check != nil {
		v.Connectors = v.Check.Connectors
	}
	if v.Connector == "" && len(v.Connectors) > 0 {
		v.Connector = v.Connectors[0]
	}
	if v.Connector != "" && !slices.Contains(v.Connectors, v.Connector) {
		v.Connectors = append(v.Connectors, v.Connector)
	}
	if v.Connector == "" {
		return nil
	}
	var rs struct {
		Requests []pushDoc `json:"requests"`
	}
	err := c.call(ctx, s, http.MethodGet, "/connectors/"+url.PathEscape(v.Connector)+"/requests", url.Values{"limit": {strconv.Itoa(recentRequests)}}, &rs)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusNotFound {
		return nil // a connector named in the text, not yet made
	}
	for _, lr := range rs.Requests {
		if lr.Previewable {
			v.Requests = append(v.Requests, lr)
		}
	}
	return err
}

func (c *console) mappingPage(s session, v mappingView) view {
	return view{Title: "Mapping", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: v}
}

// posted is the editor as a form posted it.
func posted(r *http.Request) mappingView {
	v := mappingView{YAML: r.PostFormValue("yaml"), Connector: strings.TrimSpace(r.PostFormValue("connector")),
		Payload: r.PostFormValue("payload")}
	v.Request, _ = strconv.ParseInt(r.PostFormValue("request"), 10, 64)
	v.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	v.From = r.PostFormValue("from")
	return v
}

// panel answers a POST of the editor: the one panel for htmx, else the
// whole page with it filled.
func (c *console) panel(w http.ResponseWriter, r *http.Request, s session, name string, v mappingView) {
	if r.Header.Get("HX-Request") != "true" {
		if err := c.fillMapping(r.Context(), s, &v, v.Check == nil); err != nil {
			c.fail(w, r, s, err)
			return
		}
		c.page(w, r, http.StatusOK, "mapping", c.mappingPage(s, v))
		return
	}
	v.Fragment = true
	var buf bytes.Buffer
	if err := c.pages["mapping"].ExecuteTemplate(&buf, name, c.mappingPage(s, v)); err != nil {
		c.internal(w, r, fmt.Errorf("mapping panel %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Add("Vary", "HX-Request")
	w.Write(buf.Bytes())
}

func (c *console) mappingCheck(w http.ResponseWriter, r *http.Request, s session) {
	v := posted(r)
	v.Check = &checkDoc{}
	if err := c.send(r.Context(), s, http.MethodPost, "/config/check", nil, []byte(v.YAML), v.Check); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.panel(w, r, s, "problems", v)
}

// refusal reads an admin API refusal: its detail, and the configuration's
// problems when it lists them.
func refusal(err error) (string, *checkDoc, bool) {
	ae, ok := errors.AsType[*apiError](err)
	if !ok || ae.Status >= 500 {
		return "", nil, false
	}
	var d checkDoc
	if json.Unmarshal(ae.body, &d) == nil && len(d.Problems) > 0 {
		return ae.Detail, &d, true
	}
	return ae.Detail, nil, true
}

func (c *console) mappingPreview(w http.ResponseWriter, r *http.Request, s session) {
	v := posted(r)
	body := map[string]any{"connector": v.Connector, "yaml": v.YAML}
	switch {
	case v.Connector == "":
		v.PreviewError = "name the connector whose push to preview"
	case v.Request != 0:
		body["request"] = v.Request
		v.PreviewOf = "logged request #" + strconv.FormatInt(v.Request, 10)
	case strings.TrimSpace(v.Payload) == "":
		v.PreviewError = "paste a SCIM User payload, or pick one of the connector's logged requests, to see what it would do"
	default:
		var doc map[string]any
		if err := json.Unmarshal([]byte(v.Payload), &doc); err != nil || doc == nil {
			v.PreviewError = "the payload is not a JSON object (a SCIM User): " + jsonProblem(err)
		}
		body["user"] = doc
	}
	if v.PreviewError == "" {
		raw, _ := json.Marshal(body)
		v.Preview = &previewPlan{}
		if err := c.send(r.Context(), s, http.MethodPost, "/config/preview", nil, raw, v.Preview); err != nil {
			if v.PreviewError = c.draftRefused(w, r, s, err, "the preview"); v.PreviewError == "" {
				return
			}
			v.Preview = nil
		}
	}
	c.panel(w, r, s, "preview", v)
}

// draftRefused is what a panel says of the admin API's refusal to work
// on the edited text, its problems counted; any other error is answered
// (fail) and draftRefused returns "".
func (c *console) draftRefused(w http.ResponseWriter, r *http.Request, s session, err error, what string) string {
	detail, problems, ok := refusal(err)
	switch {
	case !ok:
		c.fail(w, r, s, err)
		return ""
	case problems != nil:
		return fmt.Sprintf("the configuration has %d problem(s): fix them to see %s", len(problems.Problems), what)
	}
	return detail
}

func jsonProblem(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	if err == nil {
		return "null"
	}
	return "not an object"
}

func (c *console) mappingImpact(w http.ResponseWriter, r *http.Request, s session) {
	v := posted(r)
	v.Impact = &impactDoc{}
	if err := c.send(r.Context(), s, http.MethodPost, "/config/impact", nil, []byte(v.YAML), v.Impact); err != nil {
		if v.ImpactError = c.draftRefused(w, r, s, err, "what it would change"); v.ImpactError == "" {
			return
		}
		v.Impact = nil
	}
	c.panel(w, r, s, "impact", v)
}

// mappingSave saves the text (PUT /config): refused whole with its
// problems, which then replace the problems shown.
func (c *console) mappingSave(w http.ResponseWriter, r *http.Request, s session) {
	v := posted(r)
	v.Saved = &struct {
		Version int64      `json:"version"`
		Impact  *impactDoc `json:"impact"`
	}{}
	// Saved over the version the editor loaded only: another
	// administrator's save meanwhile is not undone unseen.
	req, err := c.request(r.Context(), s, http.MethodPut, "/config", nil, strings.NewReader(v.YAML))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	req.Header.Set("If-Match", `"`+strconv.FormatInt(v.Version, 10)+`"`)
	if err := c.do(req, v.Saved); err != nil {
		detail, problems, ok := refusal(err)
		if !ok {
			c.fail(w, r, s, err)
			return
		}
		v.Saved, v.SaveError, v.Check = nil, "refused, nothing saved: "+detail, problems
	} else {
		v.Version = v.Saved.Version
	}
	c.panel(w, r, s, "save", v)
}

func (c *console) mappingReapply(w http.ResponseWriter, r *http.Request, s session) {
	v := mappingView{Job: &jobDoc{}}
	if err := c.call(r.Context(), s, http.MethodPost, "/reapply", nil, v.Job); err != nil {
		detail, _, ok := refusal(err)
		if !ok {
			c.fail(w, r, s, err)
			return
		}
		v.Job, v.JobError = nil, detail
	}
	c.jobPanel(w, r, s, v)
}

func (c *console) mappingJob(w http.ResponseWriter, r *http.Request, s session) {
	v := mappingView{Job: &jobDoc{}}
	if err := c.call(r.Context(), s, http.MethodGet, "/reapply/"+url.PathEscape(r.PathValue("id")), nil, v.Job); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.jobPanel(w, r, s, v)
}

// jobPanel answers a re-apply job's progress; without htmx, the page it
// belongs to, with the saved text.
func (c *console) jobPanel(w http.ResponseWriter, r *http.Request, s session, v mappingView) {
	if r.Header.Get("HX-Request") != "true" {
		var cfg runningDoc
		if err := c.call(r.Context(), s, http.MethodGet, "/config/running", nil, &cfg); err != nil {
			c.fail(w, r, s, err)
			return
		}
		v.YAML, v.Version, v.From = cfg.YAML, cfg.Version, cfg.From
	}
	c.panel(w, r, s, "job", v)
}

func (j *jobDoc) Running() bool { return j.State == "running" }

// Percent is how far the job is, 0 to 100.
func (j *jobDoc) Percent() int64 {
	if j.UsersTotal == 0 {
		return 100
	}
	return j.UsersDone * 100 / j.UsersTotal
}
