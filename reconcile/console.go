package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/store"
)

// The admin console's sign-in, on the tables sign-in already has: a
// bootstrap link is a login state (store.LoginState) of the tenant's
// console admin connector, used once; a console session is a session
// (store.Session) of that connector with no user, its user_id
// ConsoleSessionUser. Such a session is never a
// person's: [Engine.Session] refuses it (it has no user), and the
// console's requests act as the admin connector, whose audit events name
// it. A console session of a person signed in through SSO has their user
// (consolesso.go).

// ConsoleConnector is the admin connector a bootstrap link signs in as:
// tenant-wide, created by [Engine.ConsoleBootstrap] if missing.
const ConsoleConnector = "console"

// ConsoleSessionUser is the user_id of a console session: the nil UUID,
// which is no user's SCIM id.
const ConsoleSessionUser = "00000000-0000-0000-0000-000000000000"

// DefaultBootstrapTTL is how long a bootstrap link may wait to be used.
const DefaultBootstrapTTL = 15 * time.Minute

// consoleNonce marks a login state as a bootstrap link, not an OIDC
// login (whose nonce is random).
const consoleNonce = "console-bootstrap"

// ConsoleLink is a bootstrap link just made: Secret goes into the link,
// shown once; only its SHA-256 is stored.
type ConsoleLink struct {
	Secret    string
	ExpiresAt time.Time
}

// ConsoleBootstrap makes a one-time sign-in link to the console for
// tenant, acting as its tenant-wide admin connector ConsoleConnector
// (created, with the tenant, if missing), valid for ttl (0:
// DefaultBootstrapTTL), with an audit event naming by.
func (e *Engine) ConsoleBootstrap(ctx context.Context, by store.Principal, tenant string, ttl time.Duration) (ConsoleLink, error) {
	if ttl <= 0 {
		ttl = DefaultBootstrapTTL
	}
	if err := e.SetConnectorAdmin(ctx, by, tenant, ConsoleConnector, ""); err != nil {
		return ConsoleLink{}, err
	}
	p, err := e.db.ConnectorPrincipal(ctx, tenant, ConsoleConnector)
	if err != nil {
		return ConsoleLink{}, err
	}
	if p.Kind != store.KindAdmin || p.OrgUnit != "" {
		return ConsoleLink{}, &StateError{Msg: fmt.Sprintf("connector %q of tenant %q is not a tenant-wide admin connector; the console signs in as one", ConsoleConnector, tenant)}
	}
	var raw [32]byte
	rand.Read(raw[:])
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(secret))
	now := e.now()
	s := store.LoginState{StateHash: hash[:], BrowserHash: hash[:], TenantID: p.TenantID, ConnectorID: p.ConnectorID,
		Nonce: consoleNonce, Verifier: consoleNonce, ReturnTo: "/console/" + tenant + "/users", CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err = e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.DeleteLoginStates(ctx, now.Add(-loginSweep)); err != nil {
			return err
		}
		if err := tx.InsertLoginState(ctx, &s); err != nil {
			return err
		}
		return audit(ctx, tx, by, p.TenantID, "console-bootstrap", "Connector", ConsoleConnector,
			map[string]any{"expiresAt": s.ExpiresAt})
	})
	if err != nil {
		return ConsoleLink{}, err
	}
	return ConsoleLink{Secret: secret, ExpiresAt: s.ExpiresAt}, nil
}

