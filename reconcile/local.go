package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Local (break-glass) users: an administrator marks a user local
// (SetUserLocal), and from then on no connector may match, change, disable
// or delete them; administrators still may. planUser refuses a connector's
// write that would reach one with a [*LocalUserError], read off the row it
// loads anyway (no extra query), and the edges record the refusal with an
// audit event of its own (refuseLocal), so that it survives the rollback
// of the write. A group write that adds or removes a local user as a
// member is refused too (guardMembers), and a group's rename does not map
// its local members again (remapMembers).

// LocalUserError refuses a connector's write (SCIM, a login, a CSV row)
// that would match, change, disable or delete a local user, or add or
// remove them as a group's member. Its message is meant for the client.
type LocalUserError struct {
	// UserID and UserName name the local user.
	UserID, UserName string
	// Key is the match key that found them ("" for a write by SCIM id).
	Key rules.MatchKey
	// Op is what the write asked for.
	Op Op
	// Group is the group whose write would add or remove the user as a
	// member ("" for a write of the user).
	Group string
}

func (e *LocalUserError) Error() string {
	how := "this write names"
	switch {
	case e.Group != "":
		how = fmt.Sprintf("this write of group %s adds or removes, as a member,", e.Group)
	case e.Key != "":
		how = fmt.Sprintf("%s matches", e.Key)
	}
	return fmt.Sprintf("%s user %s (%s), a local account managed only in scimd: no connector may match, change, disable or delete it; "+
		"an administrator may, or may unmark it (scimd user local --local=false)", how, e.UserName, e.UserID)
}

// connectorSource reports whether s is a connector's (an identity
// provider's push, a login, a CSV import), which may not reach a local
// user; an administrator's, the command line's and an activation's may.
func connectorSource(s Source) bool {
	return s == SourceSCIM || s == SourceOIDC || s == SourceCSV
}

// refuseLocal checks a user that in's plan found: a local user is a
// [*LocalUserError] for a connector's write.
func refuseLocal(in Input, u store.User, key rules.MatchKey) error {
	if !u.Local || !connectorSource(in.Source) {
		return nil
	}
	return &LocalUserError{UserID: u.ID, UserName: u.UserName, Key: key, Op: in.Op}
}

// localRefusal is the audit event of the refusal err of in.
func localRefusal(in Input, le *LocalUserError, identity map[string]any) store.AuditEvent {
	detail := map[string]any{"reason": "local", "op": string(le.Op), "message": le.Error()}
	if le.Key != "" {
		detail["matchedBy"] = string(le.Key)
	}
	if le.Group != "" {
		detail["group"] = le.Group
	}
	if identity != nil {
		detail["identity"] = identity
	}
	return store.AuditEvent{TenantID: in.TenantID, Source: string(in.Source), ConnectorID: in.ConnectorID,
		Action: "refuse", ResourceType: string(KindUser), ResourceID: le.UserID, Detail: detail}
}

// auditLocal records err, when it is a [*LocalUserError], with an audit
// event in a transaction of its own (in a batch: a savepoint of its own,
// which the write's rollback leaves alone), and returns err.
func (e *Engine) auditLocal(ctx context.Context, in Input, err error, identity map[string]any) error {
	le, ok := errors.AsType[*LocalUserError](err)
	if !ok {
		return err
	}
	event := localRefusal(in, le, identity)
	if aerr := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, &event) }); aerr != nil {
		return errors.Join(err, fmt.Errorf("audit: %w", aerr))
	}
	return err
}

// SetUserLocal marks user id of by's tenant local (a break-glass account,
// managed only in scimd) or not, with an audit event ("local" or
// "unlocal"); marking a user as they are changes nothing and records
// nothing. Only an administrator (the admin API, the command line) may.
func (e *Engine) SetUserLocal(ctx context.Context, by store.Principal, id string, local bool) (store.User, error) {
	var out store.User
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		out = u
		if u.Local == local {
			return nil
		}
		if err := tx.SetUserLocal(ctx, u.PK, local); err != nil {
			return err
		}
		out.Local = local
		out.Version++
		action := "local"
		if !local {
			action = "unlocal"
		}
		return audit(ctx, tx, by, by.TenantID, action, string(KindUser), u.ID, map[string]any{
			"before": map[string]any{"local": !local}, "after": map[string]any{"local": local}})
	})
	return out, err
}

