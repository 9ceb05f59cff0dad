package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// The console's sign-in through SSO. A person signs in through one of the
// tenant's OIDC connectors as at any login (jit: the reconcile pipeline
// matches, creates or updates them and their connector's rules grant
// what they grant), and is sent back to the console with a fresh
// session. [Engine.ConsoleSSOSignIn] turns that session, once, into a
// console session if the person holds the administrator role: a session
// (store.Session) of the person (user_id, user_pk) through the tenant's
// admin connector ConsoleConnector. Its requests act as that connector
// narrowed to the person's org unit, and name the person
// (store.Principal.ActorID), whom every audit event of theirs names.
//
// Who is an administrator is the mapping rules' to say (a role an
// administrator grants by hand does not count): a person holding the
// role ConsoleAdminRole administers their org unit and everything
// below it (the whole tenant when they hold no org unit); one holding
// ConsoleTenantAdminRole administers the whole tenant wherever they are.
// Both are read again at every request of the session, so a rule that
// stops granting the role, a move to another unit, a disable or a
// delete takes effect at the next request.

// The roles that make a person a console administrator (roles are
// matched in any case, as every role is).
const (
	// ConsoleAdminRole administers the holder's org unit and the units
	// below it; the whole tenant when they hold no org unit.
	ConsoleAdminRole = "scimd-admin"
	// ConsoleTenantAdminRole administers the whole tenant.
	ConsoleTenantAdminRole = "scimd-tenant-admin"
)

// ConsoleSSOFresh is how recent a person's sign-in must be to become a
// console session: the console takes a sign-in made for it, not an old
// session the browser happens to hold.
const ConsoleSSOFresh = 5 * time.Minute

// EndConsoleSignIn is the end reason of the person's session a console
// sign-in turned into a console session.
const EndConsoleSignIn = "became a console session"

// ConsoleSSOSignIn turns the fresh sign-in session of tenant whose cookie
// holds personSecret (a person just signed in through an OIDC connector)
// into a console session acting as the tenant's admin connector
// ConsoleConnector, scoped as the person's roles say (see
// [ConsoleAdminRole]), and ends the person's session: it is used once.
// A session that is not a live, fresh person's is a [*SessionError]; a
// person who may not sign in now is a [*SignInError]; one without the role
// is a [*SignInError] with reason "not_admin", audited with the person
// named.
func (e *Engine) ConsoleSSOSignIn(ctx context.Context, tenant, personSecret string) (IssuedSession, store.Principal, error) {
	s, now, err := e.liveSession(ctx, tenant, personSecret)
	if err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	if s.UserID == ConsoleSessionUser || s.UserPK == 0 || s.ConnectorKind != store.KindOIDC {
		return IssuedSession{}, store.Principal{}, &SessionError{"unknown", "this is not a sign-in through SSO; sign in with SSO"}
	}
	if now.Sub(s.CreatedAt) > ConsoleSSOFresh {
		return IssuedSession{}, store.Principal{}, &SessionError{"stale", "this sign-in is older than the console accepts; sign in with SSO again"}
	}
	if err := MaySignIn(s.User, now); err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	admin, err := e.consoleConnector(ctx, tenant)
	if err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	p, why, err := e.consoleAdmin(ctx, admin, s.User)
	if err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	if why != nil {
		by := store.Principal{TenantID: s.TenantID, TenantName: s.TenantName, ConnectorID: s.ConnectorID, ConnectorName: s.ConnectorName}
		err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: s.TenantID, Source: string(SourceOIDC), ConnectorID: s.ConnectorID,
				Action: "console-sign-in-refused", ResourceType: string(KindUser), ResourceID: s.UserID,
				Detail: withActor(store.Principal{ActorID: s.UserID, ActorUserName: s.User.UserName}, map[string]any{"reason": why.Reason, "via": by.ConnectorName})})
		})
		if err != nil {
			return IssuedSession{}, store.Principal{}, fmt.Errorf("audit: %w", err)
		}
		return IssuedSession{}, store.Principal{}, why
	}
	out := e.issue(p.TenantID, p.ConnectorID, s.UserID, s.UserPK, now)
	err = e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ended, err := tx.EndSession(ctx, s.ID, now, EndConsoleSignIn)
		if err != nil {
			return err
		}
		if !ended { // another request used it first
			return &SessionError{"ended", "this sign-in has been used already; sign in with SSO again"}
		}
		if err := sessionEvent(ctx, tx, SourceOIDC, s.ConnectorID, s.TenantID, s.UserID, "session-end",
			map[string]any{"session": s.ID, "reason": EndConsoleSignIn}); err != nil {
			return err
		}
		if err := tx.InsertSession(ctx, &out.Session); err != nil {
			return err
		}
		scope := cmp.Or(p.OrgUnit, "tenant")
		return audit(ctx, tx, p, p.TenantID, "console-sign-in", string(KindUser), s.UserID,
			map[string]any{"session": out.ID, "expiresAt": out.ExpiresAt, "via": s.ConnectorName, "scope": scope})
	})
	if err != nil {
		return IssuedSession{}, store.Principal{}, err
	}
	return out, p, nil
}

