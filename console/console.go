package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/scimd/scimd/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// CookieName is the console session cookie's name.
const CookieName = "scimd_console"

// CSP is the Content-Security-Policy of every console response: scripts
// and styles from the console's own static files only, never inline.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Auth signs administrators in and out of the console and finds who a
// session acts as. Refusals are a [*RefusedError]; other errors are the
// database's.
type Auth interface {
	// SignIn uses a bootstrap link of tenant once and starts a session:
	// the cookie's secret and its expiry.
	SignIn(ctx context.Context, tenant, link string) (secret string, expires time.Time, err error)
	// Session is the admin principal the live session of tenant with
	// that secret acts as.
	Session(ctx context.Context, tenant, secret string) (store.Principal, error)
	// SignOut ends the session.
	SignOut(ctx context.Context, tenant, secret string) error
}

// RefusedError is a sign-in or session that does not let its browser
// in; Msg is meant for the person.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// Config is what the console is made of.
type Config struct {
	// Admin is the admin API's handler, routing /admin/v1/.
	Admin http.Handler
	// WithPrincipal returns a context carrying an admin principal, which
	// Admin acts as (admin.WithPrincipal).
	WithPrincipal func(context.Context, store.Principal) context.Context
	// Auth holds the sessions.
	Auth Auth
	// SSO, when not nil, signs administrators in through the tenant's
	// OIDC connectors (sso.go); nil: bootstrap links only.
	SSO SSO
	// BaseURL is scimd's public URL: an https one makes the cookie
	// Secure even when TLS ends at a proxy in front. "" takes it from
	// each request.
	BaseURL string
	// Logger receives errors with their IDs; nil discards them.
	Logger *slog.Logger
	// MaxImportBytes is the admin API's bound on an import's CSV file
	// (admin.Config.MaxImportBytes): a CSV upload's body may be that and
	// a little more for the form around it. 0 means 100 MiB.
	MaxImportBytes int64
}

// routes holds each page file's route registration; a file adds its
// own in an init function, so pages do not edit one shared list.
var routes []func(*console, *http.ServeMux)

type console struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
}

// NewHandler returns the console, to be mounted at /console/.
func NewHandler(cfg Config) http.Handler {
	c := &console{cfg: cfg, log: cfg.Logger, pages: map[string]*template.Template{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	funcs := template.FuncMap{"json": compactJSON, "when": when}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/rows.html"))
	// Every template but the layout and the shared rows is a page of
	// its own name; a page file may define its own "fragment".
	pageFiles, _ := fs.Glob(templateFiles, "templates/*.html")
	for _, f := range pageFiles {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "rows" {
			continue
		}
		c.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFiles, f))
	}
	static, _ := fs.Sub(staticFiles, "static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console/{tenant}/signin", c.signinPage)
	mux.HandleFunc("POST /console/{tenant}/signin", c.signin)
	mux.HandleFunc("POST /console/{tenant}/signout", c.signedIn(c.signout))
	// Each page's file registers its routes (users.go, groups.go, …).
	for _, register := range routes {
		register(c, mux)
	}
	mux.HandleFunc("GET /console/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/"+url.PathEscape(r.PathValue("tenant"))+"/users", http.StatusSeeOther)
	})
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.page(w, r, http.StatusNotFound, "error", view{Title: "Not found", Error: "no such console page: the console of tenant T is at /console/T/users"})
	})
	cop := http.NewCrossOriginProtection()
	if o := origin(cfg.BaseURL); o != "" {
		// Behind a proxy that rewrites Host, the public origin is trusted.
		if err := cop.AddTrustedOrigin(o); err != nil {
			c.log.Warn("console: base URL is no origin", "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.page(w, r, http.StatusForbidden, "error", view{Title: "Refused", Error: "refused: this request comes from another origin (cross-site request forgery protection); use the console's own pages"})
	}))
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	// The static files sit beside the tenants' pages (a tenant named
	// static has no console); ServeMux patterns cannot say so.
	return headers(cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/console/static/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			files.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})))
}

