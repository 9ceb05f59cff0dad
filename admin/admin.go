package admin

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// maxBody bounds a preview's payload.
const maxBody = 1 << 20

// NewHandler returns the admin API, to be mounted at /admin/v1/.
func NewHandler(db *store.DB, engine *reconcile.Engine, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{db: db, engine: engine, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/{tenant}/users", a.auth(a.users))
	mux.HandleFunc("GET /admin/v1/{tenant}/users/{id}", a.auth(a.user))
	mux.HandleFunc("GET /admin/v1/{tenant}/users/{id}/events", a.auth(a.events))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/preview", a.auth(tenantWide(a.preview)))
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}", a.auth(tenantWide(a.connector)))
	mux.HandleFunc("GET /admin/v1/{tenant}/config", a.auth(tenantWide(a.getConfig)))
	mux.HandleFunc("PUT /admin/v1/{tenant}/config", a.auth(tenantWide(a.putConfig)))
	mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{http.StatusNotFound, "no such admin endpoint; see the package doc of scimd/admin"})
	})
	return mux
}

type api struct {
	db     *store.DB
	engine *reconcile.Engine
	log    *slog.Logger
}

// Error is an admin API error: its status and a detail meant for a person.
type Error struct {
	Status int
	Detail string
}

func (e *Error) Error() string { return e.Detail }

type handler func(w http.ResponseWriter, r *http.Request, tenant store.Principal) error

// auth checks the bearer token against the tenant's admin connector and
// turns a handler's error into its JSON answer.
func (a *api) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		hash := sha256.Sum256([]byte(strings.TrimSpace(token)))
		p, stored, err := a.db.Principal(r.Context(), hash[:])
		if !strings.EqualFold(scheme, "Bearer") || err != nil || subtle.ConstantTimeCompare(stored.Hash, hash[:]) != 1 ||
			p.Kind != store.KindAdmin || p.TenantName != r.PathValue("tenant") {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				a.fail(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimd admin"`)
			writeError(w, &Error{http.StatusUnauthorized, "send a token of one of this tenant's admin connectors: scimd token create --tenant T --connector admins --admin"})
			return
		}
		if err := h(w, r, p); err != nil {
			a.fail(w, r, err)
		}
	}
}

// tenantWide refuses administrators scoped to an org unit: configuring
// connectors and previewing their pushes concern the whole tenant.
func tenantWide(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p store.Principal) error {
		if p.OrgUnit != "" {
			return &Error{http.StatusForbidden, fmt.Sprintf("administrators of org unit %s cannot do this; it takes a tenant-wide admin connector", p.OrgUnit)}
		}
		return h(w, r, p)
	}
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *Error
		ie *reconcile.InputError
		me *reconcile.MatchError
		ce *store.ConflictError
	)
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = &Error{http.StatusNotFound, "no such resource in this tenant"}
	case errors.As(err, &ie):
		ae = &Error{http.StatusBadRequest, ie.Msg}
	case errors.As(err, &me):
		ae = &Error{http.StatusConflict, me.Msg}
	case errors.As(err, &ce):
		ae = &Error{http.StatusConflict, ce.Error()}
	default:
		id := strconv.FormatInt(time.Now().UnixNano(), 36)
		a.log.ErrorContext(r.Context(), "admin api", "error_id", id, "err", err)
		ae = &Error{http.StatusInternalServerError, "internal error; the server log has it under error_id " + id}
	}
	writeError(w, ae)
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]string{"status": strconv.Itoa(e.Status), "detail": e.Detail})
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// grant is a grant as the admin API shows it.
type grant struct {
	Kind      string    `json:"kind"`
	Target    string    `json:"target"`
	Source    string    `json:"source"`
	Connector string    `json:"connector,omitempty"`
	Rule      string    `json:"rule,omitempty"`
	GrantedAt time.Time `json:"grantedAt"`
}

// provenance is who set a mapped attribute.
type provenance struct {
	Source    string    `json:"source"`
	Connector string    `json:"connector,omitempty"`
	Rule      string    `json:"rule,omitempty"`
	SetAt     time.Time `json:"setAt"`
}

// visibleUser returns the user the request names, if the administrator may
// see it: outside their unit, a user does not exist.
func (a *api) visibleUser(r *http.Request, p store.Principal) (store.User, error) {
	u, err := a.db.User(r.Context(), p.TenantID, 0, r.PathValue("id"))
	if err != nil || p.OrgUnit == "" {
		return u, err
	}
	if in, err := a.db.UserInOrgUnit(r.Context(), u.PK, p.OrgUnit); err != nil || !in {
		return store.User{}, cmp.Or(err, store.ErrNotFound)
	}
	return u, nil
}

