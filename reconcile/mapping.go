package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
)

// GrantChange is one org unit, group or role grant a plan adds, keeps or
// removes: the connector's rules decide them, and only the grants a rule
// made are ever removed by one.
type GrantChange struct {
	Op   string     `json:"op"` // "add", "keep" or "remove"
	Kind rules.Kind `json:"kind"`
	Name string     `json:"name"`
	Rule string     `json:"rule"`
	// Group is, for a role, the group its rule granted with it.
	Group string `json:"group,omitempty"`
	// Create means the target does not exist yet: applying creates it
	// (the connector's create policy allows it).
	Create bool `json:"create,omitempty"`

	grant store.Grant
}

// AttributeChange is one mapped attribute a plan changes, and why.
type AttributeChange struct {
	Attribute string `json:"attribute"`
	Before    any    `json:"before,omitempty"`
	After     any    `json:"after,omitempty"`
	// Rule is the rule that set it; "" for a value the source sent.
	Rule string `json:"rule,omitempty"`
}

// mapUser runs the connector's rules over the user's new document and
// plans the grants, status, access window and external ID they give.
// u is the user as it will be written (PK 0 when new); it is updated in
// place. prev is the user as stored (zero when new).
func mapUser(ctx context.Context, r reads, conn *rules.Connector, in Input, u *store.User, prev store.User, p *Plan) error {
	var current []store.Grant
	var groups []string // the groups a group write gave u, not a rule's grant
	if u.PK != 0 {
		var err error
		if current, err = r.UserGrants(ctx, u.PK); err != nil {
			return err
		}
		byUser, err := r.PushedGroups(ctx, []int64{u.PK})
		if err != nil {
			return err
		}
		for _, g := range byUser[u.PK] {
			groups = append(groups, g.DisplayName)
		}
	}
	res, err := conn.Eval(rulesInput(in, u, groups))
	if err != nil {
		return &InputError{Attribute: "rules", Msg: fmt.Sprintf("connector %s: %v", conn.Name, err)}
	}
	gv := givenOf(conn, in.Given)
	writePolicies(conn, in, &res, u.PK == 0, prev, current, groups, gv.silent, p)
	res.Fired = append(res.Fired, gv.fired...)
	res.Grants = append(res.Grants, gv.grants...)
	res.Denied = append(res.Denied, gv.denied...)
	p.Fired, p.Denied = res.Fired, res.Denied
	// A rule that reads a login's claims, mapped again without them: what
	// it granted and set stays as the last sign-in left it.
	undecided := map[string]bool{}
	undecidedSets := func(field string) bool {
		return slices.ContainsFunc(res.Undecided, func(r *rules.Rule) bool { return r.Sets(field) })
	}
	for _, r := range res.Undecided {
		undecided[r.Name] = true
	}

	// What the rules grant now, resolved to rows.
	var wanted []GrantChange
	groupOf := map[string]string{} // rule → the first group it grants
	for _, g := range res.Grants {
		if g.Kind == rules.KindGroup && groupOf[g.Rule] == "" {
			groupOf[g.Rule] = g.Name
		}
	}
	if gv.roles != "" {
		// Given roles go with the given groups, as a rule's roles go with
		// its groups (the revision policy reads it).
		groupOf[gv.roles] = groupOf[gv.groups]
	}
	for _, g := range res.Grants {
		c := GrantChange{Op: "add", Kind: g.Kind, Name: g.Name, Rule: g.Rule}
		if g.Kind == rules.KindRole {
			c.Group = groupOf[g.Rule]
		}
		ok, err := resolve(ctx, r, conn, in, &c)
		if err != nil {
			return err
		}
		switch {
		case g.Rule == gv.cohort && c.Create:
			// A cohort's group is joined only if it exists.
			ok, c.Create = false, false
		case !ok && gv.open && g.Kind == rules.KindRole && gv.isGiven(g.Rule):
			// An unconfigured connector's given roles are created on
			// demand (002 seed: "Roles are inserted as necessary").
			ok, c.Create = true, true
		}
		if !ok {
			if !g.SkipMissing {
				if gv.isGiven(g.Rule) {
					return &InputError{Attribute: string(g.Kind), Msg: fmt.Sprintf(
						"%s %q does not exist in this tenant (%s): create it first, or let connector %s create %ss on demand",
						g.Kind, g.Name, g.Rule, conn.Name, g.Kind)}
				}
				return &InputError{Attribute: string(g.Kind), Msg: fmt.Sprintf(
					"rule %s grants %s %q, which does not exist in this tenant: create it first, or let connector %s create %ss on demand",
					g.Rule, g.Kind, g.Name, conn.Name, g.Kind)}
			}
			p.Missing = append(p.Missing, g)
			continue
		}
		wanted = append(wanted, c)
	}

	// Against what the connector's rules granted before.
	fired := map[string]bool{}
	for _, name := range res.Fired {
		fired[name] = true
	}
	revised := map[string]map[string]bool{} // rule → the groups it grants now
	for _, c := range wanted {
		if c.Kind == rules.KindGroup {
			if revised[c.Rule] == nil {
				revised[c.Rule] = map[string]bool{}
			}
			revised[c.Rule][store.Fold(c.Name)] = true
		}
	}
	if gv.roles != "" && gv.groups != "" {
		revised[gv.roles] = revised[gv.groups]
	}
	var final []GrantChange
	for _, g := range current {
		c := GrantChange{Op: "keep", Kind: rules.Kind(g.Kind), Name: g.Target, Rule: g.Rule, grant: g}
		if i := slices.IndexFunc(wanted, func(w GrantChange) bool { return w.grant.TargetPK != 0 && w.grant.Same(g) }); i >= 0 {
			wanted = slices.Delete(wanted, i, i+1)
			final = append(final, c)
			continue
		}
		if g.ConnectorID == in.ConnectorID && g.Rule != "" && !gv.silent[g.Rule] && !undecided[g.Rule] && revokes(conn, g, fired, revised, current) {
			c.Op = "remove"
		}
		final = append(final, c)
	}
	final = append(final, wanted...)
	p.Grants = final

	if g := in.Given; g != nil && g.Guest && !u.Guest {
		if u.PK != 0 {
			return &InputError{Attribute: "guest", Msg: fmt.Sprintf("%s is a member already, not a guest: give them the group instead of inviting them", u.UserName)}
		}
		u.Guest = true
	}
	if err := checkAccount(conn, final, groups, u.Guest); err != nil {
		return err
	}
	var statusRule, startRule, endRule string
	switch {
	case res.Status != nil:
		u.Status, statusRule = res.Status.Value, res.Status.Rule
	case undecidedSets("status"):
		u.Status = prev.Status
	}
	u.AccessStart, u.AccessEnd = time.Time{}, time.Time{}
	switch {
	case res.AccessStart != nil:
		u.AccessStart, startRule = res.AccessStart.Value, res.AccessStart.Rule
	case undecidedSets("accessStart"):
		u.AccessStart = prev.AccessStart
	}
	switch {
	case res.AccessEnd != nil:
		u.AccessEnd, endRule = res.AccessEnd.Value, res.AccessEnd.Rule
	case undecidedSets("accessEnd"):
		u.AccessEnd = prev.AccessEnd
	}
	if g := in.Given; g != nil {
		// What the source states directly acts as a rule that always
		// fires, after the connector's; what it does not state stays as
		// stored (a CSV file without a status column activates no one).
		switch g.Status {
		case "":
			if res.Status == nil && u.PK != 0 && u.Active == prev.Active {
				u.Status = prev.Status
			}
		case store.StatusActive, store.StatusDisabled, store.StatusPending:
			u.Status, statusRule = g.Status, givenRule(g, "status")
		default:
			return &InputError{Attribute: "status", Msg: fmt.Sprintf("status %q is not active, disabled or pending", g.Status)}
		}
		for _, w := range []struct {
			at   *time.Time
			rule *string
			dst  *time.Time
			set  bool
			was  time.Time
			name string
		}{{g.AccessStart, &startRule, &u.AccessStart, res.AccessStart != nil, prev.AccessStart, "accessStart"},
			{g.AccessEnd, &endRule, &u.AccessEnd, res.AccessEnd != nil, prev.AccessEnd, "accessEnd"}} {
			switch {
			case w.at != nil:
				*w.dst, *w.rule = w.at.UTC(), givenRule(g, w.name)
			case !w.set:
				*w.dst = w.was
			}
		}
	}
	if u.PK == 0 && notifies(conn, in) && res.Status == nil && (in.Given == nil || in.Given.Status == "") {
		if _, stated := in.Attrs["active"].(bool); !stated {
			// A new account its source states no status for waits for its
			// activation link (004 seed); one an IdP pushes active stays so.
			u.Status, statusRule = store.StatusPending, "notify"
		}
	}
	if p.owners == nil {
		if p.owners, err = loadOwners(ctx, r, conn, in, u); err != nil {
			return err
		}
	}
	keep := func(attr, policy string, old any) bool {
		why, kept := p.owners.keeps(attr, policy)
		if !kept {
			why, kept = p.owners.withholds(attr, policy, old)
		}
		if kept {
			p.Kept = append(p.Kept, why)
		}
		return kept
	}
	if u.Status != prev.Status {
		if keep("status", "status", prev.Status) {
			u.Status = prev.Status
		} else {
			p.change("status", prev.Status, u.Status, statusRule)
		}
	}
	if !u.AccessStart.Equal(prev.AccessStart) {
		if keep("accessStart", "accessWindow", timeOrNil(prev.AccessStart)) {
			u.AccessStart = prev.AccessStart
		} else {
			p.change("accessStart", timeOrNil(prev.AccessStart), timeOrNil(u.AccessStart), startRule)
		}
	}
	if !u.AccessEnd.Equal(prev.AccessEnd) {
		if keep("accessEnd", "accessWindow", timeOrNil(prev.AccessEnd)) {
			u.AccessEnd = prev.AccessEnd
		} else {
			p.change("accessEnd", timeOrNil(prev.AccessEnd), timeOrNil(u.AccessEnd), endRule)
		}
	}
	if res.ExternalID != nil && in.ExternalID == "" && res.ExternalID.Value != prev.ExternalID {
		u.ExternalID = res.ExternalID.Value
		p.change("externalId", prev.ExternalID, u.ExternalID, res.ExternalID.Rule)
	}
	return nil
}

