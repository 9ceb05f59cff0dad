package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Replayer runs a logged request again, now, as a preview: cmd/scimd wires
// the SCIM endpoint's ([scim.Server.Replay]), which admin does not import.
type Replayer interface {
	// Replay runs lr as connector c with today's data and rules, writing
	// nothing, and returns the status it would get and its plans.
	Replay(ctx context.Context, c store.Principal, lr store.LoggedRequest) (reconcile.Replayed, error)
}

// Paging of GET …/requests.
const (
	defaultRequests = 50
	maxRequests     = 500
)

// requestRoutes serves a connector's request log and its replays:
//
//	GET  /admin/v1/{tenant}/connectors/{connector}/requests?limit=N&before=ID   newest first
//	GET  /admin/v1/{tenant}/connectors/{connector}/requests/{id}
//	POST /admin/v1/{tenant}/connectors/{connector}/requests/{id}/replay      what it would do now
func (a *api) requestRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}/requests", a.auth(tenantWide(a.requests)))
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}/requests/{id}", a.auth(tenantWide(a.request)))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/requests/{id}/replay", a.auth(tenantWide(a.replay)))
}

// loggedRequest is a logged request as the admin API shows it: its plans
// as JSON, not a string.
type loggedRequest struct {
	store.LoggedRequest
	Plans json.RawMessage `json:"plans,omitempty"`
	// Previewable: POST /config/preview can preview the request under
	// edited rules (a POST or PUT of a User, or a PATCH of one), its body
	// whole.
	Previewable bool `json:"previewable,omitempty"`
}

func viewRequest(lr store.LoggedRequest) loggedRequest {
	v := loggedRequest{LoggedRequest: lr, Previewable: !lr.Truncated && (wholeUser(lr) || userPatch(lr))}
	if lr.Plans != "" {
		v.Plans = json.RawMessage(lr.Plans)
	}
	return v
}

// requests lists a connector's logged requests, newest first; next is
// the before= of the following page, absent on the last.
func (a *api) requests(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector"))
	if err != nil {
		return err
	}
	limit, before := defaultRequests, int64(0)
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return &Error{http.StatusBadRequest, "limit must be a positive number of requests"}
		}
		limit = min(limit, maxRequests)
	}
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return &Error{http.StatusBadRequest, "before must be the id of a logged request, the next of the page before"}
		}
	}
	rs, err := a.db.Requests(r.Context(), p.TenantID, c.ConnectorID, before, limit+1)
	if err != nil {
		return err
	}
	out := struct {
		Requests []loggedRequest `json:"requests"`
		Next     string          `json:"next,omitempty"`
	}{Requests: []loggedRequest{}}
	if len(rs) > limit {
		rs = rs[:limit]
		out.Next = strconv.FormatInt(rs[limit-1].ID, 10)
	}
	for _, lr := range rs {
		out.Requests = append(out.Requests, viewRequest(lr))
	}
	return writeJSON(w, out)
}

// loggedOne is the request the route names, of the connector it names.
func (a *api) loggedOne(r *http.Request, p store.Principal) (store.Principal, store.LoggedRequest, error) {
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector"))
	if err != nil {
		return c, store.LoggedRequest{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return c, store.LoggedRequest{}, store.ErrNotFound
	}
	lr, err := a.db.Request(r.Context(), p.TenantID, c.ConnectorID, id)
	return c, lr, err
}

func (a *api) request(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	_, lr, err := a.loggedOne(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, viewRequest(lr))
}

// replay answers what a logged request would do now: it runs again as its
// connector, with today's data and rules, and writes nothing.
func (a *api) replay(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if a.replayer == nil {
		return &Error{http.StatusNotImplemented, "this server cannot replay requests"}
	}
	c, lr, err := a.loggedOne(r, p)
	if err != nil {
		return err
	}
	got, err := a.replayer.Replay(r.Context(), c, lr)
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		Request int64 `json:"request"`
		reconcile.Replayed
	}{lr.ID, got})
}
