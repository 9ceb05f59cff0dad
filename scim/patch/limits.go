package patch

import "strings"

// MaxOperations bounds the operations of one PATCH request. The identity
// providers send a few (Entra batches one per changed attribute; the
// conformance collections send at most 16).
const MaxOperations = 100

// DefaultMaxMembers is the default bound on the members one PATCH request
// adds, replaces or removes by value list, over all its operations (see
// [Members]): Okta pushes up to 256 per request, AWS accepts 100, IBM
// Verify 2,500. A filter (members[value eq "…" or …]) is bounded by
// MaxPathLen instead.
const DefaultMaxMembers = 1000

// Members is how many members ops list as values of the attribute
// members (a group's members): the values of an operation whose path is
// members (or members.value), and those under the key members of a
// path-less value.
func Members(ops []Op, members string) int {
	if members == "" {
		return 0
	}
	n := 0
	for _, op := range ops {
		switch path := strings.ToLower(op.Path); {
		case path == strings.ToLower(members) || path == strings.ToLower(members)+".value":
			n += count(op.Value)
		case path == "":
			if m, ok := op.Value.(map[string]any); ok {
				n += count(lookup(m, members))
			}
		}
	}
	return n
}

func count(v any) int {
	switch v := v.(type) {
	case []any:
		return len(v)
	case nil:
		return 0
	}
	return 1
}
