package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/scimd/scimd/store"
)

// The lifecycle of an account in an administrator's hands (000 and 004
// seeds): disable, enable, delete (soft), restore. Each verb is one
// transaction with an audit event naming who did it (source admin, or cli
// for scimd's commands), checked against the principal's scope: an org
// unit's administrator reaches the users of their unit only, and a user
// outside it is [store.ErrNotFound] to them.

// StateError is a lifecycle change the user's state does not allow, such
// as restoring a user whose userName another user took meanwhile (409).
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

// scopedUser locks the user id of by's tenant in tx, if by may administer
// them. With deleted, a soft-deleted user is found too (restore); an org
// unit's administrator never finds one, since a delete takes the user's
// grants, their unit's included.
func scopedUser(ctx context.Context, tx *store.Tx, by store.Principal, id string, deleted bool) (store.User, error) {
	find := tx.User
	if deleted {
		find = tx.AnyUser
	}
	u, err := find(ctx, by.TenantID, 0, id)
	if err != nil || by.OrgUnit == "" {
		return u, err
	}
	if in, err := tx.UserInOrgUnit(ctx, u.PK, by.OrgUnit); err != nil || !in {
		return store.User{}, cmp.Or(err, store.ErrNotFound)
	}
	return u, nil
}

// adminInput is the input a lifecycle verb acts as, for the helpers the
// reconcile writes share (sessions, their events).
func adminInput(by store.Principal) Input {
	in := Input{Source: SourceAdmin, Principal: by, Kind: KindUser}
	if by.ConnectorID == 0 {
		in.Source = SourceCLI
	}
	return in
}

// setStatus moves user id to status, recording by as the setter of the
// status attribute (source precedence decides whether a push later may
// change it back), with an audit event: action, before and after.
func (e *Engine) setStatus(ctx context.Context, by store.Principal, id, action string, allow func(store.User) error, status string) (store.User, error) {
	var out store.User
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		if err := allow(u); err != nil {
			return err
		}
		out = u
		if u.Status == status {
			return nil // already so: nothing to write or audit
		}
		before := u.Status
		u.Status = status
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		in := adminInput(by)
		if err := tx.SetAttributeSources(ctx, u.PK, []store.AttributeSource{{Attribute: "status", Source: string(in.Source), ConnectorID: by.ConnectorID}}); err != nil {
			return err
		}
		if status == store.StatusDisabled {
			if err := endSessions(ctx, tx, in, &u, EndUserDisable); err != nil {
				return err
			}
		}
		out = u
		return audit(ctx, tx, by, by.TenantID, action, string(KindUser), u.ID, map[string]any{
			"before": map[string]any{"status": before}, "after": map[string]any{"status": status}})
	})
	return out, err
}

// DisableUser disables user id of by's tenant: SCIM shows them active
// false, they cannot sign in and their live sessions end. Disabling a
// disabled user changes nothing.
func (e *Engine) DisableUser(ctx context.Context, by store.Principal, id string) (store.User, error) {
	return e.setStatus(ctx, by, id, "disable", func(store.User) error { return nil }, store.StatusDisabled)
}

// EnableUser enables user id of by's tenant. A user pending activation
// stays pending until they activate their account, unless force: then
// they are enabled without it ([StateError] otherwise). An access window
// still applies: outside it the user shows active false.
func (e *Engine) EnableUser(ctx context.Context, by store.Principal, id string, force bool) (store.User, error) {
	return e.setStatus(ctx, by, id, "enable", func(u store.User) error {
		if u.Status == store.StatusPending && !force {
			return &StateError{fmt.Sprintf("user %s has not activated their account yet: they become active when they do (resend the activation), or enable them with force to skip it", u.UserName)}
		}
		return nil
	}, store.StatusActive)
}

// DeleteUser soft-deletes user id of by's tenant, as a SCIM DELETE does:
// every read then treats them as gone, their grants and memberships go,
// their sessions end and a sign-in does not create them anew. The row
// stays for [Engine.RestoreUser]; [Engine.EraseUser] removes it for good.
func (e *Engine) DeleteUser(ctx context.Context, by store.Principal, id string) error {
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		if err := softDelete(ctx, tx, adminInput(by), &u, e.now()); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "delete", string(KindUser), u.ID,
			map[string]any{"before": map[string]any{"userName": u.UserName, "status": u.Status}})
	})
}

