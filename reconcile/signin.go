package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/store"
)

// SignInError refuses a person's sign-in: Reason is a short code a client
// can branch on, Msg a sentence for the person or their IT team. Nothing
// of the user is written; the refusal is an audit event.
type SignInError struct {
	Reason string
	Msg    string
	// UserID is the user refused, when one was identified.
	UserID string
}

func (e *SignInError) Error() string { return e.Msg }

// Reasons of a [SignInError].
const (
	// RefusedDisabled: the user's account is disabled.
	RefusedDisabled = "disabled"
	// RefusedNotYet and RefusedExpired: now is before the user's access
	// window opens, or after it closed.
	RefusedNotYet  = "not_yet_valid"
	RefusedExpired = "expired"
	// RefusedNotProvisioned: nobody matches, and the connector may not
	// create users at sign-in.
	RefusedNotProvisioned = "not_provisioned"
)

// MaySignIn says whether u may sign in at now: a disabled account may not,
// nor one outside its access window. A pending account may: its first
// sign-in activates it (see [Engine.SignIn]). A deleted user is not
// stored, so there is no user to ask about.
func MaySignIn(u *store.User, now time.Time) *SignInError {
	switch {
	case u.Status == store.StatusDisabled || u.Status != store.StatusPending && !u.Active:
		return &SignInError{Reason: RefusedDisabled, UserID: u.ID, Msg: "this account is disabled; ask your IT team to enable it"}
	case !u.AccessStart.IsZero() && now.Before(u.AccessStart):
		return &SignInError{Reason: RefusedNotYet, UserID: u.ID, Msg: fmt.Sprintf("this account's access starts on %s", u.AccessStart.UTC().Format(time.RFC3339))}
	case !u.AccessEnd.IsZero() && !now.Before(u.AccessEnd):
		return &SignInError{Reason: RefusedExpired, UserID: u.ID, Msg: fmt.Sprintf("this account's access ended on %s", u.AccessEnd.UTC().Format(time.RFC3339))}
	}
	return nil
}

// SignIn provisions the person an OIDC connector's login names (in is an
// [Upsert] of [SourceOIDC], its ExternalID the token's sub) and lets them
// in: it plans the upsert, refuses, writing nothing but an audit event, a
// user who may not sign in (disabled, outside their access window, or
// nobody matched where create is false) as the plan leaves them, activates
// a pending user, applies the plan, and records the sign-in. identity is
// what the audit events say of who signed in (issuer, subject, email; never
// a token).
func (e *Engine) SignIn(ctx context.Context, in Input, create bool, identity map[string]any, now time.Time) (*Plan, error) {
	if in.Source != SourceOIDC || in.Op != Upsert || in.Kind != KindUser {
		return nil, fmt.Errorf("reconcile: SignIn takes an oidc user upsert, not %s %s %s", in.Source, in.Op, in.Kind)
	}
	p, err := e.planSignIn(ctx, in)
	if err != nil {
		return nil, err
	}
	if p.Match == nil && !create {
		refusal := &SignInError{Reason: RefusedNotProvisioned, Msg: fmt.Sprintf(
			"you have no account here yet, and connector %s only signs in people who have one: ask your IT team to provision you", in.ConnectorName)}
		return nil, e.refuse(ctx, in.Principal, refusal, identity)
	}
	if p.Match != nil {
		// A login names one email and the names; the user may hold more
		// (pushed by SCIM): those stay.
		in.Attrs = mergeLogin(p.Match.user.Attrs, in.Attrs)
		if p.Match.user.Status == store.StatusPending {
			// The first sign-in activates a pending account.
			in.Attrs["active"] = true
		}
		if p, err = e.planSignIn(ctx, in); err != nil {
			return nil, err
		}
	}
	if refusal := MaySignIn(p.User, now); refusal != nil {
		return nil, e.refuse(ctx, in.Principal, refusal, identity)
	}
	if p, err = e.Apply(ctx, in); err != nil {
		return nil, err
	}
	if refusal := MaySignIn(p.User, now); refusal != nil {
		// Changed between the preview and the write (disabled meanwhile).
		return nil, e.refuse(ctx, in.Principal, refusal, identity)
	}
	err = e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: in.TenantID, Source: string(SourceOIDC), ConnectorID: in.ConnectorID,
			Action: "signin", ResourceType: string(KindUser), ResourceID: p.User.ID,
			Detail: map[string]any{"identity": identity, "planned": p.Action}})
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return p, nil
}

// planSignIn previews a sign-in's upsert. Its reads are not one snapshot:
// the same login racing it may create the user between the match, which
// finds nobody, and the userName check, which finds them; then it plans
// again, and matches them.
func (e *Engine) planSignIn(ctx context.Context, in Input) (*Plan, error) {
	for attempt := 0; ; attempt++ {
		p, err := e.Plan(ctx, in)
		var conflict *store.ConflictError
		if errors.As(err, &conflict) && conflict.Attribute == "userName" && attempt < replans {
			continue
		}
		return p, err
	}
}

// RefuseSignIn records the refusal of a sign-in that never reached a plan
// (a token the connector's policy refuses: an unverified email, an email
// outside its domains) and returns it.
func (e *Engine) RefuseSignIn(ctx context.Context, by store.Principal, refusal *SignInError, identity map[string]any) error {
	return e.refuse(ctx, by, refusal, identity)
}

// refuse appends the audit event of a refused sign-in and returns the
// refusal, or the database's error.
func (e *Engine) refuse(ctx context.Context, by store.Principal, refusal *SignInError, identity map[string]any) error {
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: by.TenantID, Source: string(SourceOIDC), ConnectorID: by.ConnectorID,
			Action: "refuse", ResourceType: string(KindUser), ResourceID: refusal.UserID,
			Detail: map[string]any{"reason": refusal.Reason, "message": refusal.Msg, "identity": identity}})
	})
	if err != nil {
		return errors.Join(refusal, fmt.Errorf("audit: %w", err))
	}
	return refusal
}

// mergeLogin returns a login's attributes for a user who has cur: the
// name's parts the login lacks are kept, and the login's email joins the
// user's emails (as they are, when they hold it already) instead of
// replacing them.
func mergeLogin(cur, login map[string]any) map[string]any {
	out := clone(login)
	if n, ok := login["name"].(map[string]any); ok {
		if old, ok := cur["name"].(map[string]any); ok {
			merged := clone(old)
			for k, v := range n {
				merged[k] = v
			}
			out["name"] = merged
		}
	}
	list, _ := login["emails"].([]any)
	old, _ := cur["emails"].([]any)
	if len(list) != 1 || len(old) == 0 {
		return out
	}
	e, _ := list[0].(map[string]any)
	value, _ := e["value"].(string)
	emails := slices.Clone(old)
	held := slices.ContainsFunc(old, func(v any) bool {
		m, _ := v.(map[string]any)
		s, _ := m["value"].(string)
		return strings.EqualFold(strings.TrimSpace(s), value)
	})
	if !held {
		e = clone(e)
		e["primary"] = false
		emails = append(emails, e)
	}
	out["emails"] = emails
	return out
}
