package scim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	scimlib "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/dialect"
	"github.com/scimd/scimd/scim/patch"
	"github.com/scimd/scimd/store"
)

const contentType = "application/scim+json"

// Config tunes the SCIM endpoint. The zero value is a safe default.
type Config struct {
	// BaseURL is the public URL of scimd, such as https://scim.example.com,
	// used for meta.location and Location. "" derives it from each
	// request's Host header.
	BaseURL string
	// MaxBodyBytes bounds a request body; larger ones get 413. 0 means 1 MiB.
	MaxBodyBytes int64
	// MaxResults is the largest page served (filter.maxResults); a larger
	// count is clamped to it. 0 means 200.
	MaxResults int
	// Logger receives errors with their IDs; nil discards them.
	Logger *slog.Logger
	// Outage is shared with the process's other servers (/readyz, the
	// admin API), so that a database outage is logged once; nil: one of
	// the endpoint's own, logging to Logger.
	Outage *store.Outage
	// Session finds the person signed in on a request to
	// /scim/v2/{tenant}/Me (RFC 7644 §3.11), from their session cookie:
	// jit's resolver, wired in by cmd/scimd, as scim and jit do not import
	// each other. nil: /Me answers 501.
	Session func(r *http.Request, tenant string) (reconcile.LiveSession, error)
	// RequestLog keeps each authenticated request of a connector, with
	// the plans it produced (requestlog.go); nil keeps none.
	RequestLog RequestLog
	// RateLimit is the requests a second each connector may send, with
	// bursts of RateBurst (0: RateLimit's, at least 1); past it, 429 with
	// Retry-After. 0 means no limit.
	RateLimit float64
	RateBurst int
	// MaxPatchMembers bounds the members a PATCH of a group lists, over
	// all its operations; more get 413. 0 means patch.DefaultMaxMembers.
	MaxPatchMembers int
	// MaxImportBytes is the admin API's bound on a CSV import
	// (admin.Config.MaxImportBytes), advertised in /ServiceProviderConfig
	// only; 0 does not advertise it.
	MaxImportBytes int64
}

// Server is the SCIM 2.0 endpoint of every tenant.
type Server struct {
	cfg    Config
	db     store.Reader
	engine *reconcile.Engine
	log    *slog.Logger
	outage *store.Outage

	resourceTypes []scimlib.ResourceType
	mux           *http.ServeMux
	limiters      *limiters // nil: no rate limit
}

// NewHandler returns the HTTP handler for scimd's SCIM endpoint, to be
// mounted at /scim/v2/: SCIM 2.0 at /scim/v2/{tenant}/..., with the bearer
// token of a connector of {tenant}. It reads through db and writes through
// engine.
func NewHandler(cfg Config, db store.Reader, engine *reconcile.Engine) http.Handler {
	return NewServer(cfg, db, engine)
}

// ServeHTTP serves SCIM 2.0 at /scim/v2/{tenant}/... (see [NewHandler]).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// NewServer returns the endpoint [NewHandler] returns as its handler, for
// its other methods ([Server.Replay]).
func NewServer(cfg Config, db store.Reader, engine *reconcile.Engine) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxResults <= 0 {
		cfg.MaxResults = 200
	}
	if cfg.MaxPatchMembers <= 0 {
		cfg.MaxPatchMembers = patch.DefaultMaxMembers
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Outage == nil {
		cfg.Outage = store.NewOutage(log)
	}
	s := &Server{cfg: cfg, db: db, engine: engine, log: log, outage: cfg.Outage,
		limiters: newLimiters(cfg.RateLimit, cmp.Or(cfg.RateBurst, int(math.Ceil(cfg.RateLimit))))}
	s.resourceTypes = []scimlib.ResourceType{
		{
			ID:          optional.NewString("User"),
			Name:        "User",
			Description: optional.NewString("User Account"),
			Endpoint:    "/Users",
			Schema:      schemas.User(),
			SchemaExtensions: []scimlib.SchemaExtension{
				{Schema: schemas.EnterpriseUser()},
				{Schema: schemas.ScimdUser()},
			},
			Handler: userHandler{s: s},
		},
		{
			ID:          optional.NewString("Group"),
			Name:        "Group",
			Description: optional.NewString("Group"),
			Endpoint:    "/Groups",
			Schema:      schemas.Group(),
			Handler:     groupHandler{s: s},
		},
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/scim/v2/{tenant}/", s.withOutage(s.serveSCIM))
	mux.HandleFunc("/scim/v2/{tenant}", s.withOutage(s.serveSCIM))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(http.StatusNotFound, "", "no such endpoint; SCIM lives under /scim/v2/{tenant}/"))
	})
	s.mux = mux
	return s
}