// given is what an input's Given adds to the connector's rules: grants of
// rules that always fire, named by givenRule.
type given struct {
	grants, denied []rules.Grant
	fired          []string
	// roles, groups and cohort are the names of the rules the given
	// roles, groups and cohort act as; "" when not stated.
	roles, groups, cohort string
	// silent are the given rules of fields stated as nil: their earlier
	// grants stay, as nothing was said about them.
	silent map[string]bool
	names  map[string]bool // every given rule stated
	// open is an unconfigured connector (no entry in the tenant's YAML):
	// given grants need no allow list and roles are created on demand.
	open bool
}

func (g given) isGiven(rule string) bool { return g.names[rule] }

// givenOf turns g into rules' grants: allow lists apply, unless the
// connector is unconfigured; a cohort's grant is skipped when its group
// does not exist.
func givenOf(conn *rules.Connector, g *Given) given {
	out := given{silent: map[string]bool{}, names: map[string]bool{}, open: unconfigured(conn)}
	for _, f := range []string{"roles", "groups", "orgUnit", "cohort"} {
		out.silent["given "+f] = true
	}
	if g == nil {
		return out
	}
	add := func(field string, kind rules.Kind, names []string, skipMissing bool) string {
		rule := givenRule(g, field)
		if names == nil {
			out.silent[rule] = true
			return ""
		}
		delete(out.silent, rule)
		out.names[rule] = true
		out.fired = append(out.fired, rule)
		seen := map[string]bool{}
		for _, n := range names {
			if n = strings.TrimSpace(n); n == "" || seen[store.Fold(n)] {
				continue
			}
			seen[store.Fold(n)] = true
			grant := rules.Grant{Kind: kind, Name: n, Rule: rule, SkipMissing: skipMissing}
			if !out.open && !conn.Allow.Permits(kind, n) {
				grant.Reason = fmt.Sprintf("allow.%ss of connector %q does not permit it", kind, conn.Name)
				out.denied = append(out.denied, grant)
				continue
			}
			out.grants = append(out.grants, grant)
		}
		return rule
	}
	var unit []string
	if g.OrgUnit != nil {
		unit = []string{}
		if p := strings.Trim(strings.TrimSpace(*g.OrgUnit), "/"); p != "" {
			unit = []string{p}
		}
	}
	add("orgUnit", rules.KindOrgUnit, unit, false)
	out.groups = add("groups", rules.KindGroup, g.Groups, false)
	out.roles = add("roles", rules.KindRole, g.Roles, false)
	var cohort []string
	if g.Cohort != "" {
		cohort = []string{g.Cohort}
	}
	out.cohort = add("cohort", rules.KindGroup, cohort, true)
	return out
}

