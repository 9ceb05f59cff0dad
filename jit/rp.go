package jit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// LoginCookieName is the cookie that binds a login's callback to the
// browser that started it: a random value whose SHA-256 each login of that
// browser records. A callback URL handed to someone else's browser (login
// CSRF: signing the victim in as the attacker) finds no such cookie there.
const LoginCookieName = "scimd_login"

// maxReturnTo bounds return_to.
const maxReturnTo = 2048

// RPConfig configures the browser login.
type RPConfig struct {
	// BaseURL is scimd's public URL, from which the redirect URI
	// ({base}/auth/{tenant}/{connector}/callback) is made when a connector
	// has no redirectBaseUrl of its own; "" takes the request's.
	BaseURL string
	// Verifiers, when not nil, is the cache of Verifiers shared with the
	// hook; nil: one of the RP's own.
	Verifiers *Verifiers
	// LoginTTL is how long a login may take; 0: reconcile.DefaultLoginTTL.
	LoginTTL time.Duration
	// Getenv reads the environment variable a client secret is in; nil:
	// os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// RP is the browser login of OIDC connectors: scimd as the relying party
// of the connector's provider (authorization code flow with PKCE S256, a
// state and a nonce).
//
//	GET /auth/{tenant}/{connector}/login?return_to=…     → the provider
//	GET /auth/{tenant}/{connector}/callback?code=…&state=… → return_to,
//	    signed in
//
// The login records the state (as a hash), the nonce and the PKCE
// verifier through reconcile, for LoginTTL, and the callback uses that
// record once: a replayed callback, a second use of a code, a state from
// another browser or another connector are refused. The callback verifies
// the ID token as the hook does, and more: the nonce must be the login's.
// Then the same reconcile sign-in as the hook's creates, updates or links
// the user, and a session starts. Every refusal is a page that says why.
type RP struct {
	cfg       RPConfig
	engine    *reconcile.Engine
	db        store.Reader
	sessions  *Sessions
	verifiers *Verifiers
	log       *slog.Logger
}

// NewRP returns the browser login. Sessions start through sessions, which
// also sets their cookie.
func NewRP(cfg RPConfig, db store.Reader, engine *reconcile.Engine, sessions *Sessions) *RP {
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.LoginTTL <= 0 {
		cfg.LoginTTL = reconcile.DefaultLoginTTL
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := cfg.Verifiers
	if v == nil {
		v = NewVerifiers(nil, cfg.Now)
	}
	return &RP{cfg: cfg, engine: engine, db: db, sessions: sessions, verifiers: v, log: log}
}

// ServeLogin is GET /auth/{tenant}/{connector}/login.
func (rp *RP) ServeLogin(w http.ResponseWriter, r *http.Request) {
	tenant, connector := r.PathValue("tenant"), r.PathValue("connector")
	ctx := r.Context()
	c, ok := rp.connector(w, r, tenant, connector)
	if !ok {
		return
	}
	q := r.URL.Query()
	if len(q["return_to"]) > 1 {
		rp.page(w, r, http.StatusBadRequest, "Sign-in refused", "return_to", "the sign-in link names return_to more than once: name it once", "")
		return
	}
	returnTo, why := checkReturnTo(q.Get("return_to"), c.returnOrigins)
	if why != "" {
		rp.page(w, r, http.StatusBadRequest, "Sign-in refused", "return_to", why, "")
		return
	}
	if returnTo == "" {
		returnTo = "/scim/v2/" + url.PathEscape(tenant) + "/Me"
	}
	v := rp.verifiers.Get(tenant, connector, c.issuer, c.clientID)
	ep, err := v.Endpoint(ctx)
	if err != nil {
		rp.refused(w, r, tenant, connector, err)
		return
	}
	browser := ""
	if k, err := r.Cookie(LoginCookieName); err == nil && wellFormedSecret(k.Value) {
		browser = k.Value // another login of this browser, in another tab
	} else {
		browser = secret()
	}
	state, nonce, verifier := secret(), secret(), oauth2.GenerateVerifier()
	err = rp.engine.StartLogin(ctx, reconcile.LoginRequest{Principal: c.p, State: state, Nonce: nonce, Verifier: verifier,
		Browser: browser, ReturnTo: returnTo, TTL: rp.cfg.LoginTTL})
	if err != nil {
		rp.internal(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LoginCookieName, Value: browser, Path: "/auth/" + url.PathEscape(tenant) + "/",
		MaxAge: int(rp.cfg.LoginTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: rp.secure(r, c)})
	oc := rp.oauth2(r, tenant, connector, c, ep, "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// ServeCallback is GET /auth/{tenant}/{connector}/callback.
func (rp *RP) ServeCallback(w http.ResponseWriter, r *http.Request) {
	tenant, connector := r.PathValue("tenant"), r.PathValue("connector")
	ctx := r.Context()
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the code
	c, ok := rp.connector(w, r, tenant, connector)
	if !ok {
		return
	}
	q := r.URL.Query()
	browser := ""
	if k, err := r.Cookie(LoginCookieName); err == nil {
		browser = k.Value
	}
	// The state is used up first, whatever else the callback carries.
	st, err := rp.engine.UseLogin(ctx, c.p, q.Get("state"), browser)
	if err != nil {
		rp.refused(w, r, tenant, connector, err)
		return
	}
	if e := q.Get("error"); e != "" {
		detail := "the identity provider did not sign you in: " + clip(e)
		if d := q.Get("error_description"); d != "" {
			detail += " (" + clip(d) + ")"
		}
		rp.page(w, r, http.StatusBadRequest, "Sign-in failed", "provider", detail, retry(tenant, connector))
		return
	}
	// RFC 9207: a provider that names itself in the response must be the
	// connector's (a mix-up of providers sends another one's code here).
	if iss := q.Get("iss"); iss != "" && strings.TrimSuffix(iss, "/") != strings.TrimSuffix(c.issuer, "/") {
		rp.page(w, r, http.StatusBadRequest, "Sign-in refused", "issuer", fmt.Sprintf(
			"the browser came back from %s, not from this connector's provider", clip(iss)), retry(tenant, connector))
		return
	}
	code := q.Get("code")
	if code == "" {
		rp.page(w, r, http.StatusBadRequest, "Sign-in failed", "code", "the identity provider sent the browser back without a code", retry(tenant, connector))
		return
	}
	clientSecret, err := rp.clientSecret(c)
	if err != nil {
		id := reconcile.ErrorID()
		rp.log.ErrorContext(ctx, "jit login: client secret", "tenant", tenant, "connector", connector, "errorId", id, "err", err)
		rp.page(w, r, http.StatusInternalServerError, "Sign-in is not configured", "client_secret",
			"scimd cannot read this connector's client secret; the operator must set it (quote error ID "+id+")", "")
		return
	}
	v := rp.verifiers.Get(tenant, connector, c.issuer, c.clientID)
	ep, err := v.Endpoint(ctx)
	if err != nil {
		rp.refused(w, r, tenant, connector, err)
		return
	}
	oc := rp.oauth2(r, tenant, connector, c, ep, clientSecret)
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, v.HTTPClient()), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil && re.Response.StatusCode < 500 {
			detail := "the identity provider refused the code"
			if re.ErrorCode != "" {
				detail += " (" + clip(re.ErrorCode) + ")"
			}
			rp.page(w, r, http.StatusBadRequest, "Sign-in failed", "code", detail+": a code is good for one sign-in; start again", retry(tenant, connector))
			return
		}
		rp.log.WarnContext(ctx, "jit login: token exchange", "tenant", tenant, "connector", connector, "err", err)
		rp.page(w, r, http.StatusBadGateway, "Sign-in failed", "token", "the identity provider's token endpoint did not answer; try again shortly", retry(tenant, connector))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		rp.page(w, r, http.StatusBadGateway, "Sign-in failed", "id_token", "the identity provider answered without an ID token: check that the openid scope is granted", retry(tenant, connector))
		return
	}
	id, err := v.Verify(ctx, raw, Expect{Nonce: st.Nonce, AccessToken: tok.AccessToken})
	if err != nil {
		rp.refused(w, r, tenant, connector, err)
		return
	}
	if tok.AccessToken != "" && lacksClaims(id) {
		if err := v.UserInfo(ctx, tok.AccessToken, id); err != nil {
			rp.refused(w, r, tenant, connector, err)
			return
		}
	}
	res, err := signIn(ctx, rp.engine, c.p, c.policy, id, rp.cfg.Now())
	if err != nil {
		rp.refused(w, r, tenant, connector, err)
		return
	}
	is, err := rp.engine.StartSession(ctx, reconcile.SessionStart{TenantID: c.p.TenantID, ConnectorID: c.p.ConnectorID, UserID: res.Plan.User.ID})
	if err != nil {
		rp.refused(w, r, tenant, connector, err)
		return
	}
	// A session this browser held before (another person, or an earlier
	// login) ends: one browser, one session.
	if k, err := r.Cookie(CookieName); err == nil && k.Value != "" {
		if _, err := rp.engine.EndSession(ctx, tenant, k.Value); err != nil {
			rp.log.WarnContext(ctx, "jit login: ending the browser's previous session", "tenant", tenant, "err", err)
		}
	}
	rp.sessions.SetCookie(w, r, is)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, st.ReturnTo, http.StatusSeeOther)
}

// loginConf is what a login takes of its OIDC connector: the principal
// it acts as, the login policy and the provider's settings.
type loginConf struct {
	p                                                     store.Principal
	policy                                                Policy
	issuer, clientID, secretEnv, secretFile, redirectBase string
	scopes, returnOrigins                                 []string
}

// connector finds the OIDC connector a login names, or answers why not.
func (rp *RP) connector(w http.ResponseWriter, r *http.Request, tenant, connector string) (loginConf, bool) {
	p, conn, err := rp.engine.LoginConnector(r.Context(), tenant, connector)
	if errors.Is(err, store.ErrNotFound) {
		rp.page(w, r, http.StatusNotFound, "No such sign-in", "not_found", fmt.Sprintf(
			"tenant %s has no OIDC connector %s: its configuration must name it with kind: oidc and oidc: {issuer, clientId}", tenant, connector), "")
		return loginConf{}, false
	}
	if err != nil {
		rp.internal(w, r, err)
		return loginConf{}, false
	}
	o := conn.OIDC
	return loginConf{p: p,
		policy: Policy{Tenant: conn.Tenant, Connector: conn.Name, EmailDomains: conn.EmailDomains, Vouches: conn.Vouches,
			EmailVerified: o.EmailVerified, CreateUsers: o.CreateUsers, UserNameClaim: o.UserNameClaim},
		issuer: o.Issuer, clientID: o.ClientID, secretEnv: o.ClientSecretEnv, secretFile: o.ClientSecretFile,
		redirectBase: o.RedirectBaseURL, scopes: o.Scopes, returnOrigins: o.ReturnOrigins}, true
}

// oauth2 is the connector's OAuth 2.0 client, its redirect URI the
// callback's.
func (rp *RP) oauth2(r *http.Request, tenant, connector string, c loginConf, ep oauth2.Endpoint, clientSecret string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.clientID, ClientSecret: clientSecret, Endpoint: ep, Scopes: c.scopes,
		RedirectURL: RedirectURI(rp.base(r, c), tenant, connector)}
}

// RedirectURI is the redirect URI to register at the provider for a
// connector: {base}/auth/{tenant}/{connector}/callback.
func RedirectURI(base, tenant, connector string) string {
	return strings.TrimSuffix(base, "/") + "/auth/" + url.PathEscape(tenant) + "/" + url.PathEscape(connector) + "/callback"
}

// base is scimd's public URL as the connector, the configuration or the
// request says.
func (rp *RP) base(r *http.Request, c loginConf) string {
	switch {
	case c.redirectBase != "":
		return c.redirectBase
	case rp.cfg.BaseURL != "":
		return rp.cfg.BaseURL
	case r.TLS != nil:
		return "https://" + r.Host
	default:
		return "http://" + r.Host
	}
}

func (rp *RP) secure(r *http.Request, c loginConf) bool {
	return r.TLS != nil || strings.HasPrefix(rp.base(r, c), "https://")
}

// clientSecret reads the connector's client secret from where its
// configuration says: an environment variable or a file, read at each
// login so that a rotated secret needs no restart. A connector naming
// neither is a public client (PKCE only): no secret.
func (rp *RP) clientSecret(c loginConf) (string, error) {
	switch {
	case c.secretEnv != "":
		s := strings.TrimSpace(rp.cfg.Getenv(c.secretEnv))
		if s == "" {
			return "", fmt.Errorf("environment variable %s (clientSecretEnv) is empty or unset", c.secretEnv)
		}
		return s, nil
	case c.secretFile != "":
		f, err := os.Open(c.secretFile)
		if err != nil {
			return "", fmt.Errorf("clientSecretFile: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 8<<10))
		if err != nil {
			return "", fmt.Errorf("clientSecretFile %s: %w", c.secretFile, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("clientSecretFile %s is empty", c.secretFile)
		}
		return s, nil
	}
	return "", nil
}

// refused answers a login that did not go through with a page saying why.
// Refusals of the person (disabled, outside the access window, an email
// the connector refuses) were audited by reconcile on the way.
func (rp *RP) refused(w http.ResponseWriter, r *http.Request, tenant, connector string, err error) {
	again := retry(tenant, connector)
	if le, ok := errors.AsType[*reconcile.LoginError](err); ok {
		rp.page(w, r, http.StatusBadRequest, "Sign-in failed", le.Reason, le.Msg, again)
		return
	}
	if te, ok := errors.AsType[*TokenError](err); ok {
		status := http.StatusUnauthorized
		if te.Reason == "discovery" || te.Reason == "jwks" || te.Reason == "userinfo" {
			status = http.StatusBadGateway
		}
		rp.page(w, r, status, "Sign-in refused", te.Reason, "the identity provider's answer was refused: "+te.Detail, again)
		return
	}
	if se, ok := errors.AsType[*reconcile.SignInError](err); ok {
		rp.page(w, r, http.StatusForbidden, "Sign-in refused", se.Reason, se.Msg, "")
		return
	}
	if le, ok := errors.AsType[*reconcile.LocalUserError](err); ok {
		rp.page(w, r, http.StatusForbidden, "Sign-in refused", "local", "your account here is a local account, managed only by this organization's administrators: "+
			"it cannot sign in through a connector; ask your IT team ("+le.UserName+")", "")
		return
	}
	if me, ok := errors.AsType[*reconcile.MatchError](err); ok {
		rp.page(w, r, http.StatusConflict, "Sign-in refused", "match", me.Msg, "")
		return
	}
	if ie, ok := errors.AsType[*reconcile.InputError](err); ok {
		rp.page(w, r, http.StatusUnprocessableEntity, "Sign-in refused", "invalid", ie.Msg, "")
		return
	}
	if ce, ok := errors.AsType[*store.ConflictError](err); ok {
		rp.page(w, r, http.StatusConflict, "Sign-in refused", "uniqueness", fmt.Sprintf(
			"another account of this organization has this %s: ask your IT team to link the right one", ce.Attribute), "")
		return
	}
	if errors.Is(err, store.ErrStale) {
		rp.page(w, r, http.StatusConflict, "Sign-in failed", "busy", "your account changed while you signed in; try again", again)
		return
	}
	rp.internal(w, r, err)
}

func (rp *RP) internal(w http.ResponseWriter, r *http.Request, err error) {
	id := reconcile.ErrorID()
	rp.log.ErrorContext(r.Context(), "jit login", "path", r.URL.Path, "errorId", id, "err", err)
	if errors.Is(err, store.ErrUnavailable) {
		w.Header().Set("Retry-After", store.RetryAfter)
		rp.page(w, r, http.StatusServiceUnavailable, "Sign-in is unavailable", "unavailable", "the database is unavailable; try again shortly (error ID "+id+")", "")
		return
	}
	rp.page(w, r, http.StatusInternalServerError, "Sign-in failed", "internal", "internal error; quote error ID "+id+" to your IT team", "")
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1>
<p>{{.Detail}}</p>
<p><small>Reason: <code data-reason="{{.Reason}}">{{.Reason}}</code></small></p>
{{if .Retry}}<p><a href="{{.Retry}}">Sign in again</a></p>{{end}}
</body></html>
`))

// page answers a browser with a page saying what happened. It is HTML
// escaped, framed by no one, and runs no script.
func (rp *RP) page(w http.ResponseWriter, _ *http.Request, status int, title, reason, detail, again string) {
	pageHeaders(w.Header(), "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	pageTemplate.Execute(w, struct{ Title, Reason, Detail, Retry string }{title, reason, detail, again})
}

// pageHeaders are the headers of a page of ours: HTML, not cached, not
// sniffed, framed by no one, with the content security policy csp.
func pageHeaders(h http.Header, csp string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
}

func retry(tenant, connector string) string {
	return "/auth/" + url.PathEscape(tenant) + "/" + url.PathEscape(connector) + "/login"
}

// checkReturnTo checks where a login may send the browser back to: a path
// on this server, or a URL of one of the connector's returnOrigins. It
// returns the target, or why it is refused. Anything a browser might read
// as another host is refused: an absolute URL of another origin, //host,
// \\host, /\host, a scheme (javascript:, data:), control characters, and
// each of them percent-encoded.
func checkReturnTo(raw string, origins []string) (string, string) {
	if raw == "" {
		return "", ""
	}
	if len(raw) > maxReturnTo {
		return "", fmt.Sprintf("return_to is over %d bytes", maxReturnTo)
	}
	// Decode until nothing changes (at most a few times): a target that
	// is harmless only while encoded is refused.
	decoded := raw
	for range 4 {
		d, err := url.PathUnescape(decoded)
		if err != nil {
			return "", "return_to is not a valid URL (a % not followed by two hex digits)"
		}
		if d == decoded {
			break
		}
		decoded = d
	}
	if strings.ContainsAny(decoded, "\\") {
		return "", "return_to holds a backslash, which browsers read as a slash (\\\\host is another host): use a path such as /app"
	}
	for _, c := range decoded {
		if c < 0x20 || c == 0x7f {
			return "", "return_to holds control characters: use a path such as /app"
		}
	}
	if strings.HasPrefix(raw, "/") {
		if !localPath(raw) || !localPath(decoded) {
			return "", "return_to must be a path on this server (/app), not //host, which browsers read as another host"
		}
		return raw, ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", "return_to must be a path starting with / (a relative path like app/home is ambiguous) or a URL of an origin the connector lists in returnOrigins"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Sprintf("return_to has scheme %q: only a path, or an http(s) URL of an origin the connector lists in returnOrigins, is allowed", clip(u.Scheme))
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", "return_to is not a plain URL of an origin (no host, or a user@ part): use a path such as /app"
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	for _, o := range origins {
		if o == origin {
			return raw, ""
		}
	}
	return "", fmt.Sprintf("return_to's origin %s is not one the connector lists in returnOrigins: a sign-in sends the browser back only to this server or to those", clip(origin))
}

// secret is 32 random bytes, base64url: a state, a nonce, a login cookie.
func secret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func wellFormedSecret(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// Verifiers is a cache of Verifiers, one per connector's provider as its
// configuration says, shared by the hook and the browser login so that
// they fetch discovery and keys once. It is safe for concurrent use.
type Verifiers struct {
	client *http.Client
	now    func() time.Time

	mu sync.Mutex
	m  map[verifierKey]*Verifier
}

// verifierKey names a connector's provider as its configuration says: a
// configuration naming another issuer or client gets a Verifier of its own.
type verifierKey struct {
	tenant, connector, issuer, clientID string
}

// NewVerifiers returns an empty cache whose Verifiers start from client
// (see [VerifierConfig]) and read the time from now (nil: time.Now).
func NewVerifiers(client *http.Client, now func() time.Time) *Verifiers {
	return &Verifiers{client: client, now: now, m: map[verifierKey]*Verifier{}}
}

// Get returns the connector's Verifier, made on first use and kept while
// its configuration names the same issuer and client.
func (vs *Verifiers) Get(tenant, connector, issuer, clientID string) *Verifier {
	key := verifierKey{tenant, connector, issuer, clientID}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v, ok := vs.m[key]; ok {
		return v
	}
	for k := range vs.m {
		if k.tenant == key.tenant && k.connector == key.connector {
			delete(vs.m, k) // the configuration moved on
		}
	}
	v := NewVerifier(VerifierConfig{Issuer: issuer, ClientID: clientID, Client: vs.client, Now: vs.now})
	vs.m[key] = v
	return v
}
