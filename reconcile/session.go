package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/store"
)

// Sessions: a person signed in through SSO holds a cookie with 32 random
// bytes; the database keeps only their SHA-256 (store.Session). Starting
// and ending one are audited events of the user; a use of one is a read,
// and records that it was seen at most once a minute (touchEvery), so that
// a browsing person does not cost a write per request.

// Session lifetimes unless [Engine.SetSessionLifetimes] says otherwise: a
// session ends after DefaultSessionIdle without use, and DefaultSessionMax
// after it started whatever its use.
const (
	DefaultSessionIdle = 2 * time.Hour
	DefaultSessionMax  = 12 * time.Hour
)

// touchEvery is how stale a session's last-seen time may get before a
// use writes it again (and moves its idle expiry on).
const touchEvery = time.Minute

// Reasons a session ends (store.Session.EndReason).
const (
	EndLogout      = "logout"
	EndByAdmin     = "ended by an administrator"
	EndUserDisable = "user disabled"
	EndUserDelete  = "user deleted"
)

// SignInError says why a user may not sign in now: the refusal a login or
// the ID-token hook answers with, and why a session stops letting its
// person in. Reason is one of the Refused* constants; Msg is meant for the
// person.
type SignInError struct {
	Reason string
	Msg    string
}

func (e *SignInError) Error() string { return e.Msg }

// Why [MaySignIn] refuses a user.
const (
	RefusedDisabled = "disabled"
	RefusedDeleted  = "deleted"
	RefusedNotYet   = "not_yet" // before their access window
	RefusedExpired  = "expired" // after it
)

// MaySignIn says whether the user u may sign in at now: nil, or a
// [*SignInError] with the reason. A nil u is a user who no longer exists.
// A user pending activation may: their first sign-in activates them. The
// access window is [AccessStart, AccessEnd): a user whose access finishes
// at 17:00 is refused from 17:00 on.
func MaySignIn(u *store.User, now time.Time) error {
	switch {
	case u == nil:
		return &SignInError{RefusedDeleted, "this account has been deleted; ask your administrator"}
	case u.Status == store.StatusDisabled:
		return &SignInError{RefusedDisabled, "this account is disabled; ask your administrator"}
	case !u.AccessStart.IsZero() && now.Before(u.AccessStart):
		return &SignInError{RefusedNotYet, fmt.Sprintf("this account's access starts at %s", u.AccessStart.UTC().Format(time.RFC3339))}
	case !u.AccessEnd.IsZero() && !now.Before(u.AccessEnd):
		return &SignInError{RefusedExpired, fmt.Sprintf("this account's access ended at %s", u.AccessEnd.UTC().Format(time.RFC3339))}
	}
	return nil
}

// SetClock makes the engine read the time from now for sessions (tests
// move it on to cross an expiry). Call it before the engine is used.
func (e *Engine) SetClock(now func() time.Time) { e.clock = now }

// SetSessionLifetimes sets how long a session lives without use (idle)
// and at most (max). Call it before the engine is used.
func (e *Engine) SetSessionLifetimes(idle, max time.Duration) {
	e.sessionIdle, e.sessionMax = idle, max
}

// Now is the engine's clock (see SetClock), as the store keeps times:
// what access windows are read at, SCIM's computed active included.
func (e *Engine) Now() time.Time { return e.now() }

// now is the engine's clock, as the store keeps times.
func (e *Engine) now() time.Time {
	clock := e.clock
	if clock == nil {
		clock = time.Now
	}
	return clock().UTC().Truncate(time.Microsecond)
}

func (e *Engine) lifetimes() (idle, max time.Duration) {
	idle, max = e.sessionIdle, e.sessionMax
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	if max <= 0 {
		max = DefaultSessionMax
	}
	return min(idle, max), max
}

// SessionStart is a sign-in to record: the user (by SCIM id) of the
// tenant whom the tenant's OIDC connector signed in. A connector of
// another tenant is refused.
type SessionStart struct {
	TenantID    int64
	ConnectorID int64
	UserID      string
}

// IssuedSession is a session just started. Secret is the cookie's value:
// handed out once, never stored.
type IssuedSession struct {
	store.Session
	Secret string
}

// issue makes a session starting at now, to be inserted: a new random
// secret, whose SHA-256 alone the session keeps, and the lifetimes.
func (e *Engine) issue(tenantID, connectorID int64, userID string, userPK int64, now time.Time) IssuedSession {
	var raw [32]byte
	rand.Read(raw[:]) // never fails (crypto/rand since Go 1.24)
	hash := sha256.Sum256(raw[:])
	idle, max := e.lifetimes()
	return IssuedSession{Secret: base64.RawURLEncoding.EncodeToString(raw[:]), Session: store.Session{Hash: hash[:], TenantID: tenantID,
		UserPK: userPK, UserID: userID, ConnectorID: connectorID, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(idle), ExpiresAt: now.Add(max)}}
}