// givenRule names the rule a Given field acts as: g.Rule's name for it,
// or "given <field>".
func givenRule(g *Given, field string) string {
	if g != nil && g.Rule != nil {
		if name := g.Rule(field); name != "" {
			return name
		}
	}
	return "given " + field
}

// defaults are the configurations of connectors that the tenant's
// configuration does not name (rules.Default), one per connector, so that
// unconfigured can tell them by identity.
var defaults sync.Map // tenant "\x00" connector → *rules.Connector

// defaultConnector is rules.Default(tenant, name), the same one each time.
func defaultConnector(tenant, name string) *rules.Connector {
	key := tenant + "\x00" + name
	if c, ok := defaults.Load(key); ok {
		return c.(*rules.Connector)
	}
	c, _ := defaults.LoadOrStore(key, rules.Default(tenant, name))
	return c.(*rules.Connector)
}

// unconfigured reports whether conn is a connector the tenant's
// configuration does not name.
func unconfigured(conn *rules.Connector) bool {
	c, ok := defaults.Load(conn.Tenant + "\x00" + conn.Name)
	return ok && c.(*rules.Connector) == conn
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// revokes decides whether a grant that the connector's rule g.Rule made,
// and does not make again now, is revoked. A rule that stopped firing
// revokes all it granted. A rule that still fires but now names other
// targets revokes the old ones, except under the "addGroups" revision
// policy (000 seed: a revised record with a different group adds that
// group; with the same group and a new role it updates the role), where
// groups stay and a role goes only when its rule now grants its group
// again, with a new role.
func revokes(conn *rules.Connector, g store.Grant, fired map[string]bool, revised map[string]map[string]bool, current []store.Grant) bool {
	if !fired[g.Rule] || conn.Revisions != rules.RevisionsAddGroups {
		return true
	}
	switch g.Kind {
	case store.GrantGroup:
		return false
	case store.GrantRole:
		for _, o := range current {
			if o.Kind == store.GrantGroup && o.TargetPK == g.GroupPK {
				return revised[g.Rule][store.Fold(o.Target)]
			}
		}
		return g.GroupPK == 0
	}
	return true
}

// resolve finds the row c names. It reports false when there is none and
// the connector may not create one; when it may, c is marked Create.
func resolve(ctx context.Context, r reads, conn *rules.Connector, in Input, c *GrantChange) (bool, error) {
	c.grant = store.Grant{Kind: string(c.Kind), Target: c.Name, Source: string(in.Source), ConnectorID: in.ConnectorID, Rule: c.Rule}
	var err error
	switch c.Kind {
	case rules.KindOrgUnit:
		var o store.OrgUnit
		if o, err = r.OrgUnit(ctx, in.TenantID, c.Name); err == nil {
			c.grant.TargetPK, c.Name = o.PK, o.Path
		}
		c.Create = conn.Create.OrgUnits
	case rules.KindRole:
		var ro store.Role
		if ro, err = r.Role(ctx, in.TenantID, c.Name); err == nil {
			c.grant.TargetPK, c.Name = ro.PK, ro.Name
		}
		// A role of the tenant's catalogue exists from its first grant on.
		c.Create = conn.Create.Roles || slices.ContainsFunc(conn.Roles, func(d rules.RoleDef) bool { return strings.EqualFold(d.Name, c.Name) })
	case rules.KindGroup:
		var g store.Group
		if g, err = r.GroupNamed(ctx, in.TenantID, c.Name); err == nil {
			c.grant.TargetPK, c.Name = g.PK, g.DisplayName
		}
		c.Create = conn.Create.Groups
	}
	if errors.Is(err, store.ErrNotFound) {
		return c.Create, nil
	}
	c.Create = false
	return err == nil, err
}

// checkAccount enforces what the connector requires of an account: a
// group and a role (000 seed), roles valid for the groups held, and a
// guest's one group.
func checkAccount(conn *rules.Connector, final []GrantChange, direct []string, guest bool) error {
	held := slices.Clone(direct)
	var roles []string
	for _, c := range final {
		if c.Op == "remove" {
			continue
		}
		switch c.Kind {
		case rules.KindGroup:
			held = append(held, c.Name)
		case rules.KindRole:
			roles = append(roles, c.Name)
		}
	}
	if conn.Require.Group && len(held) == 0 {
		return &InputError{Attribute: "groups", Msg: fmt.Sprintf("connector %s requires every account to have a group, and no rule gives this one any", conn.Name)}
	}
	if guest && len(held) != 1 {
		return &InputError{Attribute: "groups", Msg: fmt.Sprintf("a guest is limited to exactly one group, and this one would hold %d (%s)", len(held), strings.Join(held, ", "))}
	}
	if conn.Require.Role && len(roles) == 0 {
		return &InputError{Attribute: "roles", Msg: fmt.Sprintf("connector %s requires every account to have a role, and no rule gives this one any", conn.Name)}
	}
	for _, role := range roles {
		if !conn.RoleValid(role, held) {
			return &InputError{Attribute: "roles", Msg: fmt.Sprintf("role %s is not valid for the groups this account has (%s)", role, strings.Join(held, ", "))}
		}
	}
	return nil
}

// rulesInput is what the connector's rules see of a user.
func rulesInput(in Input, u *store.User, groups []string) rules.Input {
	doc := u.Attrs
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	name, _ := doc["name"].(map[string]any)
	ent, _ := doc[schemas.EnterpriseUserURN].(map[string]any)
	manager := ""
	switch m := ent["manager"].(type) {
	case map[string]any:
		manager = str(m, "value")
	case string:
		manager = m
	}
	all := emails(doc)
	email := ""
	if len(all) > 0 {
		email = all[0]
	}
	active, _ := doc["active"].(bool)
	return rules.Input{
		Source:   string(in.Source),
		UserName: u.UserName, DisplayName: str(doc, "displayName"),
		GivenName: str(name, "givenName"), FamilyName: str(name, "familyName"), MiddleName: str(name, "middleName"),
		Title: str(doc, "title"), UserType: str(doc, "userType"), Locale: str(doc, "locale"),
		PreferredLanguage: str(doc, "preferredLanguage"), ExternalID: in.ExternalID,
		Email: email, Emails: all, Active: active,
		EmployeeNumber: str(ent, "employeeNumber"), CostCenter: str(ent, "costCenter"),
		Organization: str(ent, "organization"), Division: str(ent, "division"),
		Department: str(ent, "department"), Manager: manager,
		GradYear: year(doc, "gradYear"), EntryYear: year(doc, "entryYear"),
		Groups:     groups,
		Attributes: doc,
		Claims:     in.Claims,
		// A login's user mapped again (a rule change re-applied, a group
		// renamed): the sign-in's claims are not at hand.
		ClaimsUnknown: in.Source == SourceOIDC && in.Claims == nil,
	}
}

// year reads a year a source sent as key (any case), at the top level or
// else in the first extension, by URN order, that has it: a number or a
// numeric string; 0 when absent. The order makes it deterministic, as a
// plan must be.
func year(doc map[string]any, key string) int64 {
	find := func(m map[string]any) (any, bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.EqualFold(k, key) {
				return m[k], true
			}
		}
		return nil, false
	}
	v, ok := find(doc)
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if m, isMap := doc[k].(map[string]any); !ok && isMap && strings.HasPrefix(k, "urn:") {
			v, ok = find(m)
		}
	}
	switch n := v.(type) {
	case int:
		return int64(n)
	case float64:
		return int64(n)
	case int64:
		return n
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return i
	case string:
		i, _ := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i
	}
	return 0
}

