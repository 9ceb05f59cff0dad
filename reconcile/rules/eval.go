package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
)

// Rule is one compiled mapping rule of a connector.
type Rule struct {
	Name string
	// Line is where the rule starts in the configuration file.
	Line int

	cond                   cel.Program // nil: always
	orgUnit                *template
	groups, roles          []*template
	status                 *template
	accessStart, accessEnd *template
	externalID             *template
	skipMissing            bool
	write                  string          // "" is WriteAlways
	reads                  map[string]bool // the variables its expressions read
}

// Reads reports whether the rule's condition or values read the variable
// name (such as "claims").
func (r *Rule) Reads(name string) bool { return r.reads[name] }

// Sets reports whether the rule, when it fires, sets field: "status",
// "accessStart", "accessEnd" or "externalId".
func (r *Rule) Sets(field string) bool {
	switch field {
	case "status":
		return r.status != nil
	case "accessStart":
		return r.accessStart != nil
	case "accessEnd":
		return r.accessEnd != nil
	case "externalId":
		return r.externalID != nil
	}
	return false
}

// Input is what a source sent about one user, as rule expressions see it.
// Absent values are zero: "", 0, false, empty.
type Input struct {
	// Source is where the input comes from: "scim", "oidc", "csv" or
	// "admin".
	Source string

	UserName, DisplayName, GivenName, FamilyName, MiddleName, Title, UserType, Locale, PreferredLanguage, ExternalID string
	// Email is the primary email, or the first.
	Email  string
	Emails []string
	Active bool

	// The enterprise extension (RFC 7643 §4.3); Manager is the manager's
	// id ("value").
	EmployeeNumber, CostCenter, Organization, Division, Department, Manager string

	GradYear, EntryYear int64
	// Groups are the display names of the groups the identity provider put
	// the user in (pushed), not those a rule granted.
	Groups []string
	// Attributes is everything the source sent, as it sent it: the SCIM
	// document with extensions under their URNs, CSV columns, OIDC claims.
	Attributes map[string]any
	// Claims are an OIDC login's ID token claims, with those userinfo
	// added (claims.email, claims.groups, custom ones); empty for other
	// sources.
	Claims map[string]any
	// ClaimsUnknown says the input is a login's user mapped again with no
	// sign-in at hand (a rule change re-applied): its claims are not
	// empty but unknown. Rules that read claims are then not run, and
	// Result.Undecided names them, so that what they granted and set
	// stays as the user's last sign-in left it.
	ClaimsUnknown bool
}

// vars returns in as the activation of rule expressions: one value for
// each of [variables].
func (in Input) vars() map[string]any {
	attrs := in.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	claims := in.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return map[string]any{
		"source": in.Source, "userName": in.UserName, "displayName": in.DisplayName,
		"givenName": in.GivenName, "familyName": in.FamilyName, "middleName": in.MiddleName,
		"title": in.Title, "userType": in.UserType, "locale": in.Locale,
		"preferredLanguage": in.PreferredLanguage, "externalId": in.ExternalID,
		"email": in.Email, "emails": list(in.Emails), "active": in.Active,
		"employeeNumber": in.EmployeeNumber, "costCenter": in.CostCenter,
		"organization": in.Organization, "division": in.Division,
		"department": in.Department, "manager": in.Manager,
		"gradYear": in.GradYear, "entryYear": in.EntryYear,
		"groups": list(in.Groups), "attributes": attrs, "claims": claims,
	}
}

// Result is what a connector's rules make of an [Input].
type Result struct {
	// Fired names the rules whose condition held, in config order.
	Fired []string
	// Grants are the org units, groups and roles the fired rules grant
	// and the allow-list permits, in rule order, each once (the first
	// rule naming it wins). Whether each exists, or may be created, is
	// the caller's to check: see [Grant.SkipMissing] and [Create].
	Grants []Grant
	// Denied are the grants the allow-list refused, with Reason set.
	Denied []Grant
	// OrgUnit, Status and ExternalID are nil when no fired rule set them.
	// OrgUnit is also in Grants, or in Denied and then nil here. Status
	// is "active", "disabled" or "pending".
	OrgUnit, Status, ExternalID *Value
	// AccessStart and AccessEnd are the access window; nil when no fired
	// rule set them.
	AccessStart, AccessEnd *TimeValue
	// Undecided are the rules not run, for they read claims and the
	// input's are unknown (Input.ClaimsUnknown): neither fired nor not.
	Undecided []*Rule
}

// Grant is an org unit, group or role a rule grants.
type Grant struct {
	Kind Kind
	// Name is the group's or role's name, or the org unit's path
	// ("Medicine/Radiology").
	Name string
	// Rule names the rule that granted it.
	Rule string
	// SkipMissing says to skip the grant, not fail, when what it names
	// does not exist and may not be created.
	SkipMissing bool
	// Reason says why it was denied; "" in Result.Grants.
	Reason string
}

// Value is a value a rule set, and the rule that set it.
type Value struct {
	Value, Rule string
}

// TimeValue is a time a rule set, and the rule that set it.
type TimeValue struct {
	Value time.Time
	Rule  string
}

