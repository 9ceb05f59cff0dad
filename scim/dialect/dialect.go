package dialect

import (
	"fmt"
	"slices"

	"github.com/scimd/scimd/scim/patch"
)

// Profile is one identity provider's behaviour.
type Profile struct {
	Name string
	// Patch tunes the PATCH engine.
	Patch patch.Options
	// IgnoreUnknownMembers skips member ids that name nothing, on POST,
	// PUT and PATCH of a group alike, instead of refusing the request: an
	// identity provider may push a group before its members (Okta group
	// push; Fleet #52600), and one unknown id must not fail the batch. The
	// ids skipped are in the write's audit event.
	IgnoreUnknownMembers bool
	// UserPatchNoContent answers a user PATCH with 204 instead of 200 and
	// the resource (Microsoft's validator expects 204; Entra takes both).
	UserPatchNoContent bool
	// LooseEmails stores an emails value that is not an address
	// (local@domain): Microsoft's own test suite posts "emailName357".
	LooseEmails bool
}

// The profiles. Where one differs from RFC 7644, the field says why.
var profiles = map[string]Profile{
	"default": {Name: "default", IgnoreUnknownMembers: true},
	"okta":    {Name: "okta", IgnoreUnknownMembers: true},
	"entra": {Name: "entra", IgnoreUnknownMembers: true, UserPatchNoContent: true, LooseEmails: true,
		Patch: patch.Options{CreateMissing: true}},
	"strict": {Name: "strict"},
}

// Names lists the profiles.
func Names() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the named profile; "" is the default.
func Lookup(name string) (Profile, error) {
	if name == "" {
		name = "default"
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q (profiles: %v)", name, Names())
	}
	return p, nil
}
