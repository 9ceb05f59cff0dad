package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/schemas"

	"github.com/scimd/scimd/store"
)

// Plan is the exact change an [Input] makes. It can be shown (a dry run)
// or applied; both come from the same planning code, so they cannot
// disagree.
type Plan struct {
	Input Input
	// Action is what Apply will do: "create", "replace", "patch",
	// "delete", for a matched user "update" or "link" (also for a write
	// that changes nothing, by a connector that did not manage the user), for a group create
	// of a name rules created "adopt" (see claimName); "none" when the
	// write changes nothing, so that Apply writes nothing and records no
	// event (RFC 7644 §3.5.2.1: the version stays).
	Action string
	// User or Group is the resource as it will be written (for delete, as
	// it is now). Version is the version the write expects to replace.
	User  *store.User
	Group *store.Group
	// Members is the group's resolved member list when the plan sets it
	// (Create, Replace).
	Members []store.Member
	// MemberChanges are set operations on the group's members (Patch).
	MemberChanges []MemberChange
	// Skipped lists member ids a write would add that name nothing, when
	// the input ignores them.
	Skipped []string
	// Before is the SCIM document before the change (nil for create).
	Before map[string]any

	// Match is how a Create or Upsert found an existing user; nil when it
	// found none (Action "create"). Action is then "update", or "link"
	// when the connector did not manage the user before.
	Match *Match
	// Fired names the connector's rules that held, in order.
	Fired []string
	// Grants are the user's org unit, group and role grants after the
	// plan: kept, added and removed.
	Grants []GrantChange
	// Denied are grants the rules made that the connector's allow-list
	// refuses; Missing, grants of targets that do not exist, skipped
	// (skipMissing).
	Denied, Missing []rules.Grant
	// Kept lists attributes left as they were because a source ranking
	// higher set them (the connector's precedence).
	Kept []string
	// Changes are the mapped attributes the plan changes.
	Changes []AttributeChange

	conn   *rules.Connector // the configuration the plan was made with
	owners *owners          // who set the user's attributes
	// byIndex leaves to the database's unique index what it refuses
	// anyway: a userName taken (see [Engine.Apply]).
	byIndex bool
	// prevExternalID is the resource's external ID before the plan.
	prevExternalID string
	// prevStatus is the user's status before the plan ("" for a new
	// user): a write that disables them ends their sessions.
	prevStatus string
	// linkOnly means the plan changes nothing in the user but who
	// manages them: Apply links the connector and writes nothing else.
	linkOnly bool
	// sameDoc means a Patch or Replace leaves the group's document
	// (attributes, external ID, manager) as it was.
	sameDoc bool
	// configVersion is the version of the tenant's configuration conn
	// comes from; a create writes only while it is current.
	configVersion int64
	// doc is a user write's resulting document before mapping: what a
	// held write replaces the user with once approved (guard.go).
	doc *Doc
}

// reads is what planning needs from the database; *store.DB and *store.Tx
// both have it, so a plan reads the same way in a dry run as inside the
// transaction that applies it.
type reads interface {
	TenantConfig(ctx context.Context, tenantID int64) (string, int64, error)
	TenantConfigVersion(ctx context.Context, tenantID int64) (int64, error)
	ConnectorNames(ctx context.Context, tenantID int64) (map[int64]string, error)
	UserGrants(ctx context.Context, userPK int64) ([]store.Grant, error)
	PushedGroups(ctx context.Context, userPKs []int64) (map[int64][]store.GroupRef, error)
	AttributeSources(ctx context.Context, userPK int64) (map[string]store.AttributeSource, error)
	Linked(ctx context.Context, connectorID, userPK int64) (bool, error)
	UsersByExternalID(ctx context.Context, tenantID, connectorID int64, value string) ([]store.User, error)
	UserByUserName(ctx context.Context, tenantID, connectorID int64, userName string) (store.User, error)
	UsersByEmail(ctx context.Context, tenantID, connectorID int64, email string, unmanaged bool) ([]store.User, error)
	UserNameTaken(ctx context.Context, tenantID int64, userName string) (bool, error)
	OrgUnit(ctx context.Context, tenantID int64, path string) (store.OrgUnit, error)
	Role(ctx context.Context, tenantID int64, name string) (store.Role, error)
	GroupNamed(ctx context.Context, tenantID int64, name string) (store.Group, error)
	DirectMembers(ctx context.Context, groupPK int64) ([]store.Member, error)
	User(ctx context.Context, tenantID, connectorID int64, id string) (store.User, error)
	Group(ctx context.Context, tenantID, connectorID int64, id string) (store.Group, error)
	LookupMembers(ctx context.Context, tenantID int64, refs []store.MemberRef) ([]store.Member, []string, error)
}