// serveSCIM is the SCIM request path: authenticate, bound the body, then
// either answer a read ourselves (lists, single resources, the service
// provider config: the library cannot page, project or stream) or check a
// write's body and hand it to the library, which validates it against the
// schema and calls our resource handlers.
func (s *Server) serveSCIM(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if isMe(r, tenant) {
		s.serveMe(w, r, tenant)
		return
	}
	p, err := s.engine.Authenticate(r.Context(), r.Header.Get("Authorization"), tenant, store.KindSCIM)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
		writeError(w, s.toSCIM(r.Context(), err))
		return
	}
	if delay := s.limiters.wait(p, time.Now()); delay > 0 {
		tooMany(w, delay, s.limiters)
		return
	}
	if s.cfg.RequestLog != nil {
		s.logged(w, r, p)
		return
	}
	s.serveAs(w, r, p, nil)
}

// serveAs serves a request of r's tenant as principal p, once
// authenticated. With kept, it leaves there the body it read.
func (s *Server) serveAs(w http.ResponseWriter, r *http.Request, p store.Principal, kept *[]byte) {
	tenant := r.PathValue("tenant")
	ctx, err := s.actingAs(r.Context(), p)
	if err != nil {
		writeError(w, s.toSCIM(ctx, err))
		return
	}

	// The path below the tenant, without a trailing slash (Entra and the
	// Microsoft suite send /Users/).
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/scim/v2/"+url.PathEscape(tenant))
	path = strings.TrimRight(path, "/")
	if path == "" {
		path = "/"
	}
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		writeError(w, badRequest("", "malformed path"))
		return
	}
	r = r.Clone(ctx)
	r.URL.Path, r.URL.RawPath = unescaped, ""

	var body []byte
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodDelete {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, newError(http.StatusRequestEntityTooLarge, "",
				"the request body is larger than the %d bytes this server accepts; send fewer members or operations per request", tooLarge.Limit))
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			writeError(w, newError(http.StatusRequestTimeout, "", "the request body did not arrive within the server's read timeout"))
			return
		}
		if err != nil {
			writeError(w, badRequest("", "could not read the request body"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if kept != nil {
			*kept = body
		}
	}
	if e := checkText(r, body); e != nil {
		writeError(w, e)
		return
	}

	s.route(w, r, body)
}

// route answers one SCIM request whose principal is in its context, whose
// path is below the tenant's base (/Users/{id}) and whose body, if any, is
// body. Bulk operations come through here too.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	resource, id, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	rt, isResource := s.resourceType(r.Context(), resource)
	switch {
	case r.Method == http.MethodGet && (isResource || resource == "") && id == "":
		p, e := paramsFromURL(r)
		if e != nil {
			writeError(w, e)
			return
		}
		s.serveList(w, r, s.searched(r.Context(), rt, isResource), p)
		return
	case r.Method == http.MethodPost && (isResource && id == ".search" || resource == ".search" && id == ""):
		p, e := paramsFromSearch(body)
		if e != nil {
			writeError(w, e)
			return
		}
		s.serveList(w, r, s.searched(r.Context(), rt, isResource), p)
		return
	case isResource && strings.Contains(id, "/"):
		writeError(w, newError(http.StatusNotFound, "", "no such endpoint below %s: a resource's path is %s/{id}", rt.Endpoint, rt.Endpoint))
		return
	case r.Method == http.MethodGet && isResource:
		s.serveGet(w, r, rt, id)
		return
	case r.Method == http.MethodGet && resource == "ServiceProviderConfig" && id == "":
		s.serveServiceProviderConfig(w, r)
		return
	case r.Method == http.MethodPatch && isResource && id != "":
		s.servePatch(w, r, rt, id, body)
		return
	case resource == "Bulk" && id == "":
		if r.Method != http.MethodPost {
			writeError(w, newError(http.StatusMethodNotAllowed, "", "use POST for /Bulk"))
			return
		}
		s.serveBulk(w, r, body)
		return
	case (r.Method == http.MethodPost && id == "" || r.Method == http.MethodPut && id != "") && isResource:
		profile, err := dialect.Lookup(principal(r.Context()).Profile)
		if err != nil {
			writeError(w, s.toSCIM(r.Context(), err))
			return
		}
		normalized, carried, e := checkBody(body, rt, profile)
		if e != nil {
			writeError(w, e)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(normalized))
		// The library lists every extension of a resource type in the
		// response's "schemas"; RFC 7643 §3 wants those the resource
		// uses. A PUT or POST stores its body, so the extensions the
		// body carries are the ones to list, and the only ones the
		// library needs to validate.
		rt.SchemaExtensions = carried
		lib := s.library(r, rt)
		r.URL.Path = rt.Endpoint + strings.TrimSuffix("/"+id, "/")
		passAnswers(lib, w, r)
		return
	}
	if isResource {
		// The library matches endpoints exactly; clients may not (/users).
		r.URL.Path = rt.Endpoint
		if id != "" {
			r.URL.Path += "/" + id
		}
	}
	passAnswers(s.library(r), w, r)
}