// Eval runs c's rules on in: each rule whose condition holds grants and
// sets what it names, templates evaluated. It is pure and deterministic,
// and safe for concurrent use. Its error names the rule: an expression
// failed or exceeded its cost budget, a status or time was invalid, or
// two fired rules set different orgUnit, status, accessStart, accessEnd
// or externalId values. A template yielding "" grants and sets nothing.
func (c *Connector) Eval(in Input) (Result, error) {
	e := &evaluation{c: c, vars: in.vars(), seen: map[Grant]bool{}, set: map[string]Value{}}
	for _, r := range c.Rules {
		if in.ClaimsUnknown && r.Reads("claims") {
			e.r.Undecided = append(e.r.Undecided, r)
			continue
		}
		if r.cond != nil {
			out, _, err := r.cond.Eval(e.vars)
			if err != nil {
				return Result{}, fmt.Errorf("rule %q: if: %w", r.Name, err)
			}
			ok, isBool := out.Value().(bool)
			if !isBool {
				return Result{}, fmt.Errorf("rule %q: if: condition yields a %s, want a bool", r.Name, out.Type().TypeName())
			}
			if !ok {
				continue
			}
		}
		e.r.Fired = append(e.r.Fired, r.Name)
		if err := e.apply(r); err != nil {
			return Result{}, fmt.Errorf("rule %q: %w", r.Name, err)
		}
	}
	return e.r, nil
}

// evaluation is one run of [Connector.Eval].
type evaluation struct {
	c    *Connector
	vars map[string]any
	r    Result
	seen map[Grant]bool   // Kind and Name of grants made or denied
	set  map[string]Value // field → first value set, to find conflicts
}

func (e *evaluation) apply(r *Rule) error {
	if r.orgUnit != nil {
		v, err := r.orgUnit.eval(e.vars)
		if err != nil {
			return fmt.Errorf("orgUnit: %w", err)
		}
		if v = cleanPath(v); v != "" {
			if err := e.claim("orgUnit", v, r.Name); err != nil {
				return err
			}
			if e.grant(r, KindOrgUnit, v) && e.r.OrgUnit == nil {
				e.r.OrgUnit = &Value{v, r.Name}
			}
		}
	}
	for _, kt := range []struct {
		kind Kind
		ts   []*template
	}{{KindGroup, r.groups}, {KindRole, r.roles}} {
		for _, t := range kt.ts {
			v, err := t.eval(e.vars)
			if err != nil {
				return fmt.Errorf("%ss: %w", kt.kind, err)
			}
			if v = strings.TrimSpace(v); v != "" {
				e.grant(r, kt.kind, v)
			}
		}
	}
	for _, f := range []struct {
		name string
		t    *template
		dst  **Value
	}{{"status", r.status, &e.r.Status}, {"externalId", r.externalID, &e.r.ExternalID}} {
		if f.t == nil {
			continue
		}
		v, err := f.t.eval(e.vars)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if f.name == "status" {
			v = strings.TrimSpace(v)
			if v != "" && !slices.Contains(statuses, v) {
				return fmt.Errorf("status: %q is not active, disabled or pending", v)
			}
		}
		if v == "" {
			continue
		}
		if err := e.claim(f.name, v, r.Name); err != nil {
			return err
		}
		if *f.dst == nil {
			*f.dst = &Value{v, r.Name}
		}
	}
	for _, f := range []struct {
		name string
		t    *template
		dst  **TimeValue
	}{{"accessStart", r.accessStart, &e.r.AccessStart}, {"accessEnd", r.accessEnd, &e.r.AccessEnd}} {
		if f.t == nil {
			continue
		}
		v, err := f.t.eval(e.vars)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := e.claim(f.name, t.UTC().Format(time.RFC3339Nano), r.Name); err != nil {
			return err
		}
		if *f.dst == nil {
			*f.dst = &TimeValue{t, r.Name}
		}
	}
	return nil
}

// claim records that rule set field to v, failing if an earlier rule set
// it to something else.
func (e *evaluation) claim(field, v, rule string) error {
	if prev, ok := e.set[field]; ok && prev.Value != v {
		return fmt.Errorf("%s %q conflicts with %q set by rule %q", field, v, prev.Value, prev.Rule)
	}
	if _, ok := e.set[field]; !ok {
		e.set[field] = Value{v, rule}
	}
	return nil
}

// grant adds a grant of name to Grants or, if the allow-list refuses it,
// Denied, unless an earlier rule granted it; it reports whether name is
// permitted.
func (e *evaluation) grant(r *Rule, k Kind, name string) bool {
	ok := e.c.Allow.Permits(k, name)
	key := Grant{Kind: k, Name: name}
	if e.seen[key] {
		return ok
	}
	e.seen[key] = true
	g := Grant{Kind: k, Name: name, Rule: r.Name, SkipMissing: r.skipMissing}
	if ok {
		e.r.Grants = append(e.r.Grants, g)
	} else {
		g.Reason = fmt.Sprintf("allow.%ss of connector %q does not permit it", k, e.c.Name)
		e.r.Denied = append(e.r.Denied, g)
	}
	return ok
}

// timeLayouts are the layouts, besides Unix seconds, that access times may
// use; those without a zone are UTC.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02"}

// parseTime parses an access time: RFC 3339, "2006-01-02 15:04",
// "2006-01-02" (both UTC) or Unix seconds.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339, 2006-01-02 15:04, 2006-01-02 or Unix seconds", s)
}