// precedence keeps, in the new document, each value that a source ranking
// above in.Source set (the connector's precedence policy), and records the
// attributes that change. Attributes are the top-level ones and, inside
// the enterprise extension, its own (department, manager, …), by name.
func precedence(ctx context.Context, r reads, conn *rules.Connector, in Input, u *store.User, before, after map[string]any, p *Plan) error {
	o, err := loadOwners(ctx, r, conn, in, u)
	if err != nil {
		return err
	}
	p.owners = o
	oldFields, newFields := fields(before), fields(after)
	names := make([]string, 0, len(oldFields)+len(newFields))
	for k := range oldFields {
		names = append(names, k)
	}
	for k := range newFields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range slices.Compact(names) {
		old, now := oldFields[k], newFields[k]
		if reflect.DeepEqual(old, now) || sameValue(old, now) {
			continue
		}
		if why, kept := o.keeps(k, k); kept {
			p.Kept = append(p.Kept, why)
			setField(after, k, old)
			continue
		}
		if why, kept := o.withholds(k, k, old); kept {
			p.Kept = append(p.Kept, why)
			setField(after, k, old)
			continue
		}
		p.change(k, old, now, "")
	}
	return nil
}

// sameValue reports whether two values are the same as JSON: one read
// back from the database has JSON's types ([]any, float64), one a source
// built may have Go's ([]map[string]any, int).
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return false
	}
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}

