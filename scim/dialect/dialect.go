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
	// IgnoreUnknownMembers skips ids a PATCH adds to a group that name
	// nothing, instead of refusing the request (Okta may push a group
	// before its members; Fleet #52600).
	IgnoreUnknownMembers bool
	// UserPatchNoContent answers a user PATCH with 204 instead of 200 and
	// the resource (Microsoft's validator expects 204; Entra takes both).
	UserPatchNoContent bool
}

var profiles = map[string]Profile{
	"default": {Name: "default", IgnoreUnknownMembers: true},
	"okta":    {Name: "okta", IgnoreUnknownMembers: true},
	"entra":   {Name: "entra", IgnoreUnknownMembers: true, UserPatchNoContent: true},
	"strict":  {Name: "strict", Patch: patch.Options{NoTargetFails: true}},
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
