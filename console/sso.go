package console

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// SSO signs administrators in through the tenant's OIDC connectors: the
// person signs in at their identity provider as at any login (scimd's
// browser login, jit), comes back to /console/{tenant}/sso, and SignIn
// turns that fresh sign-in into a console session if the mapping rules
// made them an administrator.
type SSO interface {
	// Providers names the tenant's OIDC connectors, whose sign-in the
	// sign-in page offers.
	Providers(ctx context.Context, tenant string) ([]string, error)
	// LoginURL is where a browser starts signing in through the tenant's
	// connector provider, to be sent back to returnTo (a path) signed in.
	LoginURL(tenant, provider, returnTo string) string
	// SignIn turns the fresh sign-in r's browser holds into a console
	// session: its cookie's secret and expiry. A sign-in that does not
	// let the person in, or a person who is no administrator, is a
	// [*RefusedError].
	SignIn(r *http.Request, tenant string) (secret string, expires time.Time, err error)
}

// provider is a sign-in the sign-in page offers.
type provider struct{ Name, URL string }

// signinData is what the sign-in page shows: the bootstrap link's form
// when it was opened from one, and a button per SSO provider.
type signinData struct {
	Link      string
	Providers []provider
}

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/sso", c.ssoReturn)
	})
}

// providers lists the tenant's SSO sign-ins; none without Config.SSO.
func (c *console) providers(r *http.Request, tenant string) ([]provider, error) {
	if c.cfg.SSO == nil {
		return nil, nil
	}
	names, err := c.cfg.SSO.Providers(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	out := make([]provider, len(names))
	for i, n := range names {
		out[i] = provider{n, c.cfg.SSO.LoginURL(tenant, n, "/console/"+url.PathEscape(tenant)+"/sso")}
	}
	return out, nil
}

// ssoReturn is GET /console/{tenant}/sso, where a sign-in through SSO
// comes back: the fresh sign-in becomes a console session (303 to the
// users), or a page says why not (403) and no session starts. A GET that
// starts a session: only a sign-in its browser just made, used once, and
// only for that person, so another site sending a browser here gains
// nothing.
func (c *console) ssoReturn(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if c.cfg.SSO == nil {
		c.page(w, r, http.StatusNotFound, "error", view{Title: "Not found", Tenant: tenant, Error: "this console has no sign-in through SSO"})
		return
	}
	secret, expires, err := c.cfg.SSO.SignIn(r, tenant)
	c.started(w, r, tenant, secret, expires, err, func(refused *RefusedError) {
		ps, err := c.providers(r, tenant)
		if err != nil {
			c.internal(w, r, err)
			return
		}
		c.page(w, r, http.StatusForbidden, "signin", view{Title: "Sign-in refused", Tenant: tenant, Error: refused.Msg, Data: signinData{Providers: ps}})
	})
}