// events lists the audit events of a user, oldest first: every change,
// with its source, connector, the rules that fired and the attributes'
// before and after.
func (a *api) events(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.visibleUser(r, p)
	if err != nil {
		return err
	}
	evs, err := a.db.AuditEvents(r.Context(), p.TenantID, u.ID)
	if err != nil {
		return err
	}
	names, err := a.db.ConnectorNames(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	type event struct {
		At        time.Time      `json:"at"`
		Source    string         `json:"source"`
		Connector string         `json:"connector,omitempty"`
		Action    string         `json:"action"`
		Detail    map[string]any `json:"detail"`
	}
	out := make([]event, len(evs))
	for i, e := range evs {
		out[i] = event{e.At, e.Source, names[e.ConnectorID], e.Action, e.Detail}
	}
	return writeJSON(w, map[string]any{"events": out})
}

func (a *api) user(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	ctx := r.Context()
	u, err := a.visibleUser(r, p)
	if err != nil {
		return err
	}
	names, err := a.db.ConnectorNames(ctx, p.TenantID)
	if err != nil {
		return err
	}
	gs, err := a.db.UserGrants(ctx, u.PK)
	if err != nil {
		return err
	}
	sources, err := a.db.AttributeSources(ctx, u.PK)
	if err != nil {
		return err
	}
	out := struct {
		ID          string                `json:"id"`
		UserName    string                `json:"userName"`
		Status      string                `json:"status"`
		AccessStart *time.Time            `json:"accessStart,omitempty"`
		AccessEnd   *time.Time            `json:"accessEnd,omitempty"`
		Attributes  map[string]any        `json:"attributes"`
		Grants      []grant               `json:"grants"`
		SetBy       map[string]provenance `json:"setBy"`
	}{ID: u.ID, UserName: u.UserName, Status: u.Status, Attributes: u.Attrs, Grants: []grant{}, SetBy: map[string]provenance{}}
	if !u.AccessStart.IsZero() {
		out.AccessStart = &u.AccessStart
	}
	if !u.AccessEnd.IsZero() {
		out.AccessEnd = &u.AccessEnd
	}
	for _, g := range gs {
		out.Grants = append(out.Grants, grant{g.Kind, g.Target, g.Source, names[g.ConnectorID], g.Rule, g.GrantedAt})
	}
	for k, s := range sources {
		out.SetBy[k] = provenance{s.Source, names[s.ConnectorID], s.Rule, s.SetAt}
	}
	return writeJSON(w, out)
}

// users lists the tenant's users an administrator may see (their unit and
// everything below it), limit (default 100, at most 1000) at a time after
// the user with pk after; the answer's "next" is the after of the next page.
func (a *api) users(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	us, err := a.db.UsersInOrgUnit(r.Context(), p.TenantID, p.OrgUnit, after, limit)
	if err != nil {
		return err
	}
	type row struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
		Status   string `json:"status"`
	}
	out := struct {
		Users []row  `json:"users"`
		Next  *int64 `json:"next,omitempty"`
	}{Users: []row{}}
	for _, u := range us {
		out.Users = append(out.Users, row{u.ID, u.UserName, u.Status})
	}
	if len(us) == limit {
		out.Next = &us[len(us)-1].PK
	}
	return writeJSON(w, out)
}

func (a *api) preview(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector"))
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return &Error{http.StatusRequestEntityTooLarge, fmt.Sprintf("the payload is larger than %d bytes", maxBody)}
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return &Error{http.StatusBadRequest, "the payload is not a JSON object (a SCIM User): " + err.Error()}
	}
	plan, err := a.engine.Plan(r.Context(), PreviewInput(c, doc))
	if err != nil {
		return err
	}
	return writeJSON(w, plan.Summary())
}

// PreviewInput is the reconcile input of a SCIM User payload that
// connector c would push: an upsert, matched as the connector matches.
func PreviewInput(c store.Principal, doc map[string]any) reconcile.Input {
	externalID, _ := doc["externalId"].(string)
	attrs := make(map[string]any, len(doc))
	for k, v := range doc {
		switch k {
		case "schemas", "id", "meta", "externalId", "password", "groups":
		default:
			attrs[k] = v
		}
	}
	return reconcile.Input{
		Source: reconcile.SourceSCIM, TenantID: c.TenantID, ConnectorID: c.ConnectorID,
		Tenant: c.TenantName, Connector: c.ConnectorName,
		Kind: reconcile.KindUser, Op: reconcile.Upsert, Attrs: attrs, ExternalID: externalID,
	}
}

func (a *api) connector(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if _, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector")); err != nil {
		return err
	}
	c, err := a.engine.Connector(r.Context(), p.TenantID, p.TenantName, r.PathValue("connector"))
	if err != nil {
		return err
	}
	return writeJSON(w, c)
}

// configuration is a tenant's connector configuration as the admin API
// shows it: saved through the API (Version > 0, YAML given), or not.
type configuration struct {
	Version    int64    `json:"version"`
	YAML       string   `json:"yaml,omitempty"`
	Connectors []string `json:"connectors,omitempty"`
}

func (a *api) getConfig(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	text, version, err := a.db.TenantConfig(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	if version == 0 {
		return &Error{http.StatusNotFound, "no configuration was saved for this tenant through the admin API: serve's --config file, or the defaults, configure it"}
	}
	return writeJSON(w, configuration{Version: version, YAML: text, Connectors: connectorNames(p.TenantName, text)})
}

// putConfig checks a tenant's connector configuration and saves it: from
// the next write on, every replica maps through it. A configuration with
// problems is refused whole (400), listing each with its line.
func (a *api) putConfig(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return &Error{http.StatusRequestEntityTooLarge, fmt.Sprintf("the configuration is larger than %d bytes", maxBody)}
	}
	if _, err := reconcile.ParseTenantConfig(p.TenantName, string(raw)); err != nil {
		var invalid *rules.Error
		if errors.As(err, &invalid) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			return json.NewEncoder(w).Encode(map[string]any{"status": "400",
				"detail": fmt.Sprintf("the configuration has %d problem(s); nothing was saved", len(invalid.Problems)), "problems": invalid.Problems})
		}
		return err
	}
	version, err := a.db.SetTenantConfig(r.Context(), p.TenantID, string(raw))
	if err != nil {
		return err
	}
	return writeJSON(w, configuration{Version: version, Connectors: connectorNames(p.TenantName, string(raw))})
}

func connectorNames(tenant, text string) []string {
	cfg, err := reconcile.ParseTenantConfig(tenant, text)
	if err != nil {
		return nil
	}
	var names []string
	for _, t := range cfg.Tenants {
		for _, c := range t.Connectors {
			names = append(names, c.Name)
		}
	}
	return names
}