// headers sets the security headers of every console response.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

func origin(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// view is what every page template gets.
type view struct {
	Title  string
	Tenant string
	CSRF   string // "" when not signed in
	Who    string // the admin connector signed in
	Error  string
	Notice string
	Data   any
}

// session is a signed-in request: who it acts as and its CSRF token.
type session struct {
	tenant string
	p      store.Principal
	csrf   string
}

type signedInHandler func(w http.ResponseWriter, r *http.Request, s session)

// formLimit bounds the body of a signed-in POST: a form of a few fields.
const formLimit = 16 << 10

// signedIn resolves the session cookie; without a live session the page
// says to sign in (401), and a POST (at most formLimit) without the
// session's CSRF token in its csrf field is refused (403).
func (c *console) signedIn(h signedInHandler) http.HandlerFunc {
	return c.signedInUpTo(formLimit, h)
}

// signedInUpTo is signedIn for a route whose form carries a document
// (the mapping editor's YAML): its POST body may be up to limit bytes,
// the request's 413 past it. Each such route names its limit where it is
// registered, so that a larger one is a reviewed choice.
func (c *console) signedInUpTo(limit int64, h signedInHandler) http.HandlerFunc {
	return c.authorized(h, func(w http.ResponseWriter, r *http.Request) (string, error) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseForm(); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return "", fmt.Errorf("refused: the form is larger than the %d KiB this page takes", limit>>10)
			}
		}
		return r.PostFormValue("csrf"), nil
	})
}

// authorized is signedIn with the POST's CSRF token read by csrf, which
// also bounds the body; an error of csrf is the request's 413.
func (c *console) authorized(h signedInHandler, csrf func(w http.ResponseWriter, r *http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		ck, err := r.Cookie(CookieName)
		var p store.Principal
		if err == nil {
			p, err = c.cfg.Auth.Session(r.Context(), tenant, ck.Value)
		} else {
			err = &RefusedError{"not signed in"}
		}
		var refused *RefusedError
		if errors.As(err, &refused) {
			c.page(w, r, http.StatusUnauthorized, "error", view{Title: "Sign in", Tenant: tenant,
				Error: refused.Msg + ": sign in at /console/" + tenant + "/signin (with SSO, or a link from 'scimd admin bootstrap --tenant " + tenant + "')"})
			return
		}
		if err != nil {
			c.internal(w, r, err)
			return
		}
		s := session{tenant: tenant, p: p, csrf: csrfToken(ck.Value)}
		r = r.WithContext(context.WithValue(r.Context(), whoKey{}, who(p)))
		if r.Method == http.MethodPost {
			got, err := csrf(w, r)
			if err != nil {
				c.page(w, r, http.StatusRequestEntityTooLarge, "error", view{Title: "Too large", Tenant: tenant, CSRF: s.csrf, Who: p.ConnectorName, Error: err.Error()})
				return
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				c.page(w, r, http.StatusForbidden, "error", view{Title: "Refused", Tenant: tenant, CSRF: s.csrf, Who: p.ConnectorName,
					Error: "refused: the form did not carry this session's CSRF token; reload the page and try again"})
				return
			}
		}
		h(w, r, s)
	}
}

// whoKey carries, in a signed-in request's context, who the header
// says is signed in (see who); page puts it in place of a page's Who.
type whoKey struct{}

// who is how the header names the signed-in administrator: the admin
// connector, and the person signed in through SSO with their scope.
func who(p store.Principal) string {
	if p.ActorUserName == "" {
		return p.ConnectorName
	}
	scope := "the tenant"
	if p.OrgUnit != "" {
		scope = "org unit " + p.OrgUnit
	}
	return p.ConnectorName + " · " + p.ActorUserName + ", administrator of " + scope
}

