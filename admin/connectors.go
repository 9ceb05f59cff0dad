package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/scimd/scimd/store"
)

// StatsWindow is how far back a connector's error counts look.
const StatsWindow = 24 * time.Hour

// connectorRoutes serves the tenant's connectors and their tokens, for
// tenant-wide administrators only:
//
//	GET    /admin/v1/{tenant}/connectors
//	GET    /admin/v1/{tenant}/connectors/{connector}/tokens
//	POST   /admin/v1/{tenant}/connectors/{connector}/tokens              201, the secret once
//	POST   /admin/v1/{tenant}/connectors/{connector}/tokens/{id}/rotate  201, the new secret once
//	DELETE /admin/v1/{tenant}/connectors/{connector}/tokens/{id}
func (a *api) connectorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors", a.auth(tenantWide(a.connectors)))
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}/tokens", a.auth(tenantWide(a.tokens)))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/tokens", a.auth(tenantWide(a.createToken)))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/tokens/{id}/rotate", a.auth(tenantWide(a.rotateToken)))
	mux.HandleFunc("DELETE /admin/v1/{tenant}/connectors/{connector}/tokens/{id}", a.auth(tenantWide(a.revokeToken)))
}

// connectorDoc is a connector as GET …/connectors lists it.
type connectorDoc struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Admin   bool   `json:"admin"`
	OrgUnit string `json:"orgUnit,omitempty"`
	Mode    string `json:"mode"`
	Profile string `json:"profile"`
	// LiveTokens counts the unrevoked tokens; LastUsedAt is the latest
	// use of any (SCIM requests only, to the minute).
	LiveTokens int        `json:"liveTokens"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	// LastRequest is the latest request of the request log; absent with
	// none logged (or the log off: serve --request-log-rows 0).
	LastRequest *lastRequest `json:"lastRequest,omitempty"`
	// Window counts the logged requests of the last StatsWindow.
	Window requestCounts `json:"last24h"`
}

type lastRequest struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
}

type requestCounts struct {
	Requests     int64 `json:"requests"`
	ClientErrors int64 `json:"clientErrors"`
	ServerErrors int64 `json:"serverErrors"`
}

// connectors is GET /admin/v1/{tenant}/connectors: every connector of the
// tenant, by creation, with its tokens' count and last use and what its
// request log says of the last 24 hours. The figures come from what is
// written anyway: the request log (kept per connector by count and age)
// and token_usage (written by the log's writer).
func (a *api) connectors(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	ctx := r.Context()
	cs, err := a.db.Connectors(ctx, p.TenantID)
	if err != nil {
		return err
	}
	tokens, err := a.db.Tokens(ctx, p.TenantName)
	if err != nil {
		return err
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	stats, err := a.db.ConnectorRequestStats(ctx, p.TenantID, ids, a.engine.Now().Add(-StatsWindow))
	if err != nil {
		return err
	}
	out := struct {
		Connectors []connectorDoc `json:"connectors"`
		// Window is the counts' StatsWindow: "24h".
		Window string `json:"window"`
	}{Connectors: make([]connectorDoc, len(cs)), Window: strconv.Itoa(int(StatsWindow.Hours())) + "h"}
	for i, c := range cs {
		d := connectorDoc{Name: c.Name, Kind: c.Kind, Admin: c.Kind == store.KindAdmin, OrgUnit: c.OrgUnit, Mode: c.Mode,
			Profile: c.Profile, CreatedAt: c.CreatedAt}
		for _, t := range tokens {
			if t.ConnectorID != c.ID || t.RevokedAt != nil {
				continue
			}
			d.LiveTokens++
			if t.LastUsedAt != nil && (d.LastUsedAt == nil || t.LastUsedAt.After(*d.LastUsedAt)) {
				d.LastUsedAt = t.LastUsedAt
			}
		}
		s := stats[i]
		if s.Last != nil {
			d.LastRequest = &lastRequest{s.Last.ID, s.Last.At, s.Last.Method, s.Last.Path, s.Last.Status}
		}
		d.Window = requestCounts{s.Requests, s.ClientErrors, s.ServerErrors}
		out.Connectors[i] = d
	}
	return writeJSON(w, out)
}

// tokenDoc is a token as the admin API shows it: never its secret nor
// its hash. Secret is set once, in the answer of the request that made
// the token.
type tokenDoc struct {
	ID         int64      `json:"id"`
	Hint       string     `json:"hint"`
	Live       bool       `json:"live"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	Secret     string     `json:"secret,omitempty"`
	// Revoked is the token a rotation revoked.
	Revoked int64 `json:"revoked,omitempty"`
}

func viewToken(t store.TokenInfo) tokenDoc {
	return tokenDoc{ID: t.ID, Hint: t.Hint, Live: t.RevokedAt == nil, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt}
}

// tokens is GET …/connectors/{connector}/tokens: the connector's tokens,
// newest first, revoked ones included.
func (a *api) tokens(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector"))
	if err != nil {
		return err
	}
	ts, err := a.db.ConnectorTokens(r.Context(), c.ConnectorID)
	if err != nil {
		return err
	}
	out := struct {
		Tokens []tokenDoc `json:"tokens"`
		Max    int        `json:"maxLive"`
	}{Tokens: make([]tokenDoc, len(ts)), Max: store.MaxActiveTokens}
	for i, t := range ts {
		out.Tokens[i] = viewToken(t)
	}
	return writeJSON(w, out)
}

// createToken is POST …/connectors/{connector}/tokens: a new token of an
// existing connector (scimd token create makes connectors, the API does
// not), its secret in this answer only. A connector with
// [store.MaxActiveTokens] live ones gets 409.
func (a *api) createToken(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if _, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector")); err != nil {
		return err
	}
	t, err := a.engine.IssueToken(r.Context(), p, p.TenantName, r.PathValue("connector"))
	if err != nil {
		return err
	}
	d := viewToken(t.TokenInfo)
	d.Secret = t.Secret
	w.Header().Set("Cache-Control", "no-store")
	return writeStatus(w, http.StatusCreated, d)
}

// connectorToken is the token the route names, if it is the connector's.
func (a *api) connectorToken(r *http.Request, p store.Principal) (store.TokenInfo, error) {
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector"))
	if err != nil {
		return store.TokenInfo{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return store.TokenInfo{}, store.ErrNotFound
	}
	t, err := a.db.TokenInfo(r.Context(), id)
	if err != nil {
		return t, err
	}
	if t.ConnectorID != c.ConnectorID {
		return store.TokenInfo{}, store.ErrNotFound
	}
	return t, nil
}

// rotateToken is POST …/tokens/{id}/rotate: a new token in the place of
// a live one, revoked in the same transaction, with no grace
// ([reconcile.Engine.RotateToken]); the new secret in this answer only.
func (a *api) rotateToken(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	old, err := a.connectorToken(r, p)
	if err != nil {
		return err
	}
	t, err := a.engine.RotateToken(r.Context(), p, old.ID)
	if err != nil {
		return err
	}
	d := viewToken(t.TokenInfo)
	d.Secret, d.Revoked = t.Secret, old.ID
	w.Header().Set("Cache-Control", "no-store")
	return writeStatus(w, http.StatusCreated, d)
}

// revokeToken is DELETE …/tokens/{id}: the token revoked (again: no
// error), as it is now.
func (a *api) revokeToken(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	old, err := a.connectorToken(r, p)
	if err != nil {
		return err
	}
	if _, err := a.engine.RevokeToken(r.Context(), p, old.ID); err != nil {
		return err
	}
	t, err := a.db.TokenInfo(r.Context(), old.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, viewToken(t))
}
