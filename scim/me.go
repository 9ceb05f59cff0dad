package scim

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimd/scimd/reconcile"
)

// isMe reports whether r asks for /scim/v2/{tenant}/Me (any case, a
// trailing slash allowed, as for /Users).
func isMe(r *http.Request, tenant string) bool {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/scim/v2/"+url.PathEscape(tenant))
	return strings.EqualFold(strings.TrimRight(path, "/"), "/Me")
}

// serveMe answers /Me (RFC 7644 §3.11) for the person signed in, whom the
// session cookie names, not for a connector's token: GET is their user, as
// GET /Users/{id} renders it (projection and If-None-Match included);
// other methods are not built yet (501). A session of another tenant, an
// ended or expired one, or a user no longer allowed in is a 401 saying to
// sign in.
func (s *Server) serveMe(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		writeError(w, newError(http.StatusNotImplemented, "", "%s /Me is not implemented; only GET /Me is (a user changes their account through their identity provider)", r.Method))
		return
	}
	if s.cfg.Session == nil {
		writeError(w, newError(http.StatusNotImplemented, "", "/Me needs sign-in, which this server does not serve"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Cookie")
	ls, err := s.cfg.Session(r, tenant)
	var (
		se *reconcile.SessionError
		ie *reconcile.SignInError
	)
	switch {
	case errors.As(err, &se):
		writeError(w, newError(http.StatusUnauthorized, "", "%s (/Me answers for the person signed in at /auth/%s/{connector}/login)", se.Msg, url.PathEscape(tenant)))
		return
	case errors.As(err, &ie):
		writeError(w, newError(http.StatusUnauthorized, "", "%s", ie.Msg))
		return
	case err != nil:
		writeError(w, s.toSCIM(r.Context(), err))
		return
	}
	ctx, err := s.actingAs(r.Context(), ls.Principal())
	if err != nil {
		writeError(w, s.toSCIM(ctx, err))
		return
	}
	if e := checkText(r, nil); e != nil {
		writeError(w, e)
		return
	}
	r = r.Clone(ctx)
	r.URL.Path, r.URL.RawPath = "/Users/"+ls.UserID, ""
	s.serveGet(w, r, s.types(ctx)[0], ls.UserID)
}
