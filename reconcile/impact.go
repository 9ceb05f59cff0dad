package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// The impact of a configuration and its re-apply job walk the tenant's
// live users in pk order, a page at a time, through walkPage: the same
// mapping (mapUser) the live writes use, read for a whole page in a few
// queries. The impact writes nothing; the job writes each page in one
// transaction (reapply.go). So the report and the job cannot disagree.

// impactPage is how many users a walk reads at once (a test sets it
// lower, to see many batches).
var impactPage = 1000

// impactSample bounds the users an [ImpactReport] shows in full.
const impactSample = 20

// UserImpact is what a configuration changes for one user, by one
// connector's rules: grants added and revoked, and status, access window
// or external ID changes.
type UserImpact struct {
	UserID    string            `json:"userId"`
	UserName  string            `json:"userName"`
	Connector string            `json:"connector"`
	Grants    []GrantChange     `json:"grants,omitempty"` // "add" and "remove" only
	Changes   []AttributeChange `json:"changes,omitempty"`
	// Before and After are the user's grants ("kind:name") and status.
	Before UserState `json:"before"`
	After  UserState `json:"after"`
	// Error is why the rules cannot map the user (a grant of a target
	// that does not exist, say): nothing changes for them.
	Error string `json:"error,omitempty"`
}

// UserState is a user as a rule change sees them.
type UserState struct {
	Status      string    `json:"status"`
	AccessStart time.Time `json:"accessStart,omitzero"`
	AccessEnd   time.Time `json:"accessEnd,omitzero"`
	Grants      []string  `json:"grants,omitempty"`
}

// RuleCounts are the grants one rule adds and revokes.
type RuleCounts struct {
	Added   int `json:"added"`
	Revoked int `json:"revoked"`
}

// ImpactReport is what a configuration would change for a tenant's
// existing users: counts by rule and by change, and a sample.
type ImpactReport struct {
	Users   int `json:"users"`   // live users read
	Changed int `json:"changed"` // users something changes for
	Failed  int `json:"failed"`  // users the rules cannot map
	// ByRule counts grants by the rule that adds or revokes them;
	// ByChange counts "grant add", "grant remove", "status",
	// "accessStart", "accessEnd" and "externalId" changes.
	ByRule   map[string]*RuleCounts `json:"byRule"`
	ByChange map[string]int         `json:"byChange"`
	// Sample is the first users changed (or failed), at most 20.
	Sample []UserImpact `json:"sample,omitempty"`
	// Undecided names the rules ("connector/rule") a walk does not run:
	// they read a login's claims, which only a sign-in has, so what they
	// granted and set stays until the user's next sign-in.
	Undecided []string `json:"undecided,omitempty"`
}

func newImpactReport() *ImpactReport {
	return &ImpactReport{ByRule: map[string]*RuleCounts{}, ByChange: map[string]int{}}
}

// add counts one user's impact.
func (r *ImpactReport) add(ui UserImpact) {
	if ui.Error != "" {
		r.Failed++
	} else {
		r.Changed++
	}
	for _, g := range ui.Grants {
		rc := r.ByRule[g.Rule]
		if rc == nil {
			rc = &RuleCounts{}
			r.ByRule[g.Rule] = rc
		}
		if g.Op == "add" {
			rc.Added++
		} else {
			rc.Revoked++
		}
		r.ByChange["grant "+g.Op]++
	}
	for _, c := range ui.Changes {
		r.ByChange[c.Attribute]++
	}
	if len(r.Sample) < impactSample {
		r.Sample = append(r.Sample, ui)
	}
}

