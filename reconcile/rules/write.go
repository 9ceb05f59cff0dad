package rules

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Write policies: when a rule, or a writer of a mapped attribute, writes.
//
//	rules:
//	  - name: default unit
//	    write: ifEmpty        # only a user without an org unit gets it
//	    orgUnit: Staff
//	precedence:
//	  title: [hr, {okta: onCreate}]   # okta sets title only on the users it creates
//
// A precedence entry is a writer's name (policy always) or a one-key
// mapping of the name to its policy.
const (
	// WriteAlways writes every time: the default.
	WriteAlways = "always"
	// WriteOnCreate writes only when the write creates the user (Entra's
	// "only during creation"): a rule's grants and settings apply only
	// then, and a writer sets the attribute only then.
	WriteOnCreate = "onCreate"
	// WriteIfEmpty writes only into an empty target. For an attribute,
	// when the stored value is absent or empty; for a rule, per kind of
	// grant: when the user holds no org unit (group, role) but what this
	// rule of this connector granted, and for its status, access window
	// and external ID, when the user has none stored.
	WriteIfEmpty = "ifEmpty"
)

var writePolicies = []string{WriteAlways, WriteOnCreate, WriteIfEmpty}

// Write is the rule's write policy: [WriteAlways], [WriteOnCreate] or
// [WriteIfEmpty].
func (r *Rule) Write() string {
	if r.write == "" {
		return WriteAlways
	}
	return r.write
}

// RuleWrite is the write policy of c's rule named name; [WriteAlways] for
// a name c has no rule of (a source's given values).
func (c *Connector) RuleWrite(name string) string {
	for _, r := range c.Rules {
		if r.Name == name {
			return r.Write()
		}
	}
	return WriteAlways
}

// WritePolicy is the write policy of writer w for attr under c's
// Precedence: that of the entry w ranks as (its best-ranked name);
// [WriteAlways] when no entry names w.
func (c *Connector) WritePolicy(attr string, w Writer) string {
	order := c.Precedence[attr]
	best := len(order)
	for _, name := range []string{w.Connector, w.Source} {
		if i := slices.Index(order, name); i >= 0 && i < best && name != "" {
			best = i
		}
	}
	if best == len(order) {
		return WriteAlways
	}
	if p := c.Writes[attr][order[best]]; p != "" {
		return p
	}
	return WriteAlways
}

// writeEntries reads a precedence list: names, or one-key mappings of a
// name to its write policy. It returns the names in order and the
// policies other than always.
func (l *loader) writeEntries(n *yaml.Node, attr string, accepted []string) ([]string, map[string]string) {
	key := "precedence." + attr
	var names []string
	var policies map[string]string
	for _, it := range l.seq(n, key) {
		name, policy := "", WriteAlways
		switch rv := l.resolve(it); {
		case rv != nil && rv.Kind == yaml.MappingNode:
			if len(rv.Content) != 2 {
				l.add(rv, fmt.Sprintf("%s: an entry with a write policy names one writer", key), "write {okta: onCreate}")
				continue
			}
			name = l.str(rv.Content[0], "a writer")
			policy = l.str(rv.Content[1], "a write policy")
			if !slices.Contains(writePolicies, policy) {
				l.add(rv.Content[1], fmt.Sprintf("unknown write policy %q in %s", policy, key), didYouMean(policy, writePolicies, "write policies"))
				continue
			}
			it = rv.Content[0]
		default:
			name = l.str(it, "source")
		}
		switch {
		case !slices.Contains(accepted, name):
			l.add(it, fmt.Sprintf("unknown source %q in %s", name, key), didYouMean(name, accepted, "sources"))
		case slices.Contains(names, name):
			l.add(it, fmt.Sprintf("source %q repeated in %s", name, key), "list each once")
		default:
			names = append(names, name)
			if policy != WriteAlways {
				if policies == nil {
					policies = map[string]string{}
				}
				policies[name] = policy
			}
		}
	}
	return names, policies
}