// StartSession starts a session for a user who just signed in, if
// [MaySignIn] lets them (else its [*SignInError]), with an audit event of
// the user ("session-start").
func (e *Engine) StartSession(ctx context.Context, s SessionStart) (IssuedSession, error) {
	now := e.now()
	out := e.issue(s.TenantID, s.ConnectorID, s.UserID, 0, now)
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		names, err := tx.ConnectorNames(ctx, s.TenantID)
		if err != nil {
			return err
		}
		if _, ok := names[s.ConnectorID]; !ok {
			return fmt.Errorf("start session: connector %d is not one of tenant %d's", s.ConnectorID, s.TenantID)
		}
		u, err := tx.User(ctx, s.TenantID, 0, s.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return MaySignIn(nil, now)
		}
		if err != nil {
			return err
		}
		if err := MaySignIn(&u, now); err != nil {
			return err
		}
		out.UserPK = u.PK
		if err := tx.InsertSession(ctx, &out.Session); err != nil {
			return err
		}
		return sessionEvent(ctx, tx, SourceOIDC, s.ConnectorID, s.TenantID, u.ID, "session-start",
			map[string]any{"session": out.ID, "expiresAt": out.ExpiresAt})
	})
	if err != nil {
		return IssuedSession{}, err
	}
	return out, nil
}

// SessionError is a request whose session does not let it in: none, an
// unknown or ended one, one past its expiry, or one of another tenant. It
// is a 401 at every edge; Msg says what happened and to sign in again.
type SessionError struct {
	// Reason: "none", "unknown", "ended", "idle", "expired", "tenant".
	Reason string
	Msg    string
}

func (e *SessionError) Error() string { return e.Msg }

// LiveSession is a session that lets its person in now: who they are
// (tenant and user) and which connector signed them in.
type LiveSession struct {
	ID            int64
	TenantID      int64
	TenantName    string
	ConfigVersion int64
	ConnectorID   int64
	ConnectorName string
	UserID        string
	UserPK        int64
	ExpiresAt     time.Time
}

// Principal is who a session's requests read as: its tenant and the
// connector that signed the person in (whose external IDs they see).
func (s LiveSession) Principal() store.Principal {
	return store.Principal{TenantID: s.TenantID, TenantName: s.TenantName, ConnectorID: s.ConnectorID,
		ConnectorName: s.ConnectorName, ConfigVersion: s.ConfigVersion}
}

// Session finds the live session of tenant whose cookie holds secret. It
// refuses, with a [*SessionError], a secret that names no session, a
// session that ended (logout, an administrator, its user disabled or
// deleted), is past its idle or absolute expiry, or belongs to another
// tenant; and, with a [*SignInError], one whose user [MaySignIn] refuses
// now (their access window closed). A session last seen more than a
// minute ago is seen again: its idle expiry moves on.
func (e *Engine) Session(ctx context.Context, tenant, secret string) (LiveSession, error) {
	s, now, err := e.liveSession(ctx, tenant, secret)
	if err != nil {
		return LiveSession{}, err
	}
	if consoleSession(s) {
		return LiveSession{}, &SessionError{"unknown", "this is a console session, not a sign-in session; sign in again"}
	}
	if err := MaySignIn(s.User, now); err != nil {
		return LiveSession{}, err
	}
	if err := e.touch(ctx, s, now); err != nil {
		return LiveSession{}, err
	}
	return LiveSession{ID: s.ID, TenantID: s.TenantID, TenantName: s.TenantName, ConfigVersion: s.ConfigVersion,
		ConnectorID: s.ConnectorID, ConnectorName: s.ConnectorName, UserID: s.UserID, UserPK: s.UserPK, ExpiresAt: s.ExpiresAt}, nil
}

