package reconcile

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/scimd/scimd/store"
)

// SetMode switches the named connector of the named tenant (both created
// if missing) to mode [store.ModeLive] or [store.ModeShadow], with an
// audit event. The switch is seen at once by every server: the principal
// cache drops what it holds (see store's principal notifications).
// Switching to live keeps the shadow store and log for review until
// [Engine.ClearShadow]; the connector's next writes are live and plan
// against the real rows only.
func (e *Engine) SetMode(ctx context.Context, by store.Principal, tenant, connector, mode string) error {
	if mode != store.ModeLive && mode != store.ModeShadow {
		return &InputError{Attribute: "mode", Msg: fmt.Sprintf("mode must be %s or %s, not %q", store.ModeLive, store.ModeShadow, mode)}
	}
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	if err := mayAdminister(by, tenant); err != nil {
		return err
	}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := ensureConnector(ctx, tx, by, tenant, connector)
		if err != nil || c.Mode == mode {
			return err
		}
		if err := tx.SetMode(ctx, c.ID, mode); err != nil {
			return err
		}
		return audit(ctx, tx, by, c.TenantID, "update", "Connector", c.Name,
			map[string]any{"before": map[string]any{"mode": c.Mode}, "after": map[string]any{"mode": mode}})
	})
}

// ClearShadow empties the shadow store and log of the named connector of
// the named tenant, with an audit event, and reports how many plans the
// log held.
func (e *Engine) ClearShadow(ctx context.Context, by store.Principal, tenant, connector string) (int64, error) {
	if err := mayAdminister(by, tenant); err != nil {
		return 0, err
	}
	var n int64
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := tx.ConnectorPrincipal(ctx, tenant, connector)
		if err != nil {
			return err
		}
		if n, err = tx.ClearShadow(ctx, p.ConnectorID); err != nil || n == 0 {
			return err
		}
		return audit(ctx, tx, by, p.TenantID, "delete", "ShadowLog", connector, map[string]any{"plans": n})
	})
	return n, err
}

// ShadowSummary is what a shadow connector would have done, counted from
// its shadow log: what a live run of the same traffic writes.
type ShadowSummary struct {
	Tenant    string `json:"tenant"`
	Connector string `json:"connector"`
	Mode      string `json:"mode"`
	// Plans counts the log's entries; Unchanged the plans that would
	// write nothing (Action none).
	Plans     int `json:"plans"`
	Unchanged int `json:"unchanged"`
	// Creates, Updates, Deletes count by kind ("User", "Group"); Updates
	// holds every plan that changes an existing resource (a link too).
	Creates map[string]int `json:"creates"`
	Updates map[string]int `json:"updates"`
	Deletes map[string]int `json:"deletes"`
	// Attributes counts, by attribute, the plans that change it.
	Attributes map[string]int `json:"attributes"`
	// Deactivations are user plans that set active to false.
	Deactivations int `json:"deactivations"`
	// Granted and Revoked count grants by "kind:name".
	Granted map[string]int `json:"granted"`
	Revoked map[string]int `json:"revoked"`
	// Conflicts count failed plans by the attribute another's data holds
	// (userName taken); Kept, attributes left as another source set them.
	Conflicts map[string]int `json:"conflicts"`
	Kept      map[string]int `json:"kept"`
	// Errors counts the other plans that failed.
	Errors int `json:"errors"`
}

// ShadowSummary counts the shadow log of the named connector, streaming it
// a page at a time.
func (e *Engine) ShadowSummary(ctx context.Context, tenant, connector string) (ShadowSummary, error) {
	s := ShadowSummary{Tenant: tenant, Connector: connector, Creates: map[string]int{}, Updates: map[string]int{},
		Deletes: map[string]int{}, Attributes: map[string]int{}, Granted: map[string]int{}, Revoked: map[string]int{},
		Conflicts: map[string]int{}, Kept: map[string]int{}}
	p, err := e.db.ConnectorPrincipal(ctx, tenant, connector)
	if err != nil {
		return s, err
	}
	s.Mode = p.Mode
	const page = 500
	for after := int64(0); ; {
		plans, err := e.db.ShadowPlans(ctx, p.ConnectorID, after, page)
		if err != nil {
			return s, err
		}
		for _, sp := range plans {
			if err := s.add(sp); err != nil {
				return s, err
			}
			after = sp.ID
		}
		if len(plans) < page {
			return s, nil
		}
	}
}

func (s *ShadowSummary) add(sp store.ShadowPlan) error {
	s.Plans++
	switch {
	case sp.Conflict != "":
		s.Conflicts[sp.Conflict]++
		return nil
	case sp.Action == "error":
		s.Errors++
		return nil
	case sp.Action == "none":
		s.Unchanged++
		return nil
	}
	var sum Summary
	if err := json.Unmarshal(sp.Summary, &sum); err != nil {
		return fmt.Errorf("shadow plan %d: %w", sp.ID, err)
	}
	switch {
	case sp.Action == string(Create):
		s.Creates[sp.Kind]++
	case sp.Op == string(Delete):
		s.Deletes[sp.Kind]++
	default:
		s.Updates[sp.Kind]++
	}
	for _, c := range sum.Changes {
		s.Attributes[c.Attribute]++
		if c.Attribute == "active" && c.After == false {
			s.Deactivations++
		}
	}
	for _, g := range sum.Grants {
		switch g.Op {
		case "add":
			s.Granted[string(g.Kind)+":"+g.Name]++
		case "remove":
			s.Revoked[string(g.Kind)+":"+g.Name]++
		}
	}
	for _, k := range sum.Kept {
		s.Kept[k]++
	}
	return nil
}

// ShadowPlans returns one page of the named connector's shadow log, after
// the entry of id after.
func (e *Engine) ShadowPlans(ctx context.Context, tenant, connector string, after int64, limit int) ([]store.ShadowPlan, error) {
	p, err := e.db.ConnectorPrincipal(ctx, tenant, connector)
	if err != nil {
		return nil, err
	}
	return e.db.ShadowPlans(ctx, p.ConnectorID, after, limit)
}