// MemberChange is a MemberEdit with its ids resolved to rows.
type MemberChange struct {
	Op      string
	Members []store.Member
	All     bool
}

// InputError is an input that cannot be planned: a required value missing
// or invalid. Its message is meant for the client.
type InputError struct {
	Attribute string
	Msg       string
}

func (e *InputError) Error() string { return e.Msg }

// plan works out in's change. With byIndex (an apply), it leaves to the
// unique index what the index refuses anyway; a preview reads it.
func plan(ctx context.Context, r reads, conn *rules.Connector, in Input, byIndex bool) (*Plan, error) {
	p := &Plan{Input: in, Action: string(in.Op), conn: conn, byIndex: byIndex}
	switch in.Kind {
	case KindUser:
		return p, planUser(ctx, r, conn, in, p)
	case KindGroup:
		return p, planGroup(ctx, r, in, p)
	}
	return nil, fmt.Errorf("plan: unknown kind %q", in.Kind)
}

// planUser identifies the user (by SCIM id, or by matching for a create or
// an upsert), works out its new document, applies the connector's source
// precedence, and maps it through the connector's rules.
func planUser(ctx context.Context, r reads, conn *rules.Connector, in Input, p *Plan) error {
	u := &store.User{TenantID: in.TenantID}
	switch in.Op {
	case Create, Upsert:
		m, err := match(ctx, r, conn, in, in.Attrs, p.byIndex)
		if err != nil {
			return err
		}
		if m != nil {
			if in.Op == Create && m.Linked {
				// The connector creating someone it already has: RFC 7644
				// §3.3 answers 409, as IdPs expect of a duplicate.
				return &store.ConflictError{Attribute: string(m.By)}
			}
			p.Match, p.Action = m, "update"
			if !m.Linked {
				p.Action = "link"
			}
			*u = m.user
			p.Before = u.Attrs
		} else {
			p.Action = string(Create)
		}
	default:
		cur, err := r.User(ctx, in.TenantID, in.ConnectorID, in.ID)
		if err != nil {
			return err
		}
		if err := refuseLocal(in, cur, ""); err != nil {
			return err
		}
		if in.IfMatch != 0 && cur.Version != in.IfMatch {
			return store.ErrStale
		}
		p.Before = cur.Attrs
		*u = cur
	}
	p.User = u
	if in.Op == Delete {
		return nil
	}
	prev := *u
	attrs := clone(in.Attrs)
	switch {
	case in.Op == Patch:
		doc, _, err := in.Edit(Doc{Attrs: u.Attrs, ExternalID: u.ExternalID})
		if err != nil {
			return err
		}
		attrs, in.ExternalID = clone(doc.Attrs), doc.ExternalID
	case p.Match != nil:
		// A source that knows no SCIM id sends what it has: what it
		// leaves out stays as it was, its external ID included.
		merged := clone(u.Attrs)
		for k, v := range attrs {
			merged[k] = v
		}
		attrs = merged
		if in.ExternalID == "" {
			in.ExternalID = u.ExternalID
		}
	}
	p.doc = &Doc{Attrs: clone(attrs), ExternalID: in.ExternalID}
	if err := loginName(ctx, r, conn, in, attrs); err != nil {
		return err
	}
	if err := manager(ctx, r, in, prev.Attrs, attrs); err != nil {
		return err
	}
	// A user is active unless a source says otherwise (RFC 7643 leaves
	// the default to the service provider).
	if _, ok := attrs["active"].(bool); !ok {
		attrs["active"] = true
	}
	if err := precedence(ctx, r, conn, in, u, p.Before, attrs, p); err != nil {
		return err
	}
	userName, _ := attrs["userName"].(string)
	if strings.TrimSpace(userName) == "" {
		return &InputError{Attribute: "userName", Msg: "userName is required and must not be empty"}
	}
	if !p.byIndex && (u.PK == 0 || store.Fold(userName) != store.Fold(u.UserName)) {
		// The unique index refuses it on apply; a preview says so too.
		switch other, err := r.UserByUserName(ctx, in.TenantID, in.ConnectorID, userName); {
		case err == nil && other.PK != u.PK:
			return &store.ConflictError{Attribute: "userName"}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	u.UserName = userName
	u.DisplayName, _ = attrs["displayName"].(string)
	u.Active, _ = attrs["active"].(bool)
	u.Status = baseStatus(u.Active)
	u.Attrs = attrs
	u.ExternalID = in.ExternalID
	if in.PasswordHash != "" {
		u.PasswordHash = in.PasswordHash
		if u.PK != 0 {
			if hr, ok := r.(hashReads); !ok || hr.storedPasswordHash(u.PK) != in.PasswordHash {
				p.change("passwordHash", nil, nil, "") // never the values
			} else {
				u.PasswordHash = ""
			}
		}
	}
	p.prevExternalID, p.prevStatus = prev.ExternalID, prev.Status
	if err := mapUser(ctx, r, conn, in, u, prev, p); err != nil {
		return err
	}
	if unchanged(p, u) {
		*u = prev
		p.Action = "none"
		// A connector that does not manage the user yet takes them on all
		// the same (Entra's PUT of the user it found by userName, as it is):
		// whether it manages them must not hang on whether its first write
		// happened to change something.
		linked := p.Match != nil && p.Match.Linked
		if p.Match == nil {
			var err error
			if linked, err = r.Linked(ctx, in.ConnectorID, u.PK); err != nil {
				return err
			}
		}
		if !linked {
			p.Action, p.linkOnly = "link", true
		}
	}
	return nil
}

// hashReads is what a batch's reads know of stored password hashes (see
// [Engine.Load]): a hash that is the stored one changes nothing. Other
// reads do not know, and a hash given is written again.
type hashReads interface {
	storedPasswordHash(userPK int64) string
}

// unchanged reports whether a plan that updates a user changes nothing:
// then it writes nothing but, for a connector new to the user, the link,
// and the user keeps its version and lastModified (RFC 7644 §3.5.2.1).
func unchanged(p *Plan, u *store.User) bool {
	switch p.Action {
	case string(Replace), string(Patch), "update", "link":
	default:
		return false
	}
	return len(p.Changes) == 0 && u.ExternalID == p.prevExternalID &&
		!slices.ContainsFunc(p.Grants, func(c GrantChange) bool { return c.Op != "keep" })
}

// baseStatus is an account's status before the connector's rules: what
// SCIM's active says.
func baseStatus(active bool) string {
	if active {
		return store.StatusActive
	}
	return store.StatusDisabled
}

// loginName gives a user without a userName one made of their names,
// first.last, counted up while taken (first.last2, first.last3, …), when
// the connector says so (001 seed).
func loginName(ctx context.Context, r reads, conn *rules.Connector, in Input, attrs map[string]any) error {
	if s, _ := attrs["userName"].(string); strings.TrimSpace(s) != "" || conn.LoginName != rules.LoginFirstLast {
		return nil
	}
	name, _ := attrs["name"].(map[string]any)
	given, _ := name["givenName"].(string)
	family, _ := name["familyName"].(string)
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' {
				return unicode.ToLower(r)
			}
			return -1
		}, s)
	}
	base := clean(given) + "." + clean(family)
	if base == "." {
		return &InputError{Attribute: "userName", Msg: "userName is missing, and there are no given and family names to make one of"}
	}
	for n := 1; n <= 1000; n++ {
		candidate := base
		if n > 1 {
			candidate += strconv.Itoa(n)
		}
		taken, err := r.UserNameTaken(ctx, in.TenantID, candidate)
		if err != nil {
			return err
		}
		if !taken {
			attrs["userName"] = candidate
			return nil
		}
	}
	return &InputError{Attribute: "userName", Msg: fmt.Sprintf("userName is missing, and %s to %s1000 are all taken", base, base)}
}