// RestoreUser brings back soft-deleted user id of by's tenant. They come
// back in their org unit, without their roles and groups (reassign them),
// and disabled: an administrator enables them ([Engine.EnableUser]) when they
// hold what they should. A userName another user took since the delete
// is a [StateError], as is a user not deleted.
func (e *Engine) RestoreUser(ctx context.Context, by store.Principal, id string) (store.User, error) {
	var out store.User
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, true)
		if err != nil {
			return err
		}
		if u.DeletedAt.IsZero() {
			return &StateError{fmt.Sprintf("user %s is not deleted: only a deleted user can be restored", u.UserName)}
		}
		taken := &StateError{fmt.Sprintf("user %s cannot be restored: another user took the userName %s since the delete; rename or delete that user first", u.ID, u.UserName)}
		if t, err := tx.UserNameTaken(ctx, by.TenantID, u.UserName); err != nil || t {
			return cmp.Or(err, error(taken))
		}
		err = tx.RestoreUser(ctx, u.PK, store.StatusDisabled, e.now())
		var ce *store.ConflictError
		if errors.As(err, &ce) {
			return taken // taken by a write that raced this one
		}
		if err != nil {
			return err
		}
		if out, err = tx.User(ctx, by.TenantID, 0, id); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "restore", string(KindUser), u.ID, map[string]any{
			"before": map[string]any{"deleted": true, "status": u.Status},
			"after":  map[string]any{"deleted": false, "status": store.StatusDisabled}})
	})
	return out, err
}

// Grants are an administrator's manual roles and groups of a user, by
// name: what [Engine.SetUserGrants] sets.
type Grants struct {
	Roles  []string `json:"roles"`
	Groups []string `json:"groups"`
}

// manual reports whether g is an administrator's grant, which no rule
// made and so no rule revokes (rules revoke what their own connector and
// rule granted, mapping.go).
func manual(g store.Grant) bool {
	return g.Rule == "" && (g.Source == string(SourceAdmin) || g.Source == string(SourceCLI)) &&
		(g.Kind == store.GrantRole || g.Kind == store.GrantGroup)
}

// SetUserGrants makes want the manual roles and groups of user id of by's
// tenant: those missing are granted (source admin, or cli, and no rule),
// the manual ones not wanted are revoked; what connectors' rules granted
// stays as it is, and their rules never revoke these. A role or group
// that does not exist is an [*InputError] naming it; a guest given a
// second group is a [StateError]. It returns the user's grants after.
func (e *Engine) SetUserGrants(ctx context.Context, by store.Principal, id string, want Grants) ([]store.Grant, error) {
	var out []store.Grant
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		targets := map[string]map[int64]bool{store.GrantRole: {}, store.GrantGroup: {}}
		for _, name := range want.Roles {
			ro, err := tx.Role(ctx, by.TenantID, name)
			if errors.Is(err, store.ErrNotFound) {
				return &InputError{Attribute: "roles", Msg: fmt.Sprintf("role %q does not exist in this tenant: roles come from the tenant's configuration (roles:)", name)}
			}
			if err != nil {
				return err
			}
			targets[store.GrantRole][ro.PK] = true
		}
		for _, name := range want.Groups {
			g, err := tx.GroupNamed(ctx, by.TenantID, name)
			if errors.Is(err, store.ErrNotFound) {
				return &InputError{Attribute: "groups", Msg: fmt.Sprintf("group %q does not exist in this tenant: create it first (POST /admin/v1/%s/groups)", name, by.TenantName)}
			}
			if err != nil {
				return err
			}
			targets[store.GrantGroup][g.PK] = true
		}
		before, err := tx.UserGrants(ctx, u.PK)
		if err != nil {
			return err
		}
		held := map[string]map[int64]bool{store.GrantRole: {}, store.GrantGroup: {}}
		groups := map[int64]bool{} // every group the user will hold, for a guest
		for _, g := range before {
			if !manual(g) {
				if g.Kind == store.GrantGroup {
					groups[g.TargetPK] = true
				}
				continue
			}
			if !targets[g.Kind][g.TargetPK] {
				if err := tx.RemoveGrant(ctx, u.PK, g); err != nil {
					return err
				}
				continue
			}
			held[g.Kind][g.TargetPK] = true
		}
		source := adminInput(by).Source
		for _, kind := range []string{store.GrantRole, store.GrantGroup} {
			for pk := range targets[kind] {
				if kind == store.GrantGroup {
					groups[pk] = true
				}
				if held[kind][pk] {
					continue
				}
				if err := tx.AddGrant(ctx, u.PK, store.Grant{Kind: kind, TargetPK: pk, Source: string(source), ConnectorID: by.ConnectorID}); err != nil {
					return err
				}
			}
		}
		if u.Guest && len(groups) > 1 {
			return &StateError{fmt.Sprintf("user %s is a guest, limited to exactly one group: they would hold %d; remove the other group first, or make them a member instead of a guest", u.UserName, len(groups))}
		}
		if out, err = tx.UserGrants(ctx, u.PK); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "grant", string(KindUser), u.ID, map[string]any{
			"before": manualNames(before), "after": manualNames(out)})
	})
	return out, err
}

// manualNames is the manual part of grants as an audit event shows it.
func manualNames(gs []store.Grant) map[string]any {
	out := Grants{Roles: []string{}, Groups: []string{}}
	for _, g := range gs {
		switch {
		case !manual(g):
		case g.Kind == store.GrantRole:
			out.Roles = append(out.Roles, g.Target)
		default:
			out.Groups = append(out.Groups, g.Target)
		}
	}
	return map[string]any{"roles": out.Roles, "groups": out.Groups}
}