// auditRefusals appends a load's refusals in a transaction of their own.
func (e *Engine) auditRefusals(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudits(ctx, events) })
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// memberGuard refuses a connector's group write that adds or removes a
// local user as a member (see guardMembers).
type memberGuard struct {
	p      *Plan
	locals []store.User
	wasIn  map[int64]bool
}

// guardMembers reads, before p's write of a group, the local users it may
// add or take out and whether each is a direct member: those it names
// (their rows were read anyway), and, for a write that takes out members
// it does not name (a replace, a delete), the local users the group
// holds. A delete of a group holding one is refused at once; a nil guard
// has nothing to check.
func guardMembers(ctx context.Context, tx *store.Tx, p *Plan) (*memberGuard, error) {
	in := p.Input
	if !connectorSource(in.Source) {
		return nil, nil
	}
	g := &memberGuard{p: p}
	seen := map[int64]bool{}
	add := func(u store.User) {
		if !seen[u.PK] {
			seen[u.PK] = true
			g.locals = append(g.locals, u)
		}
	}
	var named []int64
	for _, ms := range append([][]store.Member{p.Members}, changeMembers(p.MemberChanges)...) {
		for _, m := range ms {
			if m.Local {
				named = append(named, m.PK)
			}
		}
	}
	if len(named) > 0 {
		us, err := tx.LocalUsers(ctx, in.TenantID, named)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			add(u)
		}
	}
	replaces := in.Op != Patch
	for _, c := range p.MemberChanges {
		replaces = replaces || c.Op == "replace" || c.All
	}
	if replaces && p.Group.PK != 0 {
		held, err := tx.LocalMembers(ctx, in.TenantID, p.Group.PK)
		if err != nil {
			return nil, err
		}
		if in.Op == Delete && len(held) > 0 {
			return nil, g.refuse(held[0])
		}
		for _, u := range held {
			add(u)
		}
	}
	if len(g.locals) == 0 {
		return nil, nil
	}
	var err error
	g.wasIn, err = directIn(ctx, tx, p.Group.ID, g.locals)
	return g, err
}

func changeMembers(cs []MemberChange) [][]store.Member {
	out := make([][]store.Member, len(cs))
	for i, c := range cs {
		out[i] = c.Members
	}
	return out
}

// check refuses the write, once made, if it changed whether one of the
// local users is a direct member.
func (g *memberGuard) check(ctx context.Context, tx *store.Tx) error {
	if g == nil {
		return nil
	}
	isIn, err := directIn(ctx, tx, g.p.Group.ID, g.locals)
	if err != nil {
		return err
	}
	for _, u := range g.locals {
		if isIn[u.PK] != g.wasIn[u.PK] {
			return g.refuse(u)
		}
	}
	return nil
}

func (g *memberGuard) refuse(u store.User) error {
	return &LocalUserError{UserID: u.ID, UserName: u.UserName, Op: g.p.Input.Op, Group: g.p.Group.DisplayName}
}

// directIn reports which of users are direct members of group id.
func directIn(ctx context.Context, tx *store.Tx, id string, users []store.User) (map[int64]bool, error) {
	pks := make([]int64, len(users))
	for i, u := range users {
		pks[i] = u.PK
	}
	groups, err := tx.PushedGroups(ctx, pks)
	if err != nil {
		return nil, err
	}
	in := map[int64]bool{}
	for pk, refs := range groups {
		in[pk] = slices.ContainsFunc(refs, func(g store.GroupRef) bool { return g.ID == id })
	}
	return in, nil
}