// manager sets the enterprise manager from the manager's external ID in
// this connector (001 seed: SuperiorExternalId; 002 seed: reportsTo), or
// checks that the manager.value a source sent names a user of the tenant;
// an unchanged one is not read again.
func manager(ctx context.Context, r reads, in Input, before, attrs map[string]any) error {
	if in.ManagerUserName != "" && in.ManagerExternalID == "" {
		m, err := r.UserByUserName(ctx, in.TenantID, in.ConnectorID, in.ManagerUserName)
		if errors.Is(err, store.ErrNotFound) {
			return &InputError{Attribute: "manager", Msg: fmt.Sprintf("the manager's userName %q names no user of this tenant: import the manager first", in.ManagerUserName)}
		}
		if err != nil {
			return err
		}
		setManager(attrs, m)
		return nil
	}
	if in.ManagerExternalID == "" {
		id := managerID(attrs)
		if id == "" || id == managerID(before) {
			return nil
		}
		_, err := r.User(ctx, in.TenantID, in.ConnectorID, id)
		if errors.Is(err, store.ErrNotFound) {
			return &InputError{Attribute: "manager.value", Msg: fmt.Sprintf("%s:manager.value %q names no user of this tenant: send the manager's id", schemas.EnterpriseUserURN, id)}
		}
		return err
	}
	found, err := r.UsersByExternalID(ctx, in.TenantID, in.ConnectorID, in.ManagerExternalID)
	if err != nil {
		return err
	}
	switch len(found) {
	case 0:
		return &InputError{Attribute: "manager", Msg: fmt.Sprintf("the superior's external ID %q names no user of connector %s: import the superior first", in.ManagerExternalID, in.ConnectorName)}
	case 1:
	default:
		return &MatchError{Key: rules.MatchExternalID, Msg: fmt.Sprintf("the superior's external ID %q names more than one user", in.ManagerExternalID)}
	}
	setManager(attrs, found[0])
	return nil
}

