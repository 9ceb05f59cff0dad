package admin

import (
	"cmp"
	"context"
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

// Config tunes the admin API. The zero value is a safe default.
type Config struct {
	// MaxBodyBytes bounds a request body; larger ones get 413. 0 means 1 MiB.
	MaxBodyBytes int64
	// Logger receives errors with their IDs; nil discards them.
	Logger *slog.Logger
	// Outage is shared with the process's other servers, so that a
	// database outage is logged once; nil: one of the API's own.
	Outage *store.Outage
	// Importer runs the import jobs (POST /imports); nil answers 501.
	Importer Importer
	// MaxImportBytes bounds an import's CSV file; larger ones get 413.
	// 0 means DefaultMaxImportBytes.
	MaxImportBytes int64
	// ImportStale is how long an unfinished import job's row may go
	// without news (its runner writes it every second) before the job is
	// shown failed: its process stopped. 0 means 30 s.
	ImportStale time.Duration
	// ImportKeep is how long the file of a dry run that found no problem
	// is held, on this process's disk, for POST /imports/{id}/load.
	// 0 means DefaultImportKeep (an hour).
	ImportKeep time.Duration
	// MaxHeldImports bounds how many such files are held at once, the
	// oldest dropped first: at most this many times MaxImportBytes of
	// disk. 0 means DefaultMaxHeldImports (8); negative holds none.
	MaxHeldImports int
	// Exporter writes the CSV files of GET /admin/v1/{tenant}/export;
	// nil: the endpoint answers 501.
	Exporter Exporter
	// Replayer replays logged SCIM requests (POST …/requests/{id}/replay);
	// nil: the endpoint answers 501.
	Replayer Replayer
}

// NewHandler returns the admin API, to be mounted at /admin/v1/. It reads
// through db; every change goes through engine, which audits it.
func NewHandler(cfg Config, db store.Reader, engine *reconcile.Engine) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Outage == nil {
		cfg.Outage = store.NewOutage(log)
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = DefaultMaxImportBytes
	}
	if cfg.ImportStale <= 0 {
		cfg.ImportStale = DefaultImportStale
	}
	if cfg.ImportKeep <= 0 {
		cfg.ImportKeep = DefaultImportKeep
	}
	if cfg.MaxHeldImports == 0 {
		cfg.MaxHeldImports = DefaultMaxHeldImports
	}
	a := &api{db: db, engine: engine, log: log, maxBody: cfg.MaxBodyBytes, outage: cfg.Outage, exporter: cfg.Exporter,
		importer: cfg.Importer, maxImport: cfg.MaxImportBytes, importStale: cfg.ImportStale, imports: &importJobs{live: map[string]*liveJob{}, held: map[string]*heldFile{}, keep: cfg.ImportKeep, maxHeld: max(cfg.MaxHeldImports, 0)},
		replayer:  cfg.Replayer,
		reapplies: &reapplyRuns{ids: map[string]bool{}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/{tenant}/users", a.auth(a.users))
	mux.HandleFunc("GET /admin/v1/{tenant}/users/{id}", a.auth(a.user))
	mux.HandleFunc("GET /admin/v1/{tenant}/users/{id}/events", a.auth(a.events))
	mux.HandleFunc("POST /admin/v1/{tenant}/users/{id}/erase", a.auth(a.erase))
	mux.HandleFunc("GET /admin/v1/{tenant}/users/{id}/sessions", a.auth(a.sessions))
	mux.HandleFunc("DELETE /admin/v1/{tenant}/users/{id}/sessions", a.auth(a.endSessions))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/preview", a.auth(tenantWide(a.preview)))
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}", a.auth(tenantWide(a.connector)))
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}/shadow", a.auth(tenantWide(a.shadow)))
	mux.HandleFunc("GET /admin/v1/{tenant}/connectors/{connector}/held", a.auth(tenantWide(a.held)))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/held/approve", a.auth(tenantWide(a.decideHeld(true))))
	mux.HandleFunc("POST /admin/v1/{tenant}/connectors/{connector}/held/reject", a.auth(tenantWide(a.decideHeld(false))))
	mux.HandleFunc("GET /admin/v1/{tenant}/config", a.auth(tenantWide(a.getConfig)))
	mux.HandleFunc("PUT /admin/v1/{tenant}/config", a.auth(tenantWide(a.putConfig)))
	mux.HandleFunc("POST /admin/v1/{tenant}/config/impact", a.auth(tenantWide(a.impact)))
	mux.HandleFunc("POST /admin/v1/{tenant}/reapply", a.auth(tenantWide(a.postReapply)))
	mux.HandleFunc("GET /admin/v1/{tenant}/reapply/{id}", a.auth(tenantWide(a.reapplyJob)))
	mux.HandleFunc("POST /admin/v1/{tenant}/orgunits", a.auth(a.createOrgUnit))
	mux.HandleFunc("POST /admin/v1/{tenant}/groups", a.auth(tenantWide(a.createGroup)))
	mux.HandleFunc("POST /admin/v1/{tenant}/imports", a.auth(tenantWide(a.postImport)))
	mux.HandleFunc("GET /admin/v1/{tenant}/imports", a.auth(tenantWide(a.importJobs)))
	mux.HandleFunc("GET /admin/v1/{tenant}/imports/{id}", a.auth(tenantWide(a.importJob)))
	mux.HandleFunc("POST /admin/v1/{tenant}/imports/{id}/load", a.auth(tenantWide(a.loadImport)))
	mux.HandleFunc("GET /admin/v1/{tenant}/export", a.auth(a.export))
	a.lifecycleRoutes(mux)
	a.addRoutes(mux)
	a.groupRoutes(mux)
	a.requestRoutes(mux)
	a.connectorRoutes(mux)
	a.draftRoutes(mux)
	mux.HandleFunc("GET /admin/v1/{tenant}/audit", a.auth(a.audit))
	mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{http.StatusNotFound, "no such admin endpoint; see the package doc of scimd/admin"})
	})
	return mux
}