// consoleConnector is the principal of the tenant's admin connector
// ConsoleConnector, created (tenant-wide) if missing, as a bootstrap link
// does.
func (e *Engine) consoleConnector(ctx context.Context, tenant string) (store.Principal, error) {
	p, err := e.db.ConnectorPrincipal(ctx, tenant, ConsoleConnector)
	if errors.Is(err, store.ErrNotFound) {
		if err := e.SetConnectorAdmin(ctx, CommandLine, tenant, ConsoleConnector, ""); err != nil {
			return store.Principal{}, err
		}
		p, err = e.db.ConnectorPrincipal(ctx, tenant, ConsoleConnector)
	}
	if err != nil {
		return store.Principal{}, err
	}
	if p.Kind != store.KindAdmin || p.OrgUnit != "" {
		return store.Principal{}, &StateError{Msg: fmt.Sprintf("connector %q of tenant %q is not a tenant-wide admin connector; the console signs in as one", ConsoleConnector, tenant)}
	}
	return p, nil
}

// consoleAdmin is the principal a console session of user u acts as:
// admin, the tenant's console connector, narrowed to u's org unit unless
// u holds ConsoleTenantAdminRole, and naming u. A u holding neither role,
// or several org units none of which holds the others, is refused (the
// *SignInError); the console never widens a person's scope to cover
// units they hold apart.
func (e *Engine) consoleAdmin(ctx context.Context, admin store.Principal, u *store.User) (store.Principal, *SignInError, error) {
	grants, err := e.db.UserGrants(ctx, u.PK)
	if err != nil {
		return store.Principal{}, nil, err
	}
	var scoped, tenantWide bool
	var units []string
	for _, g := range grants {
		switch {
		// Only a rule's grant counts: an administrator's own grants
		// (PUT .../grants) would let one of an org unit make a
		// tenant-wide one.
		case g.Kind == store.GrantRole && g.Rule != "" && store.Fold(g.Target) == store.Fold(ConsoleAdminRole):
			scoped = true
		case g.Kind == store.GrantRole && g.Rule != "" && store.Fold(g.Target) == store.Fold(ConsoleTenantAdminRole):
			tenantWide = true
		case g.Kind == store.GrantOrgUnit:
			units = append(units, g.Target)
		}
	}
	if !scoped && !tenantWide {
		return store.Principal{}, &SignInError{"not_admin", fmt.Sprintf(
			"%s does not hold the role %s (or %s), which the console's administrators hold: ask your IT team to grant it in the mapping rules",
			u.UserName, ConsoleAdminRole, ConsoleTenantAdminRole)}, nil
	}
	p := admin
	p.ActorID, p.ActorUserName = u.ID, u.UserName
	if tenantWide {
		return p, nil, nil
	}
	unit, ok := topUnit(units)
	if !ok {
		return store.Principal{}, &SignInError{"org_units", fmt.Sprintf(
			"%s holds several org units (%s), none of which holds the others, and the console scopes an administrator to one: ask your IT team to grant one, or the role %s",
			u.UserName, strings.Join(units, ", "), ConsoleTenantAdminRole)}, nil
	}
	p.OrgUnit = unit
	return p, nil, nil
}

// topUnit is the unit of units that is, or holds, every other ("" for
// none), and whether there is one.
func topUnit(units []string) (string, bool) {
	if len(units) == 0 {
		return "", true
	}
	holds := func(top, u string) bool {
		t, f := store.Fold(top), store.Fold(u)
		return f == t || strings.HasPrefix(f, t+"/")
	}
	for _, top := range units {
		if !slices.ContainsFunc(units, func(u string) bool { return !holds(top, u) }) {
			return top, true
		}
	}
	return "", false
}

// LoginConnectors names the tenant's OIDC connectors, as its
// configuration (saved, else the file's) lists them: the sign-ins the
// console offers. An unknown tenant has none.
func (e *Engine) LoginConnectors(ctx context.Context, tenant string) ([]string, error) {
	version := int64(0)
	t, err := e.db.Tenant(ctx, tenant)
	switch {
	case err == nil:
		if version, err = e.db.TenantConfigVersion(ctx, t.ID); err != nil {
			return nil, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	cfg, _, err := e.configAt(ctx, e.db, t.ID, tenant, version)
	if err != nil {
		return nil, err
	}
	tc, ok := cfg.Tenant(tenant)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, c := range tc.Connectors {
		if c.Kind == rules.KindOIDC && c.OIDC != nil {
			out = append(out, c.Name)
		}
	}
	return out, nil
}