// setManager makes m the enterprise manager in attrs.
func setManager(attrs map[string]any, m store.User) {
	ent, _ := attrs[schemas.EnterpriseUserURN].(map[string]any)
	ent = clone(ent)
	ent["manager"] = map[string]any{"value": m.ID, "displayName": cmp.Or(m.DisplayName, m.UserName)}
	attrs[schemas.EnterpriseUserURN] = ent
}

// managerID is the enterprise manager.value of a user's document.
func managerID(attrs map[string]any) string {
	ent, _ := attrs[schemas.EnterpriseUserURN].(map[string]any)
	m, _ := ent["manager"].(map[string]any)
	id, _ := m["value"].(string)
	return id
}

func planGroup(ctx context.Context, r reads, in Input, p *Plan) error {
	g := &store.Group{TenantID: in.TenantID}
	if in.Op != Create {
		cur, err := r.Group(ctx, in.TenantID, in.ConnectorID, in.ID)
		if err != nil {
			return err
		}
		if in.IfMatch != 0 && cur.Version != in.IfMatch {
			return store.ErrStale
		}
		p.Before, p.prevExternalID = cur.Attrs, cur.ExternalID
		*g = cur
	}
	p.Group = g
	if in.Op == Delete {
		return nil
	}
	var edits []MemberEdit
	if in.Op == Patch {
		doc, e, err := in.Edit(Doc{Attrs: g.Attrs, ExternalID: g.ExternalID})
		if err != nil {
			return err
		}
		in.Attrs, in.ExternalID, edits = doc.Attrs, doc.ExternalID, e
	}
	name, _ := in.Attrs["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		return &InputError{Attribute: "displayName", Msg: "displayName is required and must not be empty"}
	}
	for _, m := range in.Members {
		if in.Op == Replace && m.ID == in.ID {
			return &InputError{Attribute: "members", Msg: fmt.Sprintf("group %s cannot be a member of itself", m.ID)}
		}
	}
	if in.Op == Patch {
		if err := planMemberEdits(ctx, r, in, p, edits); err != nil {
			return err
		}
	} else {
		members, unknown, err := r.LookupMembers(ctx, in.TenantID, in.Members)
		if err != nil {
			return err
		}
		if len(unknown) > 0 {
			if !in.IgnoreUnknownMembers {
				return &store.UnknownMembersError{IDs: unknown}
			}
			p.Skipped = unknown
		}
		p.Members = members
	}
	if g.PK == 0 || store.Fold(name) != store.Fold(g.DisplayName) {
		if err := claimName(ctx, r, in, p, g, name); err != nil {
			return err
		}
	}
	g.DisplayName = name
	g.Attrs = clone(in.Attrs)
	g.ExternalID = in.ExternalID
	p.sameDoc = (in.Op == Patch || in.Op == Replace) && g.ManagedBy != 0 && g.ExternalID == p.prevExternalID && sameJSON(g.Attrs, p.Before)
	if g.ManagedBy == 0 {
		g.ManagedBy = in.ConnectorID
	}
	if in.Op == Replace && p.sameDoc {
		// A PUT of the group as it is changes nothing: it writes nothing,
		// and the group keeps its version (RFC 7644 §3.5.2.1).
		same, err := sameMembers(ctx, r, g.PK, p.Members)
		if err != nil {
			return err
		}
		if same {
			p.Action = "none"
		}
	}
	return nil
}

// sameJSON reports whether two documents are the same as JSON: one read
// back from the database has JSON's types, one from a request Go's.
func sameJSON(a, b map[string]any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}

