package jit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// HookConfig configures the ID-token hook.
type HookConfig struct {
	// MaxBodyBytes bounds a request body; 0: 64 KiB (an ID token is a few
	// KiB; the Verifier refuses one over its own bound).
	MaxBodyBytes int64
	// Client, when not nil, is the HTTP client the Verifiers start from
	// (see [VerifierConfig]); Verifiers, when not nil, is the cache of
	// Verifiers shared with the browser login (Client is then its own).
	Client    *http.Client
	Verifiers *Verifiers
	// Now is the clock; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Hook serves POST /jit/{tenant}/{connector}: an application that runs its
// own OIDC login hands scimd the ID token it received, with its own bearer
// token (a token of that OIDC connector of that tenant), and gets back the
// user the login provisions. It verifies the token as the browser login
// does, except for the nonce: the application made the authorization
// request, so only it knows the nonce, and it must check it itself before
// calling the hook. It is safe for concurrent use.
type Hook struct {
	cfg    HookConfig
	engine *reconcile.Engine
	db     store.Reader

	verifiers *Verifiers
}

// NewHook returns the ID-token hook. db is the read-only store; writes go
// through engine.
func NewHook(cfg HookConfig, db store.Reader, engine *reconcile.Engine) *Hook {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v := cfg.Verifiers
	if v == nil {
		v = NewVerifiers(cfg.Client, cfg.Now)
	}
	return &Hook{cfg: cfg, engine: engine, db: db, verifiers: v}
}

// hookRequest is the hook's body.
type hookRequest struct {
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token"`
}

// Error is the JSON every JIT endpoint answers a refusal with: the HTTP
// status, a short code a program can branch on (a TokenError's or a
// SignInError's Reason, or one of the hook's own), and a sentence a person
// can act on.
type Error struct {
	Status int    `json:"status"`
	Code   string `json:"error"`
	Detail string `json:"detail"`
	// ErrorID, for an internal error, is what the server logged it under.
	ErrorID string `json:"errorId,omitempty"`
}

func (h *Hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, connector := r.PathValue("tenant"), r.PathValue("connector")
	if tenant == "" || connector == "" {
		parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/jit/"), "/"), "/")
		if len(parts) != 2 {
			writeError(w, Error{Status: http.StatusNotFound, Code: "not_found", Detail: "the hook is POST /jit/{tenant}/{connector}"})
			return
		}
		tenant, connector = parts[0], parts[1]
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, Error{Status: http.StatusMethodNotAllowed, Code: "method", Detail: "the hook takes POST with {\"id_token\": \"…\"}"})
		return
	}
	ctx := r.Context()
	p, err := h.engine.Authenticate(ctx, r.Header.Get("Authorization"), tenant, store.KindOIDC)
	if err != nil {
		if ae, ok := errors.AsType[*reconcile.AuthError](err); ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
			writeError(w, Error{Status: http.StatusUnauthorized, Code: "unauthorized", Detail: ae.Msg})
			return
		}
		h.internal(w, r, err)
		return
	}
	if p.ConnectorName != connector {
		writeError(w, Error{Status: http.StatusForbidden, Code: "forbidden", Detail: fmt.Sprintf(
			"this token is connector %s's; the hook of connector %s takes a token of its own", p.ConnectorName, connector)})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, Error{Status: http.StatusUnsupportedMediaType, Code: "content_type", Detail: "send the body as application/json"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Detail: fmt.Sprintf("the body is over %d bytes", h.cfg.MaxBodyBytes)})
			return
		}
		writeError(w, Error{Status: http.StatusBadRequest, Code: "body", Detail: "the body could not be read"})
		return
	}
	var req hookRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || strings.TrimSpace(req.IDToken) == "" {
		writeError(w, Error{Status: http.StatusBadRequest, Code: "body", Detail: `send {"id_token": "…"} (and optionally "access_token": "…", for userinfo)`})
		return
	}
	conn, err := h.engine.Connector(ctx, p.TenantID, p.TenantName, p.ConnectorName)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	if conn.Kind != store.KindOIDC || conn.OIDC == nil {
		writeError(w, Error{Status: http.StatusConflict, Code: "not_configured", Detail: fmt.Sprintf(
			"connector %s has no oidc settings in tenant %s's configuration: add kind: oidc and oidc: {issuer, clientId}", conn.Name, p.TenantName)})
		return
	}
	o := conn.OIDC
	policy := Policy{Tenant: conn.Tenant, Connector: conn.Name, EmailDomains: conn.EmailDomains, Vouches: conn.Vouches,
		EmailVerified: o.EmailVerified, CreateUsers: o.CreateUsers, UserNameClaim: o.UserNameClaim}
	res, err := h.login(ctx, p, policy, h.verifiers.Get(conn.Tenant, conn.Name, o.Issuer, o.ClientID), req)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res.doc())
}

// Result is what a login provisioned.
type Result struct {
	Created bool
	Plan    *reconcile.Plan
}

// login verifies the token, adds userinfo when the token lacks claims and
// an access token was given, and signs the person in through reconcile.
func (h *Hook) login(ctx context.Context, p store.Principal, policy Policy, v *Verifier, req hookRequest) (*Result, error) {
	id, err := v.Verify(ctx, req.IDToken, Expect{AccessToken: req.AccessToken})
	if err != nil {
		return nil, err
	}
	if req.AccessToken != "" && lacksClaims(id) {
		if err := v.UserInfo(ctx, req.AccessToken, id); err != nil {
			return nil, err
		}
	}
	return signIn(ctx, h.engine, p, policy, id, h.cfg.Now())
}

