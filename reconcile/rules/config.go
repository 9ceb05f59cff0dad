package rules

import (
	"slices"
	"strings"
)

// Config is a loaded configuration file: every tenant's role catalogue and
// connectors. A Config is immutable after [Load] and safe for concurrent
// use.
type Config struct {
	Tenants []*Tenant
}

// Connector returns the named connector of the named tenant, and false
// when the file does not configure it (callers then use [Default]).
func (c *Config) Connector(tenant, name string) (*Connector, bool) {
	if c == nil {
		return nil, false
	}
	for _, t := range c.Tenants {
		if t.Name != tenant {
			continue
		}
		for _, cn := range t.Connectors {
			if cn.Name == name {
				return cn, true
			}
		}
	}
	return nil, false
}

// Tenant is one organisation's part of the file.
type Tenant struct {
	Name string
	// Roles is the tenant's role catalogue.
	Roles []RoleDef
	// Extensions are the tenant's own User extension schemas: what its
	// identity providers send beyond the core and enterprise schemas
	// (RFC 7643 §3.3), served, stored, filtered and given to the rules.
	Extensions []Extension
	Connectors []*Connector
	// Source is the tenant's section of the text it was loaded from, as a
	// configuration of its own ("tenants:" and this tenant alone, comments
	// kept), for an editor to start from; "" if it cannot be written so.
	Source string
}

// Extension is a custom User extension schema.
type Extension struct {
	Schema string // its URN
	Name   string
	// Attributes are simple (RFC 7643 §2.3) and optional.
	Attributes []ExtensionAttribute
}

// ExtensionAttribute is one attribute of an [Extension].
type ExtensionAttribute struct {
	Name string
	// Type is string (the default), boolean, integer, decimal or dateTime.
	Type                   string
	MultiValued, CaseExact bool
	Description            string
}