// sameMembers reports whether ms, in any order, are the members the group
// holds directly.
func sameMembers(ctx context.Context, r reads, groupPK int64, ms []store.Member) (bool, error) {
	held, err := r.DirectMembers(ctx, groupPK)
	if err != nil || len(held) != len(ms) {
		return false, err
	}
	type key struct {
		typ string
		pk  int64
	}
	want := make(map[key]bool, len(ms))
	for _, m := range ms {
		want[key{m.Type, m.PK}] = true
	}
	for _, m := range held {
		if !want[key{m.Type, m.PK}] {
			return false, nil
		}
	}
	return len(want) == len(held), nil
}

// claimName makes sure the name a group create or rename asks for is free:
// displayName is unique per tenant, in any case. A create of a name rules
// created on demand, which no connector manages yet, adopts that group
// (Okta's Group Push of "Engineering" after a rule granted Engineering):
// the plan becomes a replace of it, Action "adopt", with the pusher's
// document, external ID and members; rules' grants of it stay. A name
// another group holds is a uniqueness conflict (RFC 7644 §3.3: 409), also
// when the same connector manages it: an IdP then finds it by filter.
func claimName(ctx context.Context, r reads, in Input, p *Plan, g *store.Group, name string) error {
	other, err := r.GroupNamed(ctx, in.TenantID, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case g.PK != 0 || other.ManagedBy != 0:
		return &store.ConflictError{Attribute: "displayName"}
	}
	p.Action, p.Before = "adopt", other.Attrs
	*g = other
	return nil
}

// planMemberEdits resolves a Patch's member edits to rows. Ids to remove
// that name nothing are no-ops; ids to add that name nothing are refused,
// or skipped when the input says so.
func planMemberEdits(ctx context.Context, r reads, in Input, p *Plan, edits []MemberEdit) error {
	for _, e := range edits {
		refs := make([]store.MemberRef, len(e.IDs))
		for i, id := range e.IDs {
			if id == in.ID {
				return &InputError{Attribute: "members", Msg: fmt.Sprintf("group %s cannot be a member of itself", id)}
			}
			refs[i] = store.MemberRef{ID: id}
		}
		found, unknown, err := r.LookupMembers(ctx, in.TenantID, refs)
		if err != nil {
			return err
		}
		if len(unknown) > 0 && e.Op != "remove" {
			if !in.IgnoreUnknownMembers {
				return &store.UnknownMembersError{IDs: unknown}
			}
			p.Skipped = append(p.Skipped, unknown...)
		}
		p.MemberChanges = append(p.MemberChanges, MemberChange{Op: e.Op, Members: found, All: e.All})
	}
	return nil
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Summary is what a plan shows a person (a preview, the admin API, an
// audit reader): the same for a dry run and for the apply that follows
// it, since both come from the same planning code.
type Summary struct {
	Action      string            `json:"action"`
	Kind        Kind              `json:"kind"`
	ID          string            `json:"id,omitempty"`
	UserName    string            `json:"userName,omitempty"`
	DisplayName string            `json:"displayName,omitempty"`
	Status      string            `json:"status,omitempty"`
	AccessStart *time.Time        `json:"accessStart,omitempty"`
	AccessEnd   *time.Time        `json:"accessEnd,omitempty"`
	ExternalID  string            `json:"externalId,omitempty"`
	Match       *Match            `json:"match,omitempty"`
	Fired       []string          `json:"fired"`
	Grants      []GrantChange     `json:"grants"`
	Denied      []rules.Grant     `json:"denied,omitempty"`
	Missing     []rules.Grant     `json:"missing,omitempty"`
	Kept        []string          `json:"kept,omitempty"`
	Changes     []AttributeChange `json:"changes"`
}

// Summary returns what p shows a person.
func (p *Plan) Summary() Summary {
	s := Summary{Action: p.Action, Kind: p.Input.Kind, Match: p.Match, Fired: p.Fired, Grants: p.Grants,
		Denied: p.Denied, Missing: p.Missing, Kept: p.Kept, Changes: p.Changes}
	if u := p.User; u != nil {
		s.ID, s.UserName, s.DisplayName, s.Status, s.ExternalID = u.ID, u.UserName, u.DisplayName, u.Status, u.ExternalID
		if !u.AccessStart.IsZero() {
			s.AccessStart = &u.AccessStart
		}
		if !u.AccessEnd.IsZero() {
			s.AccessEnd = &u.AccessEnd
		}
	}
	if g := p.Group; g != nil {
		s.ID, s.DisplayName, s.ExternalID = g.ID, g.DisplayName, g.ExternalID
	}
	return s
}