// Impact works out, for every live user of by's tenant, what the
// configuration text (see [ParseTenantConfig]) would change against what
// is stored now, writing nothing. Each user is mapped by the rules of
// every connector linked to them, in connector order, as the re-apply job
// does. It reads a thousand users at a time, so memory stays flat. visit,
// if not nil, sees every user's impact.
func (e *Engine) Impact(ctx context.Context, by store.Principal, text string, visit func(UserImpact)) (*ImpactReport, error) {
	if err := mayAdminister(by, by.TenantName); err != nil {
		return nil, err
	}
	cfg, err := ParseTenantConfig(by.TenantName, text)
	if err != nil {
		return nil, err
	}
	conns, err := walkConnectors(ctx, e.db, by, cfg)
	if err != nil {
		return nil, err
	}
	rep := newImpactReport()
	for _, wc := range conns {
		for _, r := range wc.rules.Rules {
			if wc.Kind == store.KindOIDC && r.Reads("claims") {
				rep.Undecided = append(rep.Undecided, wc.Name+"/"+r.Name)
			}
		}
	}
	for after := int64(0); ; {
		pks, err := e.db.LiveUserPKs(ctx, by.TenantID, after, impactPage)
		if err != nil || len(pks) == 0 {
			return rep, err
		}
		rep.Users += len(pks)
		if err := walkPage(ctx, e.db, nil, by, "", conns, pks, func(ui UserImpact) {
			rep.add(ui)
			if visit != nil {
				visit(ui)
			}
		}); err != nil {
			return nil, err
		}
		after = pks[len(pks)-1]
	}
}

// walkConn is a connector of the tenant with the rules a walk maps by.
type walkConn struct {
	store.Connector
	rules *rules.Connector
}

// walkConnectors returns the tenant's connectors that provision users,
// each with its configuration in cfg (nil: the defaults).
func walkConnectors(ctx context.Context, r interface {
	Connectors(context.Context, int64) ([]store.Connector, error)
}, by store.Principal, cfg *rules.Config) ([]walkConn, error) {
	cs, err := r.Connectors(ctx, by.TenantID)
	if err != nil {
		return nil, err
	}
	var out []walkConn
	for _, c := range cs {
		if c.Kind == store.KindAdmin {
			continue
		}
		conn, ok := cfg.Connector(by.TenantName, c.Name)
		if !ok {
			conn = defaultConnector(by.TenantName, c.Name)
		}
		out = append(out, walkConn{c, conn})
	}
	return out, nil
}

// sourceOf is the source a connector's own writes have: what precedence
// rules rank a re-mapping by.
func sourceOf(kind string) Source {
	switch kind {
	case store.KindOIDC:
		return SourceOIDC
	case store.KindCSV:
		return SourceCSV
	default:
		return SourceSCIM
	}
}

// pageReads are the reads of a walk's page: a transaction's or the
// database's.
type pageReads interface {
	reads
	GrantsOf(ctx context.Context, userPKs []int64) (map[int64][]store.Grant, error)
	ManagedUsers(ctx context.Context, tenantID, connectorID int64, pks []int64) ([]store.User, error)
	AttributeSourcesOf(ctx context.Context, userPKs []int64) (map[int64]map[string]store.AttributeSource, error)
}