type api struct {
	db      store.Reader
	engine  *reconcile.Engine
	log     *slog.Logger
	maxBody int64
	outage  *store.Outage
	// importer, maxImport, importStale and imports run the import jobs.
	importer    Importer
	maxImport   int64
	importStale time.Duration
	imports     *importJobs
	exporter    Exporter
	replayer    Replayer
	reapplies   *reapplyRuns
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
//
// A request whose context carries a principal ([WithPrincipal]) acts as
// it, without a token: the admin console's, in process.
func (a *api) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := a.principal(r)
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying an admin connector's principal, who
// a request with that context acts as in the admin API, as if it carried
// one of the connector's tokens. Only code in the process can set it (no
// request from the network carries a Go context value): cmd/scimd hands
// it to the admin console, which calls the API in process for its
// signed-in administrator, so that the console has no business logic of
// its own.
func WithPrincipal(ctx context.Context, p store.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principal is who r acts as: its context's principal, or its bearer
// token's.
func (a *api) principal(r *http.Request) (store.Principal, error) {
	tenant := r.PathValue("tenant")
	p, ok := r.Context().Value(principalKey{}).(store.Principal)
	if !ok {
		return a.engine.Authenticate(r.Context(), r.Header.Get("Authorization"), tenant, store.KindAdmin)
	}
	if p.Kind != store.KindAdmin || p.TenantName != tenant {
		return store.Principal{}, &reconcile.AuthError{Msg: "the signed-in administrator is not one of this tenant's"}
	}
	return p, nil
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
		ae      *Error
		auth    *reconcile.AuthError
		denied  *reconcile.ForbiddenError
		ie      *reconcile.InputError
		se      *reconcile.StateError
		ve      *reconcile.VersionError
		me      *reconcile.MatchError
		ce      *store.ConflictError
		le      *store.LimitError
		invalid *rules.Error
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &auth):
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd admin"`)
		ae = &Error{http.StatusUnauthorized, auth.Msg}
	case errors.As(err, &denied):
		ae = &Error{http.StatusForbidden, denied.Msg}
	case errors.As(err, &invalid):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": "400",
			"detail": fmt.Sprintf("the configuration has %d problem(s); nothing was saved", len(invalid.Problems)), "problems": invalid.Problems})
		return
	case errors.Is(err, store.ErrUnavailable):
		a.outage.Begin(r.Context(), err)
		w.Header().Set("Retry-After", store.RetryAfter)
		ae = &Error{http.StatusServiceUnavailable, "the database is unavailable; retry after the seconds in Retry-After"}
	case errors.Is(err, store.ErrNotFound):
		ae = &Error{http.StatusNotFound, "no such resource in this tenant"}
	case errors.As(err, &ie):
		ae = &Error{http.StatusBadRequest, ie.Msg}
	case errors.As(err, &se):
		ae = &Error{http.StatusConflict, se.Msg}
	case errors.As(err, &ve):
		w.Header().Set("ETag", configETag(ve.Stored))
		ae = &Error{http.StatusPreconditionFailed, ve.Error()}
	case errors.As(err, &me):
		ae = &Error{http.StatusConflict, me.Msg}
	case errors.As(err, &ce):
		ae = &Error{http.StatusConflict, ce.Error() + " in this tenant"}
	case errors.As(err, &le):
		ae = &Error{http.StatusConflict, le.What}
	default:
		id := reconcile.ErrorID()
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