// owners says who set a user's mapped attributes, for the connector's
// precedence policy.
type owners struct {
	conn     *rules.Connector
	sources  map[string]store.AttributeSource
	names    map[int64]string // connector names, which precedence may list
	incoming rules.Writer
	existing bool // the user exists: the write does not create them
}

// loadOwners reads who set u's attributes, when the connector's
// precedence can make it matter.
func loadOwners(ctx context.Context, r reads, conn *rules.Connector, in Input, u *store.User) (*owners, error) {
	o := &owners{conn: conn, incoming: rules.Writer{Source: string(in.Source), Connector: in.ConnectorName}, existing: u.PK != 0}
	if u.PK == 0 || len(conn.Precedence) == 0 {
		return o, nil
	}
	var err error
	if o.sources, err = r.AttributeSources(ctx, u.PK); err != nil {
		return nil, err
	}
	if o.names, err = r.ConnectorNames(ctx, in.TenantID); err != nil {
		return nil, err
	}
	return o, nil
}

// keeps reports whether attr keeps its value because whoever set it
// outranks the input's writer for policy (the precedence entry's name),
// and says why.
func (o *owners) keeps(attr, policy string) (string, bool) {
	src, ok := o.sources[attr]
	if !ok {
		return "", false
	}
	holder := rules.Writer{Source: src.Source, Connector: o.names[src.ConnectorID]}
	if !o.conn.Outranks(policy, holder, o.incoming) {
		return "", false
	}
	return fmt.Sprintf("%s (set by %s, which outranks %s)", attr, writer(holder.Source, holder.Connector),
		writer(o.incoming.Source, o.incoming.Connector)), true
}

func writer(source, connector string) string {
	if connector == "" {
		return source
	}
	return source + " via " + connector
}

// fields flattens a document into its mapped attributes: the top-level
// ones, and the enterprise extension's by their own names.
func fields(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != schemas.EnterpriseUserURN {
			out[k] = v
			continue
		}
		ent, _ := v.(map[string]any)
		for ek, ev := range ent {
			out[ek] = ev
		}
	}
	return out
}

// setField sets (nil: removes) the attribute name as fields names it.
func setField(doc map[string]any, name string, v any) {
	target := doc
	if _, top := doc[name]; !top && slices.Contains(enterpriseAttributes, name) {
		ent, _ := doc[schemas.EnterpriseUserURN].(map[string]any)
		ent = clone(ent)
		doc[schemas.EnterpriseUserURN] = ent
		target = ent
	}
	if v == nil {
		delete(target, name)
	} else {
		target[name] = v
	}
}

// enterpriseAttributes are the enterprise extension's (RFC 7643 §4.3).
var enterpriseAttributes = []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"}

func (p *Plan) change(attr string, before, after any, rule string) {
	p.Changes = append(p.Changes, AttributeChange{Attribute: attr, Before: before, After: after, Rule: rule})
}
