package reconcile

import (
	"fmt"
	"reflect"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Write policies (rules.WriteOnCreate, rules.WriteIfEmpty): of a rule,
// applied to what the connector's rules give before it is planned
// (writePolicies); of a writer of a mapped attribute, next to its
// precedence (owners.withholds). What a policy withholds stays as stored:
// a rule that does not write is silent, so what it granted before stays,
// and an attribute keeps its stored value. Both show in Plan.Kept.

// writePolicies takes out of res what rules with a write policy do not
// write now. creating says the plan creates the user; prev is the user as
// stored, current their grants and groups the groups pushed to them.
// Rules it silences are added to silent.
func writePolicies(conn *rules.Connector, in Input, res *rules.Result, creating bool, prev store.User,
	current []store.Grant, groups []string, silent map[string]bool, p *Plan) {
	if creating {
		return // every policy writes into a user being created
	}
	// writes reports whether rule writes into a target of kind (empty: "is
	// this target empty" is then told by empty).
	writes := func(rule string, empty bool) bool {
		switch conn.RuleWrite(rule) {
		case rules.WriteOnCreate:
			return false
		case rules.WriteIfEmpty:
			return empty
		}
		return true
	}
	withheld := map[string]bool{}
	withhold := func(rule, what string, grant bool) {
		if grant {
			silent[rule] = true // what it granted before stays
		}
		if key := rule + "\x00" + what; !withheld[key] {
			withheld[key] = true
			p.Kept = append(p.Kept, fmt.Sprintf("%s (rule %s writes %s)", what, rule, policyWords(conn.RuleWrite(rule))))
		}
	}
	// emptyOf reports whether the user holds no grant of kind but those
	// of rule of this connector.
	emptyOf := func(kind rules.Kind, rule string) bool {
		if kind == rules.KindGroup && len(groups) > 0 {
			return false
		}
		for _, g := range current {
			if g.Kind == string(kind) && (g.ConnectorID != in.ConnectorID || g.Rule != rule) {
				return false
			}
		}
		return true
	}
	kept := res.Grants[:0:0]
	for _, g := range res.Grants {
		if writes(g.Rule, emptyOf(g.Kind, g.Rule)) {
			kept = append(kept, g)
			continue
		}
		withhold(g.Rule, string(g.Kind), true)
	}
	res.Grants = kept
	if v := res.OrgUnit; v != nil && silent[v.Rule] {
		res.OrgUnit = nil
	}
	if v := res.Status; v != nil && !writes(v.Rule, false) {
		// A stored user always has a status: ifEmpty never writes it.
		withhold(v.Rule, "status", false)
		res.Status = nil
	}
	for _, w := range []struct {
		v    **rules.TimeValue
		was  time.Time
		name string
	}{{&res.AccessStart, prev.AccessStart, "accessStart"}, {&res.AccessEnd, prev.AccessEnd, "accessEnd"}} {
		if v := *w.v; v != nil && !writes(v.Rule, w.was.IsZero()) {
			withhold(v.Rule, w.name, false)
			*w.v = nil
			if !w.was.IsZero() {
				// The stored window stays, as if the rule had set it again.
				*w.v = &rules.TimeValue{Value: w.was, Rule: v.Rule}
			}
		}
	}
	if v := res.ExternalID; v != nil && !writes(v.Rule, prev.ExternalID == "") {
		withhold(v.Rule, "externalId", false)
		res.ExternalID = nil
	}
}

// withholds reports whether the input's writer may not write attr now
// under its write policy (the precedence entry policy names it by): on
// create only, and the user exists; if empty only, and old is not empty.
func (o *owners) withholds(attr, policy string, old any) (string, bool) {
	w := o.conn.WritePolicy(policy, o.incoming)
	switch {
	case w == rules.WriteOnCreate && o.existing, w == rules.WriteIfEmpty && o.existing && !emptyValue(old):
		return fmt.Sprintf("%s (%s writes it %s)", attr, writer(o.incoming.Source, o.incoming.Connector), policyWords(w)), true
	}
	return "", false
}

// emptyValue reports whether an attribute's value is absent or empty: nil,
// "", an empty list or object.
func emptyValue(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return false
}

func policyWords(policy string) string {
	if policy == rules.WriteOnCreate {
		return "only when it creates the user"
	}
	return "only into an empty value"
}