// library returns elimity's server for this request. It is a cheap value;
// building it per request gives it this tenant's base URL for meta.location.
// A resource type given replaces the one of the same name for this request.
func (s *Server) library(r *http.Request, override ...scimlib.ResourceType) scimlib.Server {
	rts := slices.Clone(s.types(r.Context()))
	for _, o := range override {
		for i := range rts {
			if rts[i].Name == o.Name {
				rts[i] = o
			}
		}
	}
	srv, err := scimlib.NewServer(&scimlib.ServerArgs{
		ServiceProviderConfig: s.serviceProviderConfig(),
		ResourceTypes:         rts,
	}, scimlib.WithBaseURL(s.baseURL(r)), scimlib.WithLogger(libLogger{s.log}))
	if err != nil {
		panic(err) // only for nil arguments, which we never pass
	}
	return srv
}

// servedBeforeLibrary completes the library's ResourceHandler interface
// with the methods route never lets it call: route answers every GET and
// PATCH of a resource itself (the library can neither page, project nor
// stream, and scimd applies PATCH in the connector's dialect), and so
// hands the library only POST, PUT and DELETE.
type servedBeforeLibrary struct{}

var errServedBeforeLibrary = newError(http.StatusInternalServerError, "", "this request is served before the SCIM library; please report it")

func (servedBeforeLibrary) Get(*http.Request, string) (scimlib.Resource, error) {
	return scimlib.Resource{}, libError(errServedBeforeLibrary)
}

func (servedBeforeLibrary) GetAll(*http.Request, scimlib.ListRequestParams) (scimlib.Page, error) {
	return scimlib.Page{}, libError(errServedBeforeLibrary)
}

func (servedBeforeLibrary) Patch(*http.Request, string, []scimlib.PatchOperation) (scimlib.Resource, error) {
	return scimlib.Resource{}, libError(errServedBeforeLibrary)
}

// baseURL is the SCIM base of the request's tenant, e.g.
// https://scim.example.com/scim/v2/acme.
func (s *Server) baseURL(r *http.Request) string {
	base := s.cfg.BaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/scim/v2/" + url.PathEscape(principal(r.Context()).TenantName)
}

// searched is what a query covers: one resource type, or every type for
// the root endpoint.
func (s *Server) searched(ctx context.Context, rt scimlib.ResourceType, one bool) []scimlib.ResourceType {
	if one {
		return []scimlib.ResourceType{rt}
	}
	return s.types(ctx)
}

func (s *Server) resourceType(ctx context.Context, name string) (scimlib.ResourceType, bool) {
	for _, rt := range s.types(ctx) {
		if strings.EqualFold(rt.Endpoint[1:], name) {
			return rt, true
		}
	}
	return scimlib.ResourceType{}, false
}

type typesKey struct{}

// types returns the resource types of the request's tenant: Users carry
// the tenant's own extensions (see tenantTypes). Like the principal, they
// ride in the request's context from serveSCIM to the handlers.
func (s *Server) types(ctx context.Context) []scimlib.ResourceType {
	if t, ok := ctx.Value(typesKey{}).([]scimlib.ResourceType); ok {
		return t
	}
	return s.resourceTypes
}

// tenantTypes adds the tenant's own User extension schemas, which its
// connector configuration declares, to the User resource type: they are
// listed in /Schemas and /ResourceTypes, validated, stored, returned,
// patched and filtered like the enterprise extension.
func (s *Server) tenantTypes(ctx context.Context, p store.Principal) ([]scimlib.ResourceType, error) {
	exts, err := s.engine.UserExtensions(ctx, p)
	if err != nil || len(exts) == 0 {
		return s.resourceTypes, err
	}
	types := slices.Clone(s.resourceTypes)
	user := &types[0]
	user.SchemaExtensions = slices.Clone(user.SchemaExtensions)
	for _, x := range exts {
		user.SchemaExtensions = append(user.SchemaExtensions, scimlib.SchemaExtension{Schema: x})
	}
	return types, nil
}

// actingAs is ctx carrying who a request acts as, and its tenant's
// resource types (see tenantTypes), for the handlers.
func (s *Server) actingAs(ctx context.Context, p store.Principal) (context.Context, error) {
	ctx = context.WithValue(ctx, principalKey{}, p)
	if p.Mode == store.ModeShadow {
		ctx = reconcile.Shadow(ctx)
	}
	types, err := s.tenantTypes(ctx, p)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, typesKey{}, types), nil
}

// userExtensions are the extension schemas of the request's Users, for
// queries to filter and sort on.
func (s *Server) userExtensions(ctx context.Context) []schema.Schema {
	var out []schema.Schema
	for _, x := range s.types(ctx)[0].SchemaExtensions {
		out = append(out, x.Schema)
	}
	return out
}

// writeJSON writes a 200 SCIM response.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", contentType)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// libLogger adapts slog to the library's logger.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Error(args ...any) {
	if len(args) == 0 {
		return
	}
	msg, _ := args[0].(string)
	l.log.Error("scim library: "+msg, args[1:]...)
}