// walkPage maps the users pks by each connector linked to them and calls
// visit for every user something changes for (or whose rules fail). With
// tx it also writes each change, audited as action reapply naming job;
// without, it writes nothing. What one connector's rules change is seen
// by the next connector's (the page's grants and statuses are carried in
// memory), so the dry walk and the writing walk agree. It returns how
// many users changed and failed.
func walkPage(ctx context.Context, r pageReads, tx *store.Tx, by store.Principal, job string, conns []walkConn, pks []int64, visit func(UserImpact)) error {
	pr, err := prefetch(ctx, r, pks)
	if err != nil {
		return err
	}
	sources, err := r.AttributeSourcesOf(ctx, pks)
	if err != nil {
		return err
	}
	pr.sources = sources
	carried := map[int64]store.User{} // status and window as the walk left them
	for _, wc := range conns {
		users, err := r.ManagedUsers(ctx, by.TenantID, wc.ID, pks)
		if err != nil {
			return err
		}
		var events []store.AuditEvent
		var disabled []store.User
		in := Input{Source: sourceOf(wc.Kind), Principal: store.Principal{TenantID: by.TenantID, TenantName: by.TenantName,
			ConnectorID: wc.ID, ConnectorName: wc.Name}, Kind: KindUser, Op: Replace}
		for _, u := range users {
			if c, ok := carried[u.PK]; ok && tx == nil {
				u.Status, u.Active, u.AccessStart, u.AccessEnd = c.Status, c.Active, c.AccessStart, c.AccessEnd
			}
			in.ID, in.ExternalID = u.ID, u.ExternalID
			up := &Plan{Input: in, Action: "reapply", User: &u, Before: u.Attrs, conn: wc.rules}
			prev := u
			if u.Status != store.StatusPending { // activation's, not a rule's
				u.Status = baseStatus(u.Active)
			}
			before := stateOf(prev, pr.grants[u.PK])
			if err := mapUser(ctx, pr, wc.rules, in, &u, prev, up); err != nil {
				if _, ok := errors.AsType[*InputError](err); !ok {
					return err
				}
				visit(UserImpact{UserID: u.ID, UserName: u.UserName, Connector: wc.Name, Before: before, After: before, Error: err.Error()})
				continue
			}
			var changed []GrantChange
			for i, g := range up.Grants {
				if g.Op == "remove" && stated(g.Rule) {
					// What a source stated (a CSV file's roles column) is
					// not the rules': a walk re-runs the rules only, and
					// has nothing to say about it.
					up.Grants[i].Op = "keep"
					continue
				}
				if g.Op != "keep" {
					changed = append(changed, g)
				}
			}
			if len(up.Changes) == 0 && len(changed) == 0 {
				continue
			}
			after := carryGrants(pr, u.PK, up.Grants)
			carried[u.PK] = u
			visit(UserImpact{UserID: u.ID, UserName: u.UserName, Connector: wc.Name, Grants: changed, Changes: up.Changes,
				Before: before, After: stateOf(u, after)})
			if tx == nil {
				continue
			}
			if len(up.Changes) > 0 {
				if err := tx.UpdateUser(ctx, &u); err != nil {
					return err
				}
				if disables(prev.Status, &u) {
					disabled = append(disabled, u)
				}
			}
			if err := writeGrants(ctx, tx, up); err != nil {
				return err
			}
			events = append(events, store.AuditEvent{TenantID: by.TenantID, Source: string(adminSource(by)), ConnectorID: wc.ID,
				Action: "reapply", ResourceType: string(KindUser), ResourceID: u.ID,
				Detail: withActor(by, map[string]any{"job": job, "by": by.ConnectorName, "fired": up.Fired, "grants": up.Grants, "changes": up.Changes})})
		}
		if tx == nil {
			continue
		}
		if err := tx.AppendAudits(ctx, events); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		for i := range disabled {
			if err := endSessions(ctx, tx, in, &disabled[i], EndUserDisable); err != nil {
				return err
			}
		}
	}
	return nil
}

// stated reports whether rule names what a source stated (an input's
// Given: "given roles", a CSV layout's "column roles"), not a rule of the
// configuration.
func stated(rule string) bool {
	return strings.HasPrefix(rule, "given ") || strings.HasPrefix(rule, "column ")
}

// adminSource is the source of by's administrative writes.
func adminSource(by store.Principal) Source {
	if by.ConnectorID == 0 {
		return SourceCLI
	}
	return SourceAdmin
}

// carryGrants records in the page's grants what a plan leaves a user with,
// for the next connector's rules, and returns it.
func carryGrants(pr *prefetched, pk int64, plan []GrantChange) []store.Grant {
	var out []store.Grant
	for _, c := range plan {
		if c.Op == "remove" {
			continue
		}
		g := c.grant
		g.Target = c.Name
		out = append(out, g)
	}
	pr.grants[pk] = out
	return out
}

// stateOf is u with grants as a rule change sees them.
func stateOf(u store.User, grants []store.Grant) UserState {
	s := UserState{Status: u.Status, AccessStart: u.AccessStart, AccessEnd: u.AccessEnd}
	for _, g := range grants {
		s.Grants = append(s.Grants, g.Kind+":"+g.Target)
	}
	slices.Sort(s.Grants)
	return s
}
