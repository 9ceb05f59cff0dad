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

// RefusedNotProvisioned is why [Engine.SignIn] refuses a person nobody
// matches, for a connector that may not create users; the other reasons
// are [MaySignIn]'s.
const RefusedNotProvisioned = "not_provisioned"

// SignIn provisions the person an OIDC connector's login names (in is an
// [Upsert] of [SourceOIDC], its ExternalID the token's sub) and lets them
// in: it plans the upsert, refuses, writing nothing but an audit event, a
// user who may not sign in ([MaySignIn]: disabled, outside their access
// window; or nobody matched where create is false) as the plan leaves them, activates
// a pending user, applies the plan, and records the sign-in. identity is
// what the audit events say of who signed in (issuer, subject, email; never
// a token).
func (e *Engine) SignIn(ctx context.Context, in Input, create bool, identity map[string]any, now time.Time) (*Plan, error) {
	if in.Source != SourceOIDC || in.Op != Upsert || in.Kind != KindUser {
		return nil, fmt.Errorf("reconcile: SignIn takes an oidc user upsert, not %s %s %s", in.Source, in.Op, in.Kind)
	}
	if in.Claims == nil {
		// A sign-in's claims are known, if none: only a user mapped again
		// (rulesInput) has no claims at hand.
		in.Claims = map[string]any{}
	}
	p, err := e.planSignIn(ctx, in)
	if err != nil {
		return nil, e.auditLocal(ctx, in, err, identity)
	}
	if p.Match == nil {
		// Nobody live: was this person deleted? The identity provider
		// deprovisioned them; a login must not undo that.
		buried, err := e.db.Buried(ctx, in.TenantID, signInKeys(in))
		if err != nil {
			return nil, err
		}
		if buried {
			refusal := &SignInError{Reason: RefusedDeleted, Msg: "your account here was deleted by your organisation's provisioning; " +
				"signing in does not create it again: ask your IT team to give you access again"}
			return nil, e.refuse(ctx, in.Principal, refusal, "", identity)
		}
	}
	if p.Match == nil && !create {
		refusal := &SignInError{Reason: RefusedNotProvisioned, Msg: fmt.Sprintf(
			"you have no account here yet, and connector %s only signs in people who have one: ask your IT team to provision you", in.ConnectorName)}
		return nil, e.refuse(ctx, in.Principal, refusal, "", identity)
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
			return nil, e.auditLocal(ctx, in, err, identity)
		}
	}
	if err := e.maySignIn(ctx, in.Principal, p.User, now, identity); err != nil {
		return nil, err
	}
	if p, err = e.Apply(ctx, in); err != nil {
		return nil, err
	}
	// Changed between the preview and the write (disabled meanwhile)?
	if err := e.maySignIn(ctx, in.Principal, p.User, now, identity); err != nil {
		return nil, err
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
	return e.refuse(ctx, by, refusal, "", identity)
}

// maySignIn is [MaySignIn] with the refusal audited.
func (e *Engine) maySignIn(ctx context.Context, by store.Principal, u *store.User, now time.Time, identity map[string]any) error {
	err := MaySignIn(u, now)
	var refusal *SignInError
	if !errors.As(err, &refusal) {
		return err
	}
	id := ""
	if u != nil {
		id = u.ID
	}
	return e.refuse(ctx, by, refusal, id, identity)
}

// refuse appends the audit event of a refused sign-in, of the user with
// the given id ("" for none), and returns the refusal, or the database's
// error.
func (e *Engine) refuse(ctx context.Context, by store.Principal, refusal *SignInError, userID string, identity map[string]any) error {
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: by.TenantID, Source: string(SourceOIDC), ConnectorID: by.ConnectorID,
			Action: "refuse", ResourceType: string(KindUser), ResourceID: userID,
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

// signInKeys are the tombstone keys of a sign-in's identity: the
// connector's external ID (the token's sub), the userName and the
// emails the login carries (only verified ones reach the input).
func signInKeys(in Input) [][]byte {
	var keys [][]byte
	if in.ExternalID != "" {
		keys = append(keys, store.ExternalIDKey(in.ConnectorID, in.ExternalID))
	}
	if name, _ := in.Attrs["userName"].(string); name != "" {
		keys = append(keys, store.UserNameKey(name))
	}
	for _, e := range emails(in.Attrs) {
		keys = append(keys, store.EmailKey(e))
	}
	return keys
}
