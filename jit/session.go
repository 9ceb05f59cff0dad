package jit

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// CookieName is the session cookie's name.
const CookieName = "scimd_session"

// SessionConfig tunes the session endpoints. The zero value is a safe
// default.
type SessionConfig struct {
	// BaseURL is scimd's public URL (https://id.example.com): an https
	// one makes the cookie Secure even when TLS ends at a proxy in front,
	// and its origin is the one logout accepts. "" takes both from each
	// request.
	BaseURL string
	// Logger receives errors with their IDs; nil discards them.
	Logger *slog.Logger
}

// Sessions is the HTTP side of sign-in sessions.
type Sessions struct {
	cfg    SessionConfig
	engine *reconcile.Engine
	log    *slog.Logger
}

// NewSessions returns the session endpoints, which start, find and end
// sessions through engine.
func NewSessions(cfg SessionConfig, engine *reconcile.Engine) *Sessions {
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{cfg: cfg, engine: engine, log: log}
}

// SetCookie hands a session just started to the browser: the login
// callback calls it. The cookie holds the secret and nothing else, lives
// until the session's absolute expiry, and is HttpOnly (no script reads
// it), SameSite=Lax (a cross-site POST does not carry it) and Secure
// whenever scimd is reached over https.
func (s *Sessions) SetCookie(w http.ResponseWriter, r *http.Request, is reconcile.IssuedSession) {
	http.SetCookie(w, s.cookie(r, is.Secret, is.ExpiresAt))
}

func (s *Sessions) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: CookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.cfg.BaseURL, "https://")}
	if value == "" {
		c.MaxAge = -1 // clear it
		c.Expires = time.Unix(1, 0)
	} else {
		c.Expires = expires.UTC()
	}
	return c
}

// Resolve finds the live session of tenant that the request's cookie
// holds: who is signed in. No cookie, or one that lets no one in, is a
// [*reconcile.SessionError] or a [*reconcile.SignInError] saying why.
func (s *Sessions) Resolve(r *http.Request, tenant string) (reconcile.LiveSession, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return reconcile.LiveSession{}, &reconcile.SessionError{Reason: "none", Msg: "not signed in: sign in at /auth/" + url.PathEscape(tenant) + "/{connector}/login"}
	}
	return s.engine.Session(r.Context(), tenant, c.Value)
}

// ServeLogout is POST /auth/{tenant}/logout: it ends the request's
// session, with an audit event, and clears the cookie. It answers 204, or
// 303 to return_to when that is a path on this server (/signed-out).
//
// Cross-site request forgery: SameSite=Lax keeps the cookie off a POST
// from another site in current browsers, but a site is not an origin
// (every subdomain of example.com is the same site), older browsers
// ignore SameSite, and Lax is not what a GET needs to be refused. So
// logout takes POST only (a GET answers 405, and never ends a session),
// and refuses a request a browser marks as cross-origin: Sec-Fetch-Site
// other than same-origin or none (typed in, bookmarks), or, from browsers
// that do not send it, an Origin other than scimd's own.
func (s *Sessions) ServeLogout(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, "logout takes POST (a form or fetch from this server's pages), so that a link or image cannot sign anyone out")
		return
	}
	if why := s.crossOrigin(r); why != "" {
		writeJSON(w, http.StatusForbidden, why)
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if _, err := s.engine.EndSession(r.Context(), tenant, c.Value); err != nil {
			id := reconcile.ErrorID()
			status, msg := http.StatusInternalServerError, "internal error "+id+"; the session was not ended, retry"
			if errors.Is(err, store.ErrUnavailable) {
				w.Header().Set("Retry-After", store.RetryAfter)
				status, msg = http.StatusServiceUnavailable, "the database is unavailable; retry after the seconds in Retry-After"
			}
			s.log.ErrorContext(r.Context(), "logout", "err", err, "error_id", id)
			writeJSON(w, status, msg)
			return
		}
	}
	http.SetCookie(w, s.cookie(r, "", time.Time{}))
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if to := r.FormValue("return_to"); localPath(to) {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// crossOrigin says why r comes from another origin, or "".
func (s *Sessions) crossOrigin(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return "logout refused: the request comes from another origin (Sec-Fetch-Site: " + site + ")"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	if origin != s.origin(r) {
		return "logout refused: the request comes from another origin (Origin: " + origin + ")"
	}
	return ""
}

// origin is scimd's own origin: the base URL's, else the request's.
func (s *Sessions) origin(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		if u, err := url.Parse(s.cfg.BaseURL); err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// localPath reports whether to is a path on this server: it starts with
// one slash, and no browser reads it as another host (//host, /\host) or
// a scheme.
func localPath(to string) bool {
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\") ||
		strings.ContainsAny(to, "\\\r\n\t\x00") {
		return false
	}
	u, err := url.Parse(to)
	return err == nil && u.Scheme == "" && u.Host == ""
}

func writeJSON(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{"status": status, "detail": detail})
	w.Write(append(body, '\n'))
}
