package reconcile

import "github.com/scimd/scimd/store"

// Source names where a write comes from.
type Source string

const (
	SourceSCIM  Source = "scim"
	SourceOIDC  Source = "oidc"
	SourceCSV   Source = "csv"
	SourceAdmin Source = "admin"
	// SourceCLI is scimd's own commands (token create, connector set).
	SourceCLI Source = "cli"
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