// csrfToken is the CSRF token of the session whose cookie holds secret:
// a hash of it, which a page from another origin cannot compute, as it
// cannot read the cookie.
func csrfToken(secret string) string {
	h := sha256.Sum256([]byte("scimd console csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (c *console) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: CookieName, Value: value, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(c.cfg.BaseURL, "https://")}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires.UTC()
	}
	return ck
}

func (c *console) signinPage(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	ps, err := c.providers(r, tenant)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	c.page(w, r, http.StatusOK, "signin", view{Title: "Sign in", Tenant: tenant, Data: signinData{Link: r.URL.Query().Get("link"), Providers: ps}})
}

func (c *console) signin(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	secret, expires, err := c.cfg.Auth.SignIn(r.Context(), tenant, r.PostFormValue("link"))
	c.started(w, r, tenant, secret, expires, err, func(refused *RefusedError) {
		c.page(w, r, http.StatusForbidden, "error", view{Title: "Sign-in refused", Tenant: tenant, Error: refused.Msg})
	})
}

// started answers a sign-in: the session's cookie and 303 to the users,
// or, when err is a refusal, what refused says (no session), or an
// internal error.
func (c *console) started(w http.ResponseWriter, r *http.Request, tenant, secret string, expires time.Time, err error, refused func(*RefusedError)) {
	if re, ok := errors.AsType[*RefusedError](err); ok {
		refused(re)
		return
	}
	if err != nil {
		c.internal(w, r, err)
		return
	}
	http.SetCookie(w, c.cookie(r, secret, expires))
	http.Redirect(w, r, "/console/"+url.PathEscape(tenant)+"/users", http.StatusSeeOther)
}

func (c *console) signout(w http.ResponseWriter, r *http.Request, s session) {
	ck, _ := r.Cookie(CookieName)
	if err := c.cfg.Auth.SignOut(r.Context(), s.tenant, ck.Value); err != nil {
		c.internal(w, r, err)
		return
	}
	http.SetCookie(w, c.cookie(r, "", time.Time{}))
	c.page(w, r, http.StatusOK, "error", view{Title: "Signed out", Tenant: s.tenant, Notice: "signed out of the console"})
}

// apiError is the admin API's answer to a request it refused.
type apiError struct {
	// Status is the answer's; the body's "status" is a string.
	Status int    `json:"-"`
	Detail string `json:"detail"`
	// body is the answer as sent, for a page that reads more of it (a
	// configuration's problems).
	body []byte
}

func (e *apiError) Error() string { return e.Detail }

// call runs one request through the admin API as the session's admin and
// decodes its JSON answer into out (nil: none wanted).
func (c *console) call(ctx context.Context, s session, method, path string, query url.Values, out any) error {
	return c.send(ctx, s, method, path, query, nil, out)
}

// send is call with a request body (nil: none): bytes as they are (YAML,
// a payload), anything else as JSON.
func (c *console) send(ctx context.Context, s session, method, path string, query url.Values, body any, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
		return c.sendRaw(ctx, s, method, path, query, nil, "", out)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	return c.sendRaw(ctx, s, method, path, query, rd, "application/json", out)
}

// sendRaw is call with a request body of Content-Type contentType, which
// the admin API reads as it goes: a file uploaded streams through, never
// held in memory.
func (c *console) sendRaw(ctx context.Context, s session, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	req, err := c.request(ctx, s, method, path, query, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.do(req, out)
}

// do answers req, a request of [console.request], decoding its answer
// into out (if not nil).
func (c *console) do(req *http.Request, out any) error {
	rec := &recorder{header: http.Header{}}
	c.cfg.Admin.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		return answerError(rec.status, rec.body.Bytes())
	}
	if out == nil || rec.status == http.StatusNoContent {
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

func (c *console) request(ctx context.Context, s session, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := "/admin/v1/" + url.PathEscape(s.tenant) + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return http.NewRequestWithContext(c.cfg.WithPrincipal(ctx, s.p), method, u, body)
}

// answerError is the admin API's error answer of status with body.
func answerError(status int, body []byte) *apiError {
	e := &apiError{Status: status, body: body}
	if json.Unmarshal(body, e) != nil || e.Detail == "" {
		e.Detail = http.StatusText(status)
	}
	return e
}

// stream answers the browser with a GET of the admin API whose answer is
// a file (the export), passing it on as the API writes it, never
// buffered: its status and download headers go to w with its first
// bytes. An error answer (before any byte) is the console's error page;
// an API that fails mid-file aborts the connection, which the browser
// sees as a failed download, not as a short file.
func (c *console) stream(w http.ResponseWriter, r *http.Request, s session, path string, query url.Values) {
	req, err := c.request(r.Context(), s, http.MethodGet, path, query, nil)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	pw := &passWriter{w: w, header: http.Header{}}
	c.cfg.Admin.ServeHTTP(pw, req)
	if pw.status >= 400 {
		c.fail(w, r, s, answerError(pw.status, pw.failure.Bytes()))
	}
}

// passWriter passes a successful admin API answer to the browser's
// ResponseWriter as it comes, with only its download headers; an error
// answer is kept (bounded) for the console to render.
type passWriter struct {
	w       http.ResponseWriter
	header  http.Header
	status  int
	failure bytes.Buffer
}

// passHeaders are the admin API's headers a streamed answer keeps.
var passHeaders = []string{"Content-Type", "Content-Disposition", "Content-Length", "X-Content-Type-Options"}

func (p *passWriter) Header() http.Header { return p.header }

func (p *passWriter) WriteHeader(status int) {
	if p.status != 0 {
		return
	}
	p.status = status
	if status >= 400 {
		return
	}
	for _, k := range passHeaders {
		if v := p.header.Get(k); v != "" {
			p.w.Header().Set(k, v)
		}
	}
	p.w.WriteHeader(status)
}

func (p *passWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	if p.status >= 400 {
		if p.failure.Len() < 64<<10 {
			p.failure.Write(b)
		}
		return len(b), nil
	}
	return p.w.Write(b)
}

// Unwrap lets http.ResponseController flush the browser's writer.
func (p *passWriter) Unwrap() http.ResponseWriter { return p.w }

// recorder is the response of an in-process call of the admin API.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// fail answers an admin API error with its status and detail, anything
// else as an internal error.
func (c *console) fail(w http.ResponseWriter, r *http.Request, s session, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		status := ae.Status
		if status >= 500 && status != http.StatusServiceUnavailable {
			c.log.ErrorContext(r.Context(), "console: admin api", "status", status, "detail", ae.Detail)
		}
		c.page(w, r, status, "error", view{Title: http.StatusText(status), Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Error: ae.Detail})
		return
	}
	c.internal(w, r, err)
}

func (c *console) internal(w http.ResponseWriter, r *http.Request, err error) {
	var b [6]byte
	rand.Read(b[:])
	id := fmt.Sprintf("%x", b)
	c.log.ErrorContext(r.Context(), "console", "error_id", id, "err", err)
	c.page(w, r, http.StatusInternalServerError, "error", view{Title: "Internal error", Tenant: r.PathValue("tenant"),
		Error: "internal error; the server log has it under error_id " + id})
}

// page renders a page; a request from htmx (HX-Request) gets the
// template's "fragment" alone when it has one.
func (c *console) page(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t := c.pages[name]
	if label, ok := r.Context().Value(whoKey{}).(string); ok && v.Who != "" {
		v.Who = label
	}
	exec := "layout"
	if r.Header.Get("HX-Request") == "true" && t.Lookup("fragment") != nil {
		exec = "fragment"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, exec, v); err != nil {
		c.log.ErrorContext(r.Context(), "console: template", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Add("Vary", "HX-Request")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
