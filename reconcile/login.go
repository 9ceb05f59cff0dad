package reconcile

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Browser logins (jit's GET /auth/{tenant}/{connector}/login and its
// callback): the login records the authorization request it sends the
// browser to the provider with, and the callback uses that record once.
// Neither is audited: they precede knowing who signs in (the sign-in
// itself, or its refusal, is).

// DefaultLoginTTL is how long a browser login may take, from the redirect
// to the provider to the callback, unless [LoginRequest.TTL] says
// otherwise.
const DefaultLoginTTL = 10 * time.Minute

// loginSweep is how long past its expiry a login's record stays: the
// callback of a login expired this recently says it expired, not that it
// is unknown.
const loginSweep = time.Hour

// LoginRequest is a browser login to record: the state, nonce and PKCE
// verifier the login sent the browser to the provider with (random, each
// made by the caller), and the value of the browser's login cookie, which
// the callback must carry too.
type LoginRequest struct {
	Principal                       store.Principal // the OIDC connector
	State, Nonce, Verifier, Browser string
	ReturnTo                        string
	TTL                             time.Duration // 0: DefaultLoginTTL
}

// LoginError is a login callback refused before any token is looked at:
// Reason is "state_missing", "state_unknown", "state_used",
// "state_expired", "state_connector" or "browser"; Msg is for the person.
type LoginError struct {
	Reason string
	Msg    string
}

func (e *LoginError) Error() string { return e.Msg }

// StartLogin records a login, storing its state and browser cookie as
// SHA-256, and sweeps away logins long expired.
func (e *Engine) StartLogin(ctx context.Context, l LoginRequest) error {
	if l.State == "" || l.Nonce == "" || l.Verifier == "" || l.Browser == "" {
		return errors.New("reconcile: a login needs a state, a nonce, a verifier and a browser cookie")
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = DefaultLoginTTL
	}
	now := e.now()
	sh, bh := sha256.Sum256([]byte(l.State)), sha256.Sum256([]byte(l.Browser))
	s := store.LoginState{StateHash: sh[:], BrowserHash: bh[:], TenantID: l.Principal.TenantID, ConnectorID: l.Principal.ConnectorID,
		Nonce: l.Nonce, Verifier: l.Verifier, ReturnTo: l.ReturnTo, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.DeleteLoginStates(ctx, now.Add(-loginSweep)); err != nil {
			return err
		}
		return tx.InsertLoginState(ctx, &s)
	})
}

// UseLogin uses, once, the login of p's connector whose state the
// callback carries, from the browser whose login cookie is browser, and
// returns it: its nonce, verifier and return_to. A state that is missing,
// unknown, used already (a replayed callback, or the second of two racing),
// expired, of another connector, or brought by another browser is a
// [*LoginError]; the state is used up all the same, so that it cannot be
// tried again.
func (e *Engine) UseLogin(ctx context.Context, p store.Principal, state, browser string) (store.LoginState, error) {
	if state == "" {
		return store.LoginState{}, &LoginError{"state_missing", "the provider sent the browser back without the login's state: start the sign-in again"}
	}
	now := e.now()
	sh := sha256.Sum256([]byte(state))
	var s store.LoginState
	var used bool
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		s, used, err = tx.UseLoginState(ctx, sh[:], now)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.LoginState{}, &LoginError{"state_unknown", "this sign-in is unknown here (it was not started by this server, or long ago): start the sign-in again"}
	case err != nil:
		return store.LoginState{}, err
	case !used:
		return store.LoginState{}, &LoginError{"state_used", "this sign-in has been completed already (a page reloaded, or a link used twice): start the sign-in again"}
	case s.TenantID != p.TenantID || s.ConnectorID != p.ConnectorID:
		return store.LoginState{}, &LoginError{"state_connector", "this sign-in was started for another connector: start the sign-in again"}
	case !now.Before(s.ExpiresAt):
		return store.LoginState{}, &LoginError{"state_expired", fmt.Sprintf("this sign-in took longer than %s: start it again", s.ExpiresAt.Sub(s.CreatedAt).Round(time.Second))}
	}
	bh := sha256.Sum256([]byte(browser))
	if browser == "" || subtle.ConstantTimeCompare(bh[:], s.BrowserHash) != 1 {
		return store.LoginState{}, &LoginError{"browser", "this sign-in was started in another browser (or its login cookie was blocked): start the sign-in again in this one"}
	}
	return s, nil
}

// LoginConnector is the principal a browser login of the named connector
// acts as, and the connector's configuration: the connector must be one
// the tenant's configuration makes kind oidc. A connector the
// configuration names but the store does not hold yet (configured in the
// file serve reads, never given a token) is created, of kind oidc, as
// `scimd token create` would. Anything else is [store.ErrNotFound].
func (e *Engine) LoginConnector(ctx context.Context, tenant, connector string) (store.Principal, *rules.Connector, error) {
	p, err := e.db.ConnectorPrincipal(ctx, tenant, connector)
	switch {
	case err == nil:
		conf, err := e.Connector(ctx, p.TenantID, tenant, connector)
		if err != nil {
			return store.Principal{}, nil, err
		}
		if conf.Kind != rules.KindOIDC || conf.OIDC == nil || p.Kind != store.KindOIDC {
			return store.Principal{}, nil, store.ErrNotFound
		}
		return p, conf, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Principal{}, nil, err
	}
	// Not in the store: configured, in the file or the tenant's saved
	// configuration?
	var conf *rules.Connector
	if t, err := e.db.Tenant(ctx, tenant); err == nil {
		if conf, err = e.Connector(ctx, t.ID, tenant, connector); err != nil {
			return store.Principal{}, nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Principal{}, nil, err
	} else if c, ok := e.cfg.Connector(tenant, connector); ok {
		conf = c
	}
	if conf == nil || conf.Kind != rules.KindOIDC || conf.OIDC == nil {
		return store.Principal{}, nil, store.ErrNotFound
	}
	if err := e.SetConnectorKind(ctx, CommandLine, tenant, connector, store.KindOIDC); err != nil {
		return store.Principal{}, nil, err
	}
	if p, err = e.db.ConnectorPrincipal(ctx, tenant, connector); err != nil {
		return store.Principal{}, nil, err
	}
	return p, conf, nil
}