// Tenant returns the tenant named name.
func (c *Config) Tenant(name string) (*Tenant, bool) {
	if c == nil {
		return nil, false
	}
	for _, t := range c.Tenants {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// RoleDef is one role of a tenant's catalogue.
type RoleDef struct {
	Name string
	// Groups, when not empty, are the groups one of which a user must hold
	// for the role to be valid; empty means valid with any group.
	Groups []string
}

// MatchKey is an attribute used to find the existing user an input means.
type MatchKey string

const (
	MatchExternalID MatchKey = "externalId"
	MatchUserName   MatchKey = "userName"
	MatchEmail      MatchKey = "email"
)

// Kind is what a [Grant] grants.
type Kind string

const (
	KindOrgUnit Kind = "orgUnit"
	KindGroup   Kind = "group"
	KindRole    Kind = "role"
)

// Create says what a connector's rules may create when a group, role or
// org unit they name does not exist yet. The zero value creates nothing:
// everything must exist beforehand.
type Create struct {
	Roles, Groups, OrgUnits bool
}

// Require says what an account must end up with after mapping: at least
// one group, at least one role. The zero value requires nothing.
type Require struct {
	Group, Role bool
}

// Allow lists what a connector's rules may grant. Empty lists grant
// nothing: a connector must be allowed each grant explicitly.
type Allow struct {
	// Roles and Groups hold names; an entry ending in "*" permits every
	// name with the prefix before it ("*" alone permits all). Names are
	// compared case-sensitively.
	Roles, Groups []string
	// OrgUnits holds "/"-separated paths; an entry permits that unit and
	// every unit below it. There are no wildcards.
	OrgUnits []string
}

// Permits reports whether a may grant the named org unit, group or role.
// "Medicine" permits "Medicine" and "Medicine/Radiology" but not
// "Medicinex"; "Class of *" permits "Class of 2027". An unknown kind is
// never permitted.
func (a Allow) Permits(k Kind, name string) bool {
	switch k {
	case KindRole:
		return permitsName(a.Roles, name)
	case KindGroup:
		return permitsName(a.Groups, name)
	case KindOrgUnit:
		name = cleanPath(name)
		if name == "" {
			return false
		}
		for _, e := range a.OrgUnits {
			e = cleanPath(e)
			if e != "" && (name == e || strings.HasPrefix(name, e+"/")) {
				return true
			}
		}
	}
	return false
}

func permitsName(entries []string, name string) bool {
	if name == "" {
		return false
	}
	for _, e := range entries {
		if prefix, ok := strings.CutSuffix(e, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if e == name {
			return true
		}
	}
	return false
}

// cleanPath returns the org unit path p with its segments trimmed of
// spaces and empty segments dropped: " /Medicine//Radiology/" is
// "Medicine/Radiology".
func cleanPath(p string) string {
	var segs []string
	for s := range strings.SplitSeq(p, "/") {
		if s = strings.TrimSpace(s); s != "" {
			segs = append(segs, s)
		}
	}
	return strings.Join(segs, "/")
}

// Connector is one identity source of one tenant, and how what it sends is
// mapped. A Connector is immutable after [Load] and safe for concurrent
// use.
type Connector struct {
	Tenant, Name string
	// Kind is what the connector is: [KindSCIM] (the default), an identity
	// provider pushing over SCIM, [KindOIDC], one people sign in with, or
	// [KindCSV], one whose users arrive in CSV files.
	Kind string
	// OIDC is an OIDC connector's provider and login policy; nil for other
	// kinds.
	OIDC *OIDC
	// CSV is a CSV connector's file layout; nil for other kinds (whose
	// imports use the default layout).
	CSV *CSV
	// Match is the order in which identities are matched; never empty.
	Match []MatchKey
	// EmailDomains are the lower-case domains whose addresses the source
	// vouches for: email matching uses only these.
	EmailDomains []string
	Create       Create
	Require      Require
	// LoginName is how to generate a userName when the source sends none:
	// "" never generates one, [LoginFirstLast] joins given and family
	// names.
	LoginName string
	// Revisions is how a revised record changes what a rule that still
	// fires granted before: "" revokes what the rule no longer names;
	// [RevisionsAddGroups] keeps the groups, adding new ones, and replaces
	// a role only when the rule grants its group again.
	Revisions string
	// Notify sends each user the connector creates an activation message
	// (000 and 004 seeds); a new user whose source states no status (SCIM
	// active absent) then waits in status pending until they use its link
	// or first sign in. A CSV row's notifyIfNewUser decides for its user.
	Notify bool
	Allow  Allow
	// Precedence maps an attribute to the writers (sources or connectors
	// of the tenant) that own it, highest first; nil or absent attributes
	// have no owner. Grants (orgUnit, groups, roles) need none: a rule
	// only ever revokes what it granted itself, never another writer's
	// grant.
	Precedence map[string][]string
	// Writes holds, per attribute of Precedence, the write policies of
	// its writers other than [WriteAlways] (precedence entries such as
	// {okta: onCreate}): see [Connector.WritePolicy].
	Writes map[string]map[string]string
	// Roles is the tenant's role catalogue.
	Roles []RoleDef
	// Rules run in order; see [Connector.Eval].
	Rules []*Rule
	// DeletionGuard holds the connector's deactivations and deletions
	// beyond a threshold for an administrator; nil: none are held.
	DeletionGuard *DeletionGuard

	reads map[string]bool // the variables the rules read
}

// Reads reports whether any of the connector's rules reads the variable
// name (such as "groups"): whether a change to it can change what the
// rules grant.
func (c *Connector) Reads(name string) bool { return c.reads[name] }

// Connector kinds: the store's connector kinds of the same names.
const (
	KindSCIM = "scim"
	KindOIDC = "oidc"
)

// OIDC is how an OIDC connector's provider is reached and who may sign in
// through it. The client secret is never in the configuration, only where
// to read it from.
type OIDC struct {
	// Issuer is the provider's issuer URL: the only discovery URL fetched,
	// and the iss every ID token must carry.
	Issuer string
	// ClientID is the app's client ID: the audience ID tokens must name.
	ClientID string
	// ClientSecretEnv names the environment variable, ClientSecretFile
	// the file, holding the client secret (at most one is set).
	ClientSecretEnv, ClientSecretFile string
	// Scopes are asked for at login; default openid, email, profile.
	Scopes []string
	// RedirectBaseURL is scimd's public URL, to which the provider sends
	// the browser back (…/auth/{tenant}/{connector}/callback).
	RedirectBaseURL string
	// ReturnOrigins are the origins (scheme://host[:port], lower case) an
	// application may ask to be sent back to after login, besides
	// relative paths.
	ReturnOrigins []string
	// EmailVerified requires the provider to say the email is verified
	// (email_verified, or Entra's xms_edov); default true.
	EmailVerified bool
	// CreateUsers lets a login create a user nobody matches; false only
	// updates and links users that exist. Default true.
	CreateUsers bool
	// UserNameClaim is the claim a new user's userName comes from:
	// preferred_username (the default, falling back to email), email or upn.
	UserNameClaim string
}

// Values of [Connector.LoginName] and [Connector.Revisions] besides "".
const (
	LoginFirstLast     = "first.last"
	RevisionsAddGroups = "addGroups"
)

// Default returns what a connector the file does not configure gets: the
// default match order (externalId, userName, email), nothing allowed, no
// rules and nothing required.
func Default(tenant, name string) *Connector {
	return &Connector{Tenant: tenant, Name: name, Kind: KindSCIM, Match: defaultMatch()}
}

func defaultMatch() []MatchKey {
	return []MatchKey{MatchExternalID, MatchUserName, MatchEmail}
}

// Vouches reports whether the domain of email, compared case-insensitively,
// is one of c's EmailDomains.
func (c *Connector) Vouches(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 || at == len(email)-1 {
		return false
	}
	return slices.Contains(c.EmailDomains, strings.ToLower(email[at+1:]))
}

// Writer is who writes an attribute, as precedence names it: a source
// (scim, oidc, csv, admin) and, for a connector, its name.
type Writer struct {
	Source, Connector string
}

// Outranks reports whether writer a ranks strictly above writer b for attr
// under c's Precedence, whose entries name sources or connectors of the
// tenant: a writer ranks as its best-ranked name. A listed writer outranks
// every unlisted one; two unlisted ones, and any writers of an attribute
// without an entry, do not outrank each other.
func (c *Connector) Outranks(attr string, a, b Writer) bool {
	order, ok := c.Precedence[attr]
	if !ok {
		return false
	}
	rank := func(w Writer) int {
		best := len(order)
		for _, name := range []string{w.Connector, w.Source} {
			if i := slices.Index(order, name); i >= 0 && i < best && name != "" {
				best = i
			}
		}
		return best
	}
	return rank(a) < rank(b)
}

// RoleValid reports whether role may be held by a user holding groups,
// under the tenant's catalogue. A role absent from the catalogue, or
// listing no groups, is valid with any groups. Group names compare in any
// case, as a tenant's group names are unique in any case: Okta may push
// "engineering" for the catalogue's Engineering.
func (c *Connector) RoleValid(role string, groups []string) bool {
	i := slices.IndexFunc(c.Roles, func(r RoleDef) bool { return r.Name == role })
	if i < 0 || len(c.Roles[i].Groups) == 0 {
		return true
	}
	return slices.ContainsFunc(groups, func(g string) bool {
		return slices.ContainsFunc(c.Roles[i].Groups, func(want string) bool { return strings.EqualFold(want, g) })
	})
}
