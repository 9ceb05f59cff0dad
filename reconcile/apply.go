package reconcile

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/scimd/scimd/reconcile/rules"

	"github.com/scimd/scimd/store"
)

// Engine plans and applies writes. It is safe for concurrent use.
type Engine struct {
	db  *store.DB
	cfg *rules.Config
}

// New returns an engine writing to db, mapping through the connectors
// that cfg configures; a connector it does not name (or a nil cfg) gets
// [rules.Default]: the default matching order and no rules.
func New(db *store.DB, cfg *rules.Config) *Engine { return &Engine{db: db, cfg: cfg} }

// Connector returns the configuration of the named connector.
func (e *Engine) Connector(tenant, connector string) *rules.Connector {
	if e.cfg != nil {
		if c, ok := e.cfg.Connector(tenant, connector); ok {
			return c
		}
	}
	return rules.Default(tenant, connector)
}

// Plan works out what in would change, reading the database but writing
// nothing: the dry run (a preview).
func (e *Engine) Plan(ctx context.Context, in Input) (*Plan, error) {
	return plan(ctx, e.db, e.Connector(in.Tenant, in.Connector), in)
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
			if p, err = plan(ctx, tx, e.Connector(in.Tenant, in.Connector), in); err != nil {
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
			for k, v := range map[string]any{"match": p.Match, "fired": p.Fired, "grants": p.Grants,
				"denied": p.Denied, "missing": p.Missing, "kept": p.Kept, "changes": p.Changes} {
				if !reflect.ValueOf(v).IsNil() {
					event.Detail[k] = v
				}
			}
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
	switch {
	case in.Op == Delete:
		return tx.DeleteUser(ctx, u.PK)
	case u.PK == 0:
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
	default:
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
	}
	if err := tx.Link(ctx, in.ConnectorID, u.PK); err != nil {
		return err
	}
	if err := tx.SetUserExternalID(ctx, in.ConnectorID, u.PK, u.ExternalID); err != nil {
		return err
	}
	if err := writeGrants(ctx, tx, p); err != nil {
		return err
	}
	sources := make([]store.AttributeSource, len(p.Changes))
	for i, c := range p.Changes {
		sources[i] = store.AttributeSource{Attribute: c.Attribute, Source: string(in.Source), ConnectorID: in.ConnectorID, Rule: c.Rule}
	}
	return tx.SetAttributeSources(ctx, u.PK, sources)
}

// writeGrants adds and removes the plan's grants, first creating the org
// units, roles and groups the connector may create on demand.
func writeGrants(ctx context.Context, tx *store.Tx, p *Plan) error {
	in, userPK := p.Input, p.User.PK
	groups := map[string]int64{} // folded name → pk, for roles granted with a group
	for i := range p.Grants {
		c := &p.Grants[i]
		if c.Op == "add" && c.Create {
			pk, err := create(ctx, tx, in.TenantID, c)
			if err != nil {
				return err
			}
			c.grant.TargetPK = pk
		}
		if c.Kind == rules.KindGroup && c.Op != "remove" {
			groups[store.Fold(c.Name)] = c.grant.TargetPK
		}
	}
	for _, c := range p.Grants {
		var err error
		switch c.Op {
		case "add":
			g := c.grant
			g.GroupPK = groups[store.Fold(c.Group)]
			err = tx.AddGrant(ctx, userPK, g)
		case "remove":
			err = tx.RemoveGrant(ctx, userPK, c.grant)
		}
		if err != nil {
			return fmt.Errorf("grant %s %s: %w", c.Kind, c.Name, err)
		}
	}
	return nil
}

// create makes the org unit, role or group c names, on demand.
func create(ctx context.Context, tx *store.Tx, tenantID int64, c *GrantChange) (int64, error) {
	switch c.Kind {
	case rules.KindOrgUnit:
		o, err := tx.EnsureOrgUnit(ctx, tenantID, c.Name)
		return o.PK, err
	case rules.KindRole:
		ro, _, err := tx.EnsureRole(ctx, tenantID, c.Name)
		return ro.PK, err
	default:
		g := &store.Group{TenantID: tenantID, DisplayName: c.Name, Attrs: map[string]any{"displayName": c.Name}}
		err := tx.InsertGroup(ctx, g)
		return g.PK, err
	}
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
