package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/scimd/scimd/store"
)

// Plan is the exact change an [Input] makes. It can be shown (a dry run)
// or applied; both come from the same planning code, so they cannot
// disagree.
type Plan struct {
	Input Input
	// Action is what Apply will do: "create", "replace" or "delete".
	Action string
	// User or Group is the resource as it will be written (for delete, as
	// it is now). Version is the version the write expects to replace.
	User  *store.User
	Group *store.Group
	// Members is the group's resolved member list when the plan sets it
	// (Create, Replace).
	Members []store.Member
	// MemberChanges are set operations on the group's members (Patch).
	MemberChanges []MemberChange
	// Skipped lists member ids a Patch would add that name nothing, when
	// the input ignores them.
	Skipped []string
	// Before is the SCIM document before the change (nil for create).
	Before map[string]any
}

// reads is what planning needs from the database; *store.DB and *store.Tx
// both have it, so a plan reads the same way in a dry run as inside the
// transaction that applies it.
type reads interface {
	User(ctx context.Context, tenantID, connectorID int64, id string) (store.User, error)
	Group(ctx context.Context, tenantID, connectorID int64, id string) (store.Group, error)
	ResolveMembers(ctx context.Context, tenantID int64, refs []store.MemberRef) ([]store.Member, error)
	LookupMembers(ctx context.Context, tenantID int64, refs []store.MemberRef) ([]store.Member, []string, error)
}

// MemberChange is a MemberEdit with its ids resolved to rows.
type MemberChange struct {
	Op      string
	Members []store.Member
	All     bool
}

// InputError is an input that cannot be planned: a required value missing
// or invalid. Its message is meant for the client.
type InputError struct {
	Attribute string
	Msg       string
}

func (e *InputError) Error() string { return e.Msg }

func plan(ctx context.Context, r reads, in Input) (*Plan, error) {
	p := &Plan{Input: in, Action: string(in.Op)}
	switch in.Kind {
	case KindUser:
		return p, planUser(ctx, r, in, p)
	case KindGroup:
		return p, planGroup(ctx, r, in, p)
	}
	return nil, fmt.Errorf("plan: unknown kind %q", in.Kind)
}

func planUser(ctx context.Context, r reads, in Input, p *Plan) error {
	u := &store.User{TenantID: in.TenantID}
	if in.Op != Create {
		cur, err := r.User(ctx, in.TenantID, in.ConnectorID, in.ID)
		if err != nil {
			return err
		}
		if in.IfMatch != 0 && cur.Version != in.IfMatch {
			return store.ErrStale
		}
		p.Before = cur.Attrs
		*u = cur
	}
	p.User = u
	if in.Op == Delete {
		return nil
	}
	if in.Op == Patch {
		doc, _, err := in.Edit(Doc{Attrs: u.Attrs, ExternalID: u.ExternalID})
		if err != nil {
			return err
		}
		in.Attrs, in.ExternalID = doc.Attrs, doc.ExternalID
	}
	userName, _ := in.Attrs["userName"].(string)
	if strings.TrimSpace(userName) == "" {
		return &InputError{Attribute: "userName", Msg: "userName is required and must not be empty"}
	}
	attrs := clone(in.Attrs)
	// A user is active unless a source says otherwise (RFC 7643 leaves
	// the default to the service provider).
	active, ok := attrs["active"].(bool)
	if !ok {
		active = true
		attrs["active"] = true
	}
	u.UserName = userName
	u.DisplayName, _ = attrs["displayName"].(string)
	u.Active = active
	u.Attrs = attrs
	u.ExternalID = in.ExternalID
	return nil
}

func planGroup(ctx context.Context, r reads, in Input, p *Plan) error {
	g := &store.Group{TenantID: in.TenantID}
	if in.Op != Create {
		cur, err := r.Group(ctx, in.TenantID, in.ConnectorID, in.ID)
		if err != nil {
			return err
		}
		if in.IfMatch != 0 && cur.Version != in.IfMatch {
			return store.ErrStale
		}
		p.Before = cur.Attrs
		*g = cur
	}
	p.Group = g
	if in.Op == Delete {
		return nil
	}
	var edits []MemberEdit
	if in.Op == Patch {
		doc, e, err := in.Edit(Doc{Attrs: g.Attrs, ExternalID: g.ExternalID})
		if err != nil {
			return err
		}
		in.Attrs, in.ExternalID, edits = doc.Attrs, doc.ExternalID, e
	}
	name, _ := in.Attrs["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		return &InputError{Attribute: "displayName", Msg: "displayName is required and must not be empty"}
	}
	for _, m := range in.Members {
		if in.Op == Replace && m.ID == in.ID {
			return &InputError{Attribute: "members", Msg: fmt.Sprintf("group %s cannot be a member of itself", m.ID)}
		}
	}
	if in.Op == Patch {
		if err := planMemberEdits(ctx, r, in, p, edits); err != nil {
			return err
		}
	} else {
		members, err := r.ResolveMembers(ctx, in.TenantID, in.Members)
		if err != nil {
			return err
		}
		p.Members = members
	}
	g.DisplayName = name
	g.Attrs = clone(in.Attrs)
	g.ExternalID = in.ExternalID
	return nil
}

// planMemberEdits resolves a Patch's member edits to rows. Ids to remove
// that name nothing are no-ops; ids to add that name nothing are refused,
// or skipped when the input says so.
func planMemberEdits(ctx context.Context, r reads, in Input, p *Plan, edits []MemberEdit) error {
	for _, e := range edits {
		refs := make([]store.MemberRef, len(e.IDs))
		for i, id := range e.IDs {
			if id == in.ID {
				return &InputError{Attribute: "members", Msg: fmt.Sprintf("group %s cannot be a member of itself", id)}
			}
			refs[i] = store.MemberRef{ID: id}
		}
		found, unknown, err := r.LookupMembers(ctx, in.TenantID, refs)
		if err != nil {
			return err
		}
		if len(unknown) > 0 && e.Op != "remove" {
			if !in.IgnoreUnknownMembers {
				return &store.UnknownMembersError{IDs: unknown}
			}
			p.Skipped = append(p.Skipped, unknown...)
		}
		p.MemberChanges = append(p.MemberChanges, MemberChange{Op: e.Op, Members: found, All: e.All})
	}
	return nil
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