// ConsoleSignIn uses, once, the bootstrap link of tenant whose secret is
// link, and starts a console session acting as the link's admin
// connector, with an audit event naming it. A link that is unknown, used,
// expired or of another tenant is a [*LoginError]; it is used up all the
// same.
func (e *Engine) ConsoleSignIn(ctx context.Context, tenant, link string) (IssuedSession, store.Principal, error) {
	unknown := &LoginError{"state_unknown", "this sign-in link is unknown here: make a new one with scimd admin bootstrap --tenant " + tenant}
	if link == "" {
		return IssuedSession{}, store.Principal{}, unknown
	}
	hash := sha256.Sum256([]byte(link))
	now := e.now()
	var s store.LoginState
	var used bool
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		s, used, err = tx.UseLoginState(ctx, hash[:], now)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return IssuedSession{}, store.Principal{}, unknown
	case err != nil:
		return IssuedSession{}, store.Principal{}, err
	case s.Nonce != consoleNonce:
		return IssuedSession{}, store.Principal{}, unknown
	case !used:
		return IssuedSession{}, store.Principal{}, &LoginError{"state_used", "this sign-in link has been used already (each works once): make a new one with scimd admin bootstrap --tenant " + tenant}
	case !now.Before(s.ExpiresAt):
		return IssuedSession{}, store.Principal{}, &LoginError{"state_expired", "this sign-in link has expired: make a new one with scimd admin bootstrap --tenant " + tenant}
	}
	p, err := e.db.ConnectorPrincipal(ctx, tenant, ConsoleConnector)
	if errors.Is(err, store.ErrNotFound) || err == nil && (p.ConnectorID != s.ConnectorID || p.Kind != store.KindAdmin) {
		return IssuedSession{}, store.Principal{}, &LoginError{"state_connector", "this sign-in link was made for another tenant, or its admin connector changed: make a new one"}
	}
	if err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	out := e.issue(p.TenantID, p.ConnectorID, ConsoleSessionUser, 0, now)
	err = e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.InsertSession(ctx, &out.Session); err != nil {
			return err
		}
		return audit(ctx, tx, p, p.TenantID, "console-sign-in", "Connector", p.ConnectorName,
			map[string]any{"session": out.ID, "expiresAt": out.ExpiresAt})
	})
	if err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	return out, p, nil
}

// ConsoleSession is the admin principal the live console session of
// tenant whose cookie holds secret acts as. A session that is not a live
// console session of an admin connector is a [*SessionError].
func (e *Engine) ConsoleSession(ctx context.Context, tenant, secret string) (store.Principal, error) {
	s, now, err := e.liveSession(ctx, tenant, secret)
	if err != nil {
		return store.Principal{}, err
	}
	name := s.ConnectorName
	person := s.UserID != ConsoleSessionUser // signed in through SSO
	if person && (s.ConnectorKind != store.KindAdmin || s.UserPK == 0) || !person && s.UserPK != 0 || name == "" {
		return store.Principal{}, &SessionError{"unknown", "this is not a console session; sign in to the console"}
	}
	p, err := e.db.ConnectorPrincipal(ctx, tenant, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && (p.Kind != store.KindAdmin || p.ConnectorID != s.ConnectorID) {
		return store.Principal{}, &SessionError{"ended", "the console's admin connector is gone or no longer an admin one; sign in again"}
	}
	if err != nil {
		return store.Principal{}, err
	}
	if person {
		// The person's roles and org unit as they are now.
		if err := MaySignIn(s.User, now); err != nil {
			return store.Principal{}, err
		}
		var why *SignInError
		if p, why, err = e.consoleAdmin(ctx, p, s.User); err != nil {
			return store.Principal{}, err
		}
		if why != nil {
			return store.Principal{}, &SessionError{"ended", why.Msg}
		}
	}
	if err := e.touch(ctx, s, now); err != nil {
		return store.Principal{}, err
	}
	return p, nil
}

// EndConsoleSession ends the console session of tenant whose cookie
// holds secret (sign out), with an audit event naming its connector, and
// reports whether there was one to end.
func (e *Engine) EndConsoleSession(ctx context.Context, tenant, secret string) (bool, error) {
	return e.endSession(ctx, tenant, secret, consoleSession,
		func(ctx context.Context, tx *store.Tx, s store.SessionUser) error {
			by := store.Principal{TenantID: s.TenantID, TenantName: s.TenantName, ConnectorID: s.ConnectorID, ConnectorName: s.ConnectorName}
			if s.UserID != ConsoleSessionUser {
				by.ActorID = s.UserID
				if s.User != nil {
					by.ActorUserName = s.User.UserName
				}
			}
			return audit(ctx, tx, by, s.TenantID, "console-sign-out", "Connector", s.ConnectorName, map[string]any{"session": s.ID})
		})
}

// consoleSession reports whether s is a console session: a bootstrap
// link's (no user) or a person's through SSO (of an admin connector).
func consoleSession(s store.SessionUser) bool {
	return s.UserID == ConsoleSessionUser || s.ConnectorKind == store.KindAdmin
}