func writeJSON(w http.ResponseWriter, v any) error { return writeStatus(w, http.StatusOK, v) }

func writeStatus(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
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
		Local       bool                  `json:"local,omitempty"`
	}{ID: u.ID, UserName: u.UserName, Status: u.Status, Local: u.Local, Attributes: u.Attrs, Grants: []grant{}, SetBy: map[string]provenance{}}
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
// everything below it), limit (default 100, at most 1000) at a time; the
// answer's "next" (a string, absent on the last page) is the after= of
// the next page. Without q= in creation order (next is the last user's
// pk); q= finds users whose userName, displayName or an email starts with
// it (any case): those by userName first, in its order, then by
// displayName, then by email (see store.SearchUsers). status=
// (repeatable: active, disabled, pending, deleted) picks states, the live
// ones by default; orgUnit= narrows to a unit within the administrator's;
// connector= to the users that connector manages, its source (user_links:
// the connector created, matched or imported them; a user several
// connectors manage is each one's). Every page reads an index range from
// its cursor on.
func (a *api) users(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	query := r.URL.Query()
	limit := pageLimit(r)
	s := store.UserSearch{TenantID: p.TenantID, OrgUnit: p.OrgUnit, Q: query.Get("q"), After: query.Get("after"), Limit: limit}
	for _, st := range query["status"] {
		for st := range strings.SplitSeq(st, ",") {
			switch st = strings.TrimSpace(st); st {
			case store.StatusActive, store.StatusDisabled, store.StatusPending, store.StatusDeleted:
				s.Statuses = append(s.Statuses, st)
			default:
				return &Error{http.StatusBadRequest, fmt.Sprintf("status %q: use active, disabled, pending or deleted (repeat status= for several)", st)}
			}
		}
	}
	if unit := query.Get("orgUnit"); unit != "" {
		if f, own := store.Fold(unit), store.Fold(p.OrgUnit); own != "" && f != own && !strings.HasPrefix(f, own+"/") {
			return &Error{http.StatusForbidden, fmt.Sprintf("administrators of org unit %s list the users of it and the units below it only", p.OrgUnit)}
		}
		s.OrgUnit = unit
	}
	if name := query.Get("connector"); name != "" {
		c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, name)
		if errors.Is(err, store.ErrNotFound) {
			return &Error{http.StatusBadRequest, fmt.Sprintf("connector %q: this tenant has no connector of that name", name)}
		}
		if err != nil {
			return err
		}
		s.LinkedTo = c.ConnectorID
	}
	us, next, err := a.db.SearchUsers(r.Context(), s)
	if errors.Is(err, store.ErrBadCursor) {
		return &Error{http.StatusBadRequest, "after: not the next of a page of this search; start from the first page"}
	}
	if err != nil {
		return err
	}
	type row struct {
		ID          string `json:"id"`
		UserName    string `json:"userName"`
		DisplayName string `json:"displayName,omitempty"`
		Status      string `json:"status"`
	}
	out := struct {
		Users []row  `json:"users"`
		Next  string `json:"next,omitempty"`
	}{Users: []row{}, Next: next}
	for _, u := range us {
		status := u.Status
		if !u.DeletedAt.IsZero() {
			status = store.StatusDeleted
		}
		out.Users = append(out.Users, row{u.ID, u.UserName, u.DisplayName, status})
	}
	return writeJSON(w, out)
}