// signIn is what the hook and the browser login do with a verified
// identity: the connector's policy, then reconcile's sign-in, which
// creates, updates or links the user, or refuses them (audited).
func signIn(ctx context.Context, engine *reconcile.Engine, p store.Principal, policy Policy, id *Identity, now time.Time) (*Result, error) {
	identity := auditIdentity(id)
	in, err := Login(p, policy, id)
	if err != nil {
		if refusal, ok := errors.AsType[*reconcile.SignInError](err); ok {
			return nil, engine.RefuseSignIn(ctx, p, refusal, identity)
		}
		return nil, err
	}
	plan, err := engine.SignIn(ctx, in, policy.CreateUsers, identity, now)
	if err != nil {
		return nil, err
	}
	return &Result{Created: plan.Action == string(reconcile.Create), Plan: plan}, nil
}

// lacksClaims reports whether an ID token leaves out what a user is made
// of (some providers put only sub in it, the rest in userinfo).
func lacksClaims(id *Identity) bool {
	for _, k := range []string{"email", "name", "preferred_username"} {
		if _, ok := id.Claims[k]; !ok {
			return true
		}
	}
	return false
}

// doc is the hook's answer: the user as SCIM JSON, with whether the login
// created them and the grants they hold now.
func (res *Result) doc() map[string]any {
	p := res.Plan
	doc := UserDoc(p.User)
	grants := []map[string]any{}
	for _, g := range p.Grants {
		if g.Op == "remove" {
			continue
		}
		m := map[string]any{"kind": g.Kind, "name": g.Name}
		if g.Rule != "" {
			m["rule"] = g.Rule
		}
		grants = append(grants, m)
	}
	doc["created"] = res.Created
	doc["grants"] = grants
	return doc
}

// UserDoc is a user as SCIM JSON (RFC 7643 §4.1): the stored document with
// its id, the connector's externalId and meta. Locations are left to the
// SCIM endpoint, which knows the base URL.
func UserDoc(u *store.User) map[string]any {
	doc := make(map[string]any, len(u.Attrs)+4)
	for k, v := range u.Attrs {
		doc[k] = v
	}
	schemas := []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
	for k := range u.Attrs {
		if strings.HasPrefix(k, "urn:") {
			schemas = append(schemas, k)
		}
	}
	doc["schemas"] = schemas
	doc["id"] = u.ID
	if u.ExternalID != "" {
		doc["externalId"] = u.ExternalID
	}
	doc["meta"] = map[string]any{
		"resourceType": "User",
		"created":      u.CreatedAt.UTC().Format(time.RFC3339Nano),
		"lastModified": u.UpdatedAt.UTC().Format(time.RFC3339Nano),
		"version":      fmt.Sprintf(`W/"%d"`, u.Version),
	}
	return doc
}

// refused answers a login that did not go through.
func (h *Hook) refused(w http.ResponseWriter, r *http.Request, err error) {
	if te, ok := errors.AsType[*TokenError](err); ok {
		status := http.StatusUnauthorized
		if te.Reason == "discovery" || te.Reason == "jwks" || te.Reason == "userinfo" {
			status = http.StatusBadGateway
		}
		writeError(w, Error{Status: status, Code: te.Reason, Detail: te.Detail})
		return
	}
	if se, ok := errors.AsType[*reconcile.SignInError](err); ok {
		writeError(w, Error{Status: http.StatusForbidden, Code: se.Reason, Detail: se.Msg})
		return
	}
	if le, ok := errors.AsType[*reconcile.LocalUserError](err); ok {
		writeError(w, Error{Status: http.StatusForbidden, Code: "local", Detail: le.Error()})
		return
	}
	if me, ok := errors.AsType[*reconcile.MatchError](err); ok {
		writeError(w, Error{Status: http.StatusConflict, Code: "match", Detail: me.Msg})
		return
	}
	if ie, ok := errors.AsType[*reconcile.InputError](err); ok {
		writeError(w, Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Detail: ie.Msg})
		return
	}
	if ce, ok := errors.AsType[*store.ConflictError](err); ok {
		writeError(w, Error{Status: http.StatusConflict, Code: "uniqueness", Detail: fmt.Sprintf(
			"another user of this tenant has this %s: link the right account by hand, or change the connector's match order", ce.Attribute)})
		return
	}
	if errors.Is(err, store.ErrStale) {
		writeError(w, Error{Status: http.StatusConflict, Code: "busy", Detail: "the account changed while signing in; try again"})
		return
	}
	h.internal(w, r, err)
}

func (h *Hook) internal(w http.ResponseWriter, r *http.Request, err error) {
	id := reconcile.ErrorID()
	h.cfg.Logger.ErrorContext(r.Context(), "jit hook", "path", r.URL.Path, "errorId", id, "err", err)
	if errors.Is(err, store.ErrUnavailable) {
		w.Header().Set("Retry-After", store.RetryAfter)
		writeError(w, Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Detail: "the database is unavailable; try again shortly", ErrorID: id})
		return
	}
	writeError(w, Error{Status: http.StatusInternalServerError, Code: "internal", Detail: "internal error; quote the error ID to the operator", ErrorID: id})
}

func writeError(w http.ResponseWriter, e Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(e)
}
