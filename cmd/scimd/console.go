package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

var adminCommand = group("admin",
	subcommand{"bootstrap", "print a one-time link that signs in to the admin console as the tenant's administrator", adminBootstrap},
)

// adminBootstrap is scimd admin bootstrap: the first sign-in to the
// console, before any other is set up.
func adminBootstrap(ctx context.Context, e env, args []string) error {
	fs := flags(e, "admin bootstrap", "admin bootstrap --tenant T [--url URL] [--ttl 15m] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name, as in /console/{tenant}/ (created if missing, with its tenant-wide admin connector \"console\")")
	base := fs.String("url", "", "the URL people reach scimd at, the base of the link (default: server.publicUrl, else server.baseUrl, else http://ADDR of serve)")
	ttl := fs.Duration("ttl", reconcile.DefaultBootstrapTTL, "how long the link may wait to be used (it works once)")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError("--tenant is required")
	}
	if *ttl <= 0 || *ttl > 24*time.Hour {
		return usageError("--ttl is a duration between 1s and 24h")
	}
	if *base == "" {
		st, err := loadSettings(e, nil)
		if err != nil {
			return err
		}
		*base = cmp.Or(st.Server.PublicURL, st.Server.BaseURL, "http://"+st.Server.Addr)
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	link, err := reconcile.New(db, nil).ConsoleBootstrap(ctx, reconcile.CommandLine, *tenant, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Open this link to sign in to the console of tenant %q as its administrator (connector %q).\n", *tenant, reconcile.ConsoleConnector)
	fmt.Fprintf(e.stderr, "It works once, until %s; scimd keeps only its hash.\n", link.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(e.stdout, bootstrapURL(*base, *tenant, link.Secret))
	return nil
}

func bootstrapURL(base, tenant, secret string) string {
	return strings.TrimSuffix(base, "/") + "/console/" + url.PathEscape(tenant) + "/signin?link=" + url.QueryEscape(secret)
}

// consoleAuth is the console's sign-in through the engine.
type consoleAuth struct{ engine *reconcile.Engine }

func (a consoleAuth) SignIn(ctx context.Context, tenant, link string) (string, time.Time, error) {
	is, _, err := a.engine.ConsoleSignIn(ctx, tenant, link)
	if err != nil {
		return "", time.Time{}, refused(err)
	}
	return is.Secret, is.ExpiresAt, nil
}

func (a consoleAuth) Session(ctx context.Context, tenant, secret string) (store.Principal, error) {
	p, err := a.engine.ConsoleSession(ctx, tenant, secret)
	return p, refused(err)
}

func (a consoleAuth) SignOut(ctx context.Context, tenant, secret string) error {
	_, err := a.engine.EndConsoleSession(ctx, tenant, secret)
	return err
}

// consoleSSO is the console's sign-in through the tenant's OIDC
// connectors: jit's browser login, then the engine's console sign-in.
type consoleSSO struct{ engine *reconcile.Engine }

func (a consoleSSO) Providers(ctx context.Context, tenant string) ([]string, error) {
	return a.engine.LoginConnectors(ctx, tenant)
}

func (consoleSSO) LoginURL(tenant, provider, returnTo string) string {
	return "/auth/" + url.PathEscape(tenant) + "/" + url.PathEscape(provider) + "/login?return_to=" + url.QueryEscape(returnTo)
}

// SignIn turns the sign-in session jit's cookie holds into a console
// session.
func (a consoleSSO) SignIn(r *http.Request, tenant string) (string, time.Time, error) {
	secret := ""
	if k, err := r.Cookie(jit.CookieName); err == nil {
		secret = k.Value
	}
	is, _, err := a.engine.ConsoleSSOSignIn(r.Context(), tenant, secret)
	if err != nil {
		return "", time.Time{}, refused(err)
	}
	return is.Secret, is.ExpiresAt, nil
}

// refused turns the engine's refusals into the console's.
func refused(err error) error {
	var le *reconcile.LoginError
	var se *reconcile.SessionError
	var sie *reconcile.SignInError
	var ste *reconcile.StateError
	switch {
	case errors.As(err, &le):
		return &console.RefusedError{Msg: le.Msg}
	case errors.As(err, &se):
		return &console.RefusedError{Msg: se.Msg}
	case errors.As(err, &sie):
		return &console.RefusedError{Msg: sie.Msg}
	case errors.As(err, &ste):
		return &console.RefusedError{Msg: ste.Msg}
	}
	return err
}
