package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/scimd/scimd/store"
)

// Engine plans and applies writes. It is safe for concurrent use.
type Engine struct {
	db *store.DB
}

// New returns an engine writing to db.
func New(db *store.DB) *Engine { return &Engine{db: db} }

// Plan works out what in would change, reading the database but writing
// nothing: the dry run.
func (e *Engine) Plan(ctx context.Context, in Input) (*Plan, error) {
	return plan(ctx, e.db, in)
}

// replans bounds how often Apply plans again after losing a race to another
// writer of the same resource, before answering [store.ErrStale].
const replans = 3

// Apply plans in and writes the plan in one transaction, with an audit
// event. If another writer changed the resource between planning and
// writing, it plans again (a few times), unless the input carries IfMatch,
// which fails at once with [store.ErrStale].
func (e *Engine) Apply(ctx context.Context, in Input) (*Plan, error) {
	for attempt := 0; ; attempt++ {
		var p *Plan
		err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			if p, err = plan(ctx, tx, in); err != nil {
				return err
			}
			return write(ctx, tx, p)
		})
		if errors.Is(err, store.ErrStale) && in.IfMatch == 0 && attempt < replans {
			continue
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

func write(ctx context.Context, tx *store.Tx, p *Plan) error {
	in := p.Input
	event := &store.AuditEvent{
		TenantID:     in.TenantID,
		Source:       string(in.Source),
		ConnectorID:  in.ConnectorID,
		Action:       p.Action,
		ResourceType: string(in.Kind),
		Detail:       map[string]any{"before": p.Before},
	}
	switch {
	case p.User != nil:
		if err := writeUser(ctx, tx, p); err != nil {
			return err
		}
		event.ResourceID = p.User.ID
		if in.Op != Delete {
			event.Detail["after"] = p.User.Attrs
		}
	case p.Group != nil:
		if err := writeGroup(ctx, tx, p); err != nil {
			return err
		}
		event.ResourceID = p.Group.ID
		if in.Op != Delete {
			event.Detail["after"] = p.Group.Attrs
			if in.Op == Patch {
				changes := make([]map[string]any, len(p.MemberChanges))
				for i, c := range p.MemberChanges {
					changes[i] = map[string]any{"op": c.Op, "members": len(c.Members), "all": c.All}
				}
				event.Detail["memberChanges"] = changes
				if len(p.Skipped) > 0 {
					event.Detail["skippedMembers"] = p.Skipped
				}
			} else {
				event.Detail["members"] = len(p.Members)
			}
		}
	}
	if err := tx.AppendAudit(ctx, event); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func writeUser(ctx context.Context, tx *store.Tx, p *Plan) error {
	u, in := p.User, p.Input
	switch in.Op {
	case Create:
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
	case Replace, Patch:
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
	case Delete:
		return tx.DeleteUser(ctx, u.PK)
	}
	return tx.SetUserExternalID(ctx, in.ConnectorID, u.PK, u.ExternalID)
}

func writeGroup(ctx context.Context, tx *store.Tx, p *Plan) error {
	g, in := p.Group, p.Input
	switch in.Op {
	case Create:
		if err := tx.InsertGroup(ctx, g); err != nil {
			return err
		}
	case Replace, Patch:
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
	case Delete:
		return tx.DeleteGroup(ctx, g.PK)
	}
	if in.Op != Patch {
		if err := tx.ReplaceMembers(ctx, g.PK, p.Members); err != nil {
			return err
		}
	}
	for _, c := range p.MemberChanges {
		var err error
		switch {
		case c.Op == "add":
			err = tx.AddMembers(ctx, g.PK, c.Members)
		case c.Op == "replace", c.All:
			err = tx.ReplaceMembers(ctx, g.PK, c.Members)
		default:
			err = tx.RemoveMembers(ctx, g.PK, c.Members)
		}
		if err != nil {
			return err
		}
	}
	return tx.SetGroupExternalID(ctx, in.ConnectorID, g.PK, g.ExternalID)
}
