package reconcile

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/scimd/scimd/store"
)

// AddUsers is an administrator adding people by their email addresses,
// all with the same roles and groups (003 seed: "paste a list of email
// addresses, one per line").
type AddUsers struct {
	// Emails are the addresses, Emails[i] from line i+1 of what was
	// pasted; blank ones are skipped and keep their line.
	Emails        []string
	Roles, Groups []string
	// Notify sends each user created the activation message (the seed's
	// invitation); the account waits, pending, until it is used.
	Notify bool
	DryRun bool
}

// AddUsers adds the people of add, from by, through the same load as a
// CSV file ([Engine.Load], one row per address, source admin): an address
// no user has becomes a user whose userName is that address; an address
// a user has already (as userName or email) gives that user the roles and
// groups. All of them are written or none: a malformed address, or one
// listed twice, is an error on its line.
func (e *Engine) AddUsers(ctx context.Context, by store.Principal, add AddUsers) (*LoadResult, error) {
	if err := tenantWide(by, "add users"); err != nil {
		return nil, err
	}
	given := func() *Given { return &Given{Roles: add.Roles, Groups: add.Groups} }
	rows := func(yield func(LoadRow) bool) {
		for i, addr := range add.Emails {
			if addr = strings.TrimSpace(addr); addr == "" {
				continue
			}
			row := LoadRow{Line: i + 1, In: emailUser(by, addr, given(), add.Notify)}
			if !ValidEmail(addr) {
				row.Err = &InputError{Attribute: "emails", Msg: fmt.Sprintf("%q is not an email address (name@example.com)", addr)}
			}
			if !yield(row) {
				return
			}
		}
	}
	return e.Load(ctx, by, rows, LoadOptions{DryRun: add.DryRun})
}

// Guest is an invitation of a guest (000 seed: "Add Guest Members"): a
// person limited to one group, for the time of their access window.
type Guest struct {
	Email                 string
	GivenName, FamilyName string
	Group                 string
	// AccessStart and AccessEnd bound the access; the zero time leaves
	// that end open.
	AccessStart, AccessEnd time.Time
	// Notify sends the invitation (the activation message).
	Notify bool
}

// InviteGuest makes g's person a guest of their one group, from by, as
// any write does ([Engine.Apply], source admin): a new user limited to that group, or
// the same guest invited again (their window and group set anew). A
// member cannot be made a guest; nor can a guest hold a second group.
func (e *Engine) InviteGuest(ctx context.Context, by store.Principal, g Guest) (store.User, error) {
	if err := tenantWide(by, "invite guests"); err != nil {
		return store.User{}, err
	}
	if !ValidEmail(g.Email) {
		return store.User{}, &InputError{Attribute: "emails", Msg: fmt.Sprintf("%q is not an email address (name@example.com)", g.Email)}
	}
	if strings.TrimSpace(g.Group) == "" {
		return store.User{}, &InputError{Attribute: "groups", Msg: "a guest is invited to one group: name it"}
	}
	if !g.AccessEnd.IsZero() && g.AccessEnd.Before(g.AccessStart) {
		return store.User{}, &InputError{Attribute: "accessEnd", Msg: "the access window ends before it starts"}
	}
	start, end := g.AccessStart, g.AccessEnd
	in := emailUser(by, g.Email, &Given{Groups: []string{g.Group}, AccessStart: &start, AccessEnd: &end, Guest: true}, g.Notify)
	name := map[string]any{}
	for k, v := range map[string]string{"givenName": g.GivenName, "familyName": g.FamilyName} {
		if v = strings.TrimSpace(v); v != "" {
			name[k] = v
		}
	}
	if len(name) > 0 {
		in.Attrs["name"] = name
	}
	p, err := e.Apply(ctx, in)
	if err != nil {
		return store.User{}, err
	}
	return *p.User, nil
}

// emailUser is the write of a person known by an email address alone.
func emailUser(by store.Principal, addr string, g *Given, notify bool) Input {
	return Input{
		Source: adminInput(by).Source, Principal: by, Kind: KindUser, Op: Upsert,
		Attrs: map[string]any{
			"userName": addr,
			"emails":   []any{map[string]any{"value": addr, "type": "work", "primary": true}},
		},
		Given:  g,
		Notify: notify,
	}
}

// ValidEmail reports whether s is a bare email address (name@example.com):
// no display name, no angle brackets, a dot in the domain.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && !strings.ContainsAny(s, " <>\"") &&
		len(s) <= 255 && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

// tenantWide refuses what only a tenant-wide administrator may do to an
// org unit's: adding people by address could reach users outside the unit.
func tenantWide(by store.Principal, what string) error {
	if by.OrgUnit != "" {
		return &ForbiddenError{fmt.Sprintf("administrators of org unit %s cannot %s; it takes a tenant-wide admin connector", by.OrgUnit, what)}
	}
	return nil
}