// liveSession finds the session of tenant whose cookie holds secret, and
// refuses, with a [*SessionError], one that is unknown, ended, past an
// expiry, or of another tenant. It returns the time it judged by.
func (e *Engine) liveSession(ctx context.Context, tenant, secret string) (store.SessionUser, time.Time, error) {
	if secret == "" {
		return store.SessionUser{}, time.Time{}, &SessionError{"none", "not signed in: sign in first"}
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != 32 {
		return store.SessionUser{}, time.Time{}, &SessionError{"unknown", "the session cookie is not a scimd session; sign in again"}
	}
	hash := sha256.Sum256(raw)
	s, err := e.db.SessionByHash(ctx, hash[:])
	if errors.Is(err, store.ErrNotFound) || err == nil && subtle.ConstantTimeCompare(s.Hash, hash[:]) != 1 {
		return store.SessionUser{}, time.Time{}, &SessionError{"unknown", "the session is unknown; sign in again"}
	}
	if err != nil {
		return store.SessionUser{}, time.Time{}, err
	}
	now := e.now()
	switch {
	case s.TenantName != tenant:
		err = &SessionError{"tenant", "this session was started for another tenant; sign in to this one"}
	case s.EndedAt != nil:
		err = &SessionError{"ended", fmt.Sprintf("the session has ended (%s); sign in again", s.EndReason)}
	case !now.Before(s.ExpiresAt):
		err = &SessionError{"expired", "the session has expired; sign in again"}
	case !now.Before(s.IdleExpiresAt):
		err = &SessionError{"idle", "the session expired after a time without use; sign in again"}
	}
	if err != nil {
		return store.SessionUser{}, time.Time{}, err
	}
	return s, now, nil
}

// touch records a use of a live session last seen more than a minute
// ago: its idle expiry moves on.
func (e *Engine) touch(ctx context.Context, s store.SessionUser, now time.Time) error {
	if now.Sub(s.LastSeenAt) < touchEvery {
		return nil
	}
	idle, _ := e.lifetimes()
	until := now.Add(idle)
	if until.After(s.ExpiresAt) {
		until = s.ExpiresAt
	}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.TouchSession(ctx, s.ID, now, until)
	})
}

// EndSession ends the live session of tenant whose cookie holds secret
// (logout), with an audit event of its user, and reports whether there was
// one to end: logging out twice, or with no session, is not an error.
func (e *Engine) EndSession(ctx context.Context, tenant, secret string) (bool, error) {
	return e.endSession(ctx, tenant, secret, func(s store.SessionUser) bool { return !consoleSession(s) },
		func(ctx context.Context, tx *store.Tx, s store.SessionUser) error {
			return sessionEvent(ctx, tx, SourceOIDC, s.ConnectorID, s.TenantID, s.UserID, "session-end",
				map[string]any{"session": s.ID, "reason": EndLogout})
		})
}

// endSession ends, as a logout, the live session of tenant whose cookie
// holds secret if mine says it is one of the caller's kind, writing the
// event audit makes in the same transaction, and reports whether there
// was one to end.
func (e *Engine) endSession(ctx context.Context, tenant, secret string, mine func(store.SessionUser) bool,
	audit func(context.Context, *store.Tx, store.SessionUser) error) (bool, error) {
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != 32 {
		return false, nil
	}
	hash := sha256.Sum256(raw)
	ended := false
	err = e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		s, err := tx.SessionByHash(ctx, hash[:])
		if errors.Is(err, store.ErrNotFound) || err == nil && (s.TenantName != tenant || !mine(s)) {
			return nil
		}
		if err != nil {
			return err
		}
		if ended, err = tx.EndSession(ctx, s.ID, e.now(), EndLogout); err != nil || !ended {
			return err
		}
		return audit(ctx, tx, s)
	})
	return ended, err
}

// EndUserSessions ends every live session of a user of by's tenant (the
// admin API, scimd session end), with an audit event naming by and how
// many ended, and says how many. An unknown id, or a user outside an
// org-unit administrator's unit, is [store.ErrNotFound].
func (e *Engine) EndUserSessions(ctx context.Context, by store.Principal, userID string) (int, error) {
	var n int
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := tx.User(ctx, by.TenantID, 0, userID)
		if err != nil {
			return err
		}
		if by.OrgUnit != "" {
			if in, err := tx.UserInOrgUnit(ctx, u.PK, by.OrgUnit); err != nil || !in {
				if err == nil {
					err = store.ErrNotFound
				}
				return err
			}
		}
		if n, err = tx.EndUserSessions(ctx, u.PK, e.now(), EndByAdmin); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "session-end", string(KindUser), u.ID,
			map[string]any{"reason": EndByAdmin, "sessions": n})
	})
	return n, err
}

// endSessions ends the live sessions of a user whom a write disables or
// deletes, in that write's transaction, with an event of its own when
// there were any. It costs one statement, and runs only on such writes.
func endSessions(ctx context.Context, tx *store.Tx, in Input, u *store.User, reason string) error {
	n, err := tx.EndUserSessions(ctx, u.PK, time.Now().UTC().Truncate(time.Microsecond), reason)
	if err != nil || n == 0 {
		return err
	}
	return sessionEvent(ctx, tx, in.Source, in.ConnectorID, in.TenantID, u.ID, "session-end",
		map[string]any{"reason": reason, "sessions": n})
}

// disables reports whether a write that takes a user from status before
// to u's status disables them.
func disables(before string, u *store.User) bool {
	return u.Status == store.StatusDisabled && before != store.StatusDisabled
}

func sessionEvent(ctx context.Context, tx *store.Tx, source Source, connectorID, tenantID int64, userID, action string, detail map[string]any) error {
	err := tx.AppendAudit(ctx, &store.AuditEvent{TenantID: tenantID, Source: string(source), ConnectorID: connectorID,
		Action: action, ResourceType: string(KindUser), ResourceID: userID, Detail: detail})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
