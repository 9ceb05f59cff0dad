package reconcile

import (
	"time"

	"github.com/scimd/scimd/store"
)

// Source names where a write comes from.
type Source string

const (
	SourceSCIM  Source = "scim"
	SourceOIDC  Source = "oidc"
	SourceCSV   Source = "csv"
	SourceAdmin Source = "admin"
	// SourceCLI is scimd's own commands (token create, connector set).
	SourceCLI Source = "cli"
	// SourceActivation is a user following their activation link.
	SourceActivation Source = "activation"
)

// Op is what the source asks for.
type Op string

const (
	Create  Op = "create"
	Replace Op = "replace"
	Delete  Op = "delete"
	// Patch runs Input.Edit on the resource's current document.
	Patch Op = "patch"
	// Upsert updates the user the input matches, or creates one: for
	// sources that know no SCIM id (a login, a CSV row).
	Upsert Op = "upsert"
)

// Kind is the resource type written.
type Kind string

const (
	KindUser  Kind = "User"
	KindGroup Kind = "Group"
)

// Input is one write from any source, before matching and mapping.
type Input struct {
	Source Source
	// Principal is who writes, as the edge authenticated it: the tenant
	// and the connector, whose configuration maps the write (in.TenantID,
	// in.ConnectorName… are the principal's; in.Kind is the resource's).
	store.Principal
	Kind Kind
	Op   Op
	// ID names the resource for Replace and Delete.
	ID string
	// IfMatch, when not zero, is the version the client holds (If-Match);
	// a write to any other version fails with [store.ErrStale] at once
	// instead of being planned again.
	IfMatch int64

	// Attrs is the resource as a SCIM document: core attributes by their
	// canonical names and extensions under their URNs, without id, meta,
	// externalId and members. For Replace it is the whole new state.
	Attrs map[string]any
	// ExternalID is the connector's own id for the resource; "" clears it.
	ExternalID string
	// ManagerExternalID names the user's manager (superior, reportsTo) by
	// the manager's external ID in this connector; it sets the enterprise
	// manager when the source has no SCIM id for them (CSV).
	ManagerExternalID string
	// ManagerUserName names the manager by userName instead (the 002
	// seed's reportsTo column holds the manager's login name).
	ManagerUserName string
	// PasswordHash is an existing password hash the source carries over
	// (a CSV export from another system): bcrypt or argon2id in their
	// standard encodings, already checked by the source; "" leaves the
	// stored one. It is stored apart from the document and never served.
	PasswordHash string
	// Members are a group's members, for a group Create or Replace.
	Members []store.MemberRef
	// Edit computes the new document from the current one, for Patch.
	Edit Edit
	// Claims are an OIDC login's claims (the ID token's, with userinfo's
	// added), which the connector's rules read as claims; nil for other
	// sources.
	Claims map[string]any
	// IgnoreUnknownMembers skips member ids that name nothing when a
	// group write (Create, Replace or Patch) adds members, instead of
	// refusing the whole request: an identity provider may push a group
	// before all of its members.
	IgnoreUnknownMembers bool
	// Given is what the source states directly (a CSV row's columns, an
	// administrator's choice): grants, status and access window that act
	// as rules which always fire; nil states nothing.
	Given *Given
	// Notify asks for an activation message when the write creates the
	// user: the new account waits in status pending until its one-time
	// link is used (CSV notifyIfNewUser, an administrator's invite).
	// Without it, the connector's notify decides (except for CSV rows and
	// sign-ins).
	Notify bool

	// approved is a held write an administrator approved: the deletion
	// guard lets it through (guard.go).
	approved bool
}

// Doc is a resource's document as an [Edit] sees it.
type Doc struct {
	Attrs      map[string]any
	ExternalID string
}

// MemberEdit changes a group's members as one set operation.
type MemberEdit struct {
	Op  string // "add", "remove" or "replace"
	IDs []string
	// All, with remove, removes every member.
	All bool
}

// Edit computes a resource's new document, and changes to a group's
// members, from its current document: a PATCH. It must be pure, because
// Apply runs it again when it loses a race with another writer.
type Edit func(Doc) (Doc, []MemberEdit, error)

// Given is what a source states about a user directly rather than
// through the connector's rules: a CSV row's roles, groups, org unit,
// status and access window columns, or an administrator's choice. Each
// field acts as a rule that always fires, named after where it came from
// (Given.Rule, e.g. "column roles"), so allow lists, create policy,
// revision policy, provenance and audit treat it exactly as a rule's
// grant. A nil slice or pointer states nothing (the stored value stays); an
// empty non-nil slice states "none" (the column's grants are revoked).
type Given struct {
	Roles   []string
	Groups  []string
	OrgUnit *string
	// Cohort is a group joined only if it exists ("Class of 2027" from a
	// grad year, 000 seed): one that does not is skipped, not an error.
	Cohort string
	// Status is "", StatusActive, StatusDisabled or StatusPending.
	Status string
	// AccessStart and AccessEnd: nil states nothing; a pointer to the
	// zero time clears the bound.
	AccessStart, AccessEnd *time.Time
	// Guest makes a new user a guest (000 seed): limited to exactly one
	// group. An existing member cannot be made a guest this way, since it
	// would take their other groups away.
	Guest bool
	// Rule names the statement in provenance and audit, per field:
	// Rule("roles") is "column roles" for a CSV row. Empty means
	// "given <field>".
	Rule func(field string) string
}