func (a *api) preview(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	c, err := a.db.ConnectorPrincipal(r.Context(), p.TenantName, r.PathValue("connector"))
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := a.readJSON(w, r, &doc, "a SCIM User"); err != nil {
		return err
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
		Source: reconcile.SourceSCIM, Principal: c,
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
	w.Header().Set("ETag", configETag(version))
	return writeJSON(w, configuration{Version: version, YAML: text, Connectors: connectorNames(p.TenantName, text)})
}

// configETag is the entity tag of configuration version v: PUT /config
// with If-Match: it saves only over that version.
func configETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatchVersion is the configuration version r's If-Match names
// ("N", W/"N", or "0" for none saved yet), or reconcile.AnyVersion
// without one or with *.
func ifMatchVersion(r *http.Request) (int64, error) {
	tag := strings.TrimSpace(r.Header.Get("If-Match"))
	if tag == "" || tag == "*" {
		return reconcile.AnyVersion, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(tag, "W/"), `"`), 10, 64)
	if err != nil || v < 0 {
		return 0, &Error{http.StatusBadRequest, fmt.Sprintf(`If-Match %s: name the version the edit started from, as GET /config's ETag does ("3"; "0" when none was saved)`, tag)}
	}
	return v, nil
}

// putConfig checks a tenant's connector configuration and saves it: from
// the next write on, every replica maps through it, and the answer says
// what it changes for the existing users (POST /reapply applies it). A
// configuration with problems is refused whole (400), listing each with
// its line. With If-Match naming the version the edit started from, a
// save over a version saved since is refused (412), nothing saved.
func (a *api) putConfig(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	from, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	raw, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	version, err := a.engine.SaveConfig(r.Context(), p, string(raw), from)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", configETag(version))
	doc := savedImpact{configuration: configuration{Version: version, Connectors: connectorNames(p.TenantName, string(raw))}}
	// What is stored is as the configuration before made it: the impact
	// is what POST /reapply will change.
	if doc.Impact, err = a.engine.Impact(r.Context(), p, string(raw), nil); err != nil {
		return err
	}
	return writeJSON(w, doc)
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

// readBody reads a request's body, up to the server's limit (413 past it).
func (a *api) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &Error{http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"the request body is larger than the %d bytes this server accepts (serve --max-body-bytes)", tooLarge.Limit)}
	}
	if err != nil {
		return nil, &Error{http.StatusBadRequest, "could not read the request body"}
	}
	return raw, nil
}

// readJSON reads a request's body, a JSON object described by what, into v.
func (a *api) readJSON(w http.ResponseWriter, r *http.Request, v any, what string) error {
	raw, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	err = json.Unmarshal(raw, v)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return &Error{http.StatusBadRequest, fmt.Sprintf("the body is not JSON (%s): %v at byte %d", what, syntax, syntax.Offset)}
	case err != nil: // the message of any other error names Go types
		return &Error{http.StatusBadRequest, fmt.Sprintf("the body is not a JSON object of the expected shape: %s", what)}
	}
	return nil
}

// createOrgUnit creates an org unit, and any missing unit above it, so that
// rules may grant it: {"path": "Medicine/Cardiology"}. An org unit's
// administrator creates units below their own only.
func (a *api) createOrgUnit(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var body struct{ Path string }
	if err := a.readJSON(w, r, &body, `{"path": "Medicine/Cardiology"}`); err != nil {
		return err
	}
	u, err := a.engine.CreateOrgUnit(r.Context(), p, body.Path)
	if err != nil {
		return err
	}
	return writeStatus(w, http.StatusCreated, map[string]any{"path": u.Path, "createdAt": u.CreatedAt})
}

// createGroup creates an empty group, so that rules may grant it:
// {"displayName": "Faculty"}. Groups belong to the whole tenant.
func (a *api) createGroup(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var body struct{ DisplayName string }
	if err := a.readJSON(w, r, &body, `{"displayName": "Faculty"}`); err != nil {
		return err
	}
	g, err := a.engine.CreateGroup(r.Context(), p, body.DisplayName)
	if err != nil {
		return err
	}
	return writeStatus(w, http.StatusCreated, map[string]any{"id": g.ID, "displayName": g.DisplayName, "createdAt": g.CreatedAt})
}
