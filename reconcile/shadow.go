package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/scimd/scimd/store"
)

// Shadow mode (issue 12). A connector in mode shadow ([store.ModeShadow])
// is planned exactly as live, against what it sees: the real rows with
// what it did in shadow laid over them ([overlay]). Instead of writing,
// [Engine.Apply] keeps the resource as the plan leaves it in the
// connector's shadow store and the plan in its shadow log, in one
// transaction; users, groups, grants and the audit log stay as they are.
// The SCIM edge answers from the plan as live does (ids and versions are
// assigned), and reads the same overlay ([ShadowView]).

type shadowKey struct{}

// Shadow returns a context whose writes ([Engine.Apply]) are those of a
// shadow connector: planned, kept in its shadow store and log, and not
// applied. The SCIM edge makes it for a principal whose Mode is
// [store.ModeShadow].
func Shadow(ctx context.Context) context.Context {
	return context.WithValue(ctx, shadowKey{}, true)
}

// Shadowing reports whether ctx is that of [Shadow].
func Shadowing(ctx context.Context) bool {
	on, _ := ctx.Value(shadowKey{}).(bool)
	return on
}

// shadowStore is what the overlay reads of a connector's shadow store;
// *store.DB, *store.Tx and store.Reader have it.
type shadowStore interface {
	Shadow(ctx context.Context, connectorID int64, kind, id string) (store.ShadowResource, error)
	ShadowOf(ctx context.Context, connectorID int64, kind string, pk int64) (store.ShadowResource, error)
	ShadowUserNamed(ctx context.Context, connectorID int64, folded string) (store.ShadowResource, error)
	ShadowGroupNamed(ctx context.Context, connectorID int64, folded string) (store.ShadowResource, error)
	ShadowsByExternalID(ctx context.Context, connectorID int64, kind, externalID string) ([]store.ShadowResource, error)
}

// overlay is what a shadow connector's planning reads: its shadow store
// first, then the real rows minus what it changed or deleted in shadow.
// Resources it created in shadow have negative pks (see
// [store.ShadowResource.ResourcePK]).
type overlay struct {
	reads
	sh   shadowStore
	conn int64
}

// shadowOf returns the shadow of a resource pk, ok false when it has none.
func (o overlay) shadowOf(ctx context.Context, kind Kind, pk int64) (store.ShadowResource, bool, error) {
	s, err := o.sh.ShadowOf(ctx, o.conn, string(kind), pk)
	if errors.Is(err, store.ErrNotFound) {
		return s, false, nil
	}
	return s, err == nil, err
}

func (o overlay) User(ctx context.Context, tenantID, connectorID int64, id string) (store.User, error) {
	s, err := o.sh.Shadow(ctx, o.conn, string(KindUser), id)
	switch {
	case err == nil && s.Deleted:
		return store.User{}, store.ErrNotFound
	case err == nil:
		return *s.Doc.User, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.User{}, err
	}
	return o.reads.User(ctx, tenantID, connectorID, id)
}

func (o overlay) Group(ctx context.Context, tenantID, connectorID int64, id string) (store.Group, error) {
	s, err := o.sh.Shadow(ctx, o.conn, string(KindGroup), id)
	switch {
	case err == nil && s.Deleted:
		return store.Group{}, store.ErrNotFound
	case err == nil:
		return *s.Doc.Group, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Group{}, err
	}
	return o.reads.Group(ctx, tenantID, connectorID, id)
}

func (o overlay) UserByUserName(ctx context.Context, tenantID, connectorID int64, userName string) (store.User, error) {
	s, err := o.sh.ShadowUserNamed(ctx, o.conn, store.Fold(userName))
	if err == nil {
		return *s.Doc.User, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	u, err := o.reads.UserByUserName(ctx, tenantID, connectorID, userName)
	if err != nil {
		return u, err
	}
	// A real user the connector renamed or deleted in shadow is not
	// found by the old name.
	if _, shadowed, err := o.shadowOf(ctx, KindUser, u.PK); err != nil || shadowed {
		return store.User{}, cmpErr(err, store.ErrNotFound)
	}
	return u, nil
}

func (o overlay) UserNameTaken(ctx context.Context, tenantID int64, userName string) (bool, error) {
	if _, err := o.sh.ShadowUserNamed(ctx, o.conn, store.Fold(userName)); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	return o.reads.UserNameTaken(ctx, tenantID, userName)
}

func (o overlay) UsersByExternalID(ctx context.Context, tenantID, connectorID int64, value string) ([]store.User, error) {
	shadows, err := o.sh.ShadowsByExternalID(ctx, o.conn, string(KindUser), value)
	if err != nil {
		return nil, err
	}
	var out []store.User
	for _, s := range shadows {
		out = append(out, *s.Doc.User)
	}
	real, err := o.reads.UsersByExternalID(ctx, tenantID, connectorID, value)
	if err != nil {
		return nil, err
	}
	return o.unshadowed(ctx, out, real)
}

// UsersByEmail finds real users only (with their shadows laid over them):
// a user created in shadow is not matched by email. Matching by email
// links a user another source created, which a shadow create never is.
func (o overlay) UsersByEmail(ctx context.Context, tenantID, connectorID int64, email string, unmanaged bool) ([]store.User, error) {
	real, err := o.reads.UsersByEmail(ctx, tenantID, connectorID, email, unmanaged)
	if err != nil {
		return nil, err
	}
	var out []store.User
	for _, u := range real {
		s, shadowed, err := o.shadowOf(ctx, KindUser, u.PK)
		switch {
		case err != nil:
			return nil, err
		case !shadowed:
			out = append(out, u)
		case !s.Deleted:
			out = append(out, *s.Doc.User)
		}
	}
	return out, nil
}

// unshadowed appends to out the real users that have no shadow (those
// that have one are found, or not, by it).
func (o overlay) unshadowed(ctx context.Context, out, real []store.User) ([]store.User, error) {
	for _, u := range real {
		_, shadowed, err := o.shadowOf(ctx, KindUser, u.PK)
		if err != nil {
			return nil, err
		}
		if !shadowed {
			out = append(out, u)
		}
	}
	return out, nil
}

func (o overlay) UserGrants(ctx context.Context, userPK int64) ([]store.Grant, error) {
	s, shadowed, err := o.shadowOf(ctx, KindUser, userPK)
	if err != nil || shadowed || userPK < 0 {
		return s.Doc.Grants, err
	}
	return o.reads.UserGrants(ctx, userPK)
}

func (o overlay) AttributeSources(ctx context.Context, userPK int64) (map[string]store.AttributeSource, error) {
	s, shadowed, err := o.shadowOf(ctx, KindUser, userPK)
	if err != nil || shadowed || userPK < 0 {
		return s.Doc.Sources, err
	}
	return o.reads.AttributeSources(ctx, userPK)
}

func (o overlay) Linked(ctx context.Context, connectorID, userPK int64) (bool, error) {
	_, shadowed, err := o.shadowOf(ctx, KindUser, userPK)
	if err != nil || shadowed || userPK < 0 {
		return err == nil, err
	}
	return o.reads.Linked(ctx, connectorID, userPK)
}

func (o overlay) PushedGroups(ctx context.Context, userPKs []int64) (map[int64][]store.GroupRef, error) {
	real := slices.DeleteFunc(slices.Clone(userPKs), func(pk int64) bool { return pk < 0 })
	return o.reads.PushedGroups(ctx, real)
}

func (o overlay) GroupNamed(ctx context.Context, tenantID int64, name string) (store.Group, error) {
	s, err := o.sh.ShadowGroupNamed(ctx, o.conn, store.Fold(name))
	if err == nil {
		return *s.Doc.Group, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Group{}, err
	}
	g, err := o.reads.GroupNamed(ctx, tenantID, name)
	if err != nil {
		return g, err
	}
	if _, shadowed, err := o.shadowOf(ctx, KindGroup, g.PK); err != nil || shadowed {
		return store.Group{}, cmpErr(err, store.ErrNotFound)
	}
	return g, nil
}

func (o overlay) DirectMembers(ctx context.Context, groupPK int64) ([]store.Member, error) {
	s, shadowed, err := o.shadowOf(ctx, KindGroup, groupPK)
	if err != nil || shadowed || groupPK < 0 {
		return s.Doc.Members, err
	}
	return o.reads.DirectMembers(ctx, groupPK)
}

// LookupMembers resolves the ids the shadow store knows there (one read
// each: a shadow connector's writes need not be fast), the rest in the
// real rows.
func (o overlay) LookupMembers(ctx context.Context, tenantID int64, refs []store.MemberRef) ([]store.Member, []string, error) {
	var found []store.Member
	var unknown []string
	var rest []store.MemberRef
	for _, ref := range refs {
		m, known, err := o.shadowMember(ctx, ref)
		switch {
		case err != nil:
			return nil, nil, err
		case !known:
			rest = append(rest, ref)
		case m == nil:
			unknown = append(unknown, ref.ID)
		default:
			found = append(found, *m)
		}
	}
	if len(rest) == 0 {
		return found, unknown, nil
	}
	more, unknownMore, err := o.reads.LookupMembers(ctx, tenantID, rest)
	return append(found, more...), append(unknown, unknownMore...), err
}

// shadowMember resolves a member ref in the shadow store: known false when
// it holds nothing of that id, m nil when what it holds is deleted.
func (o overlay) shadowMember(ctx context.Context, ref store.MemberRef) (m *store.Member, known bool, err error) {
	for _, kind := range []Kind{KindUser, KindGroup} {
		if ref.Type != "" && ref.Type != string(kind) {
			continue
		}
		s, err := o.sh.Shadow(ctx, o.conn, string(kind), ref.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil || s.Deleted {
			return nil, true, err
		}
		if u := s.Doc.User; u != nil {
			return &store.Member{Type: string(KindUser), PK: u.PK, ID: u.ID, Display: firstOf(u.DisplayName, u.UserName)}, true, nil
		}
		g := s.Doc.Group
		return &store.Member{Type: string(KindGroup), PK: g.PK, ID: g.ID, Display: g.DisplayName}, true, nil
	}
	return nil, false, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// cmpErr is err, or when nil, instead.
func cmpErr(err, instead error) error {
	if err != nil {
		return err
	}
	return instead
}

// applyShadow is [Engine.Apply] for a shadow connector: it plans against
// the overlay and keeps the plan and its resource in the shadow store, in
// one transaction. A plan that fails is logged too (a conflict with other
// connectors' data counts in the summary).
func (e *Engine) applyShadow(ctx context.Context, in Input) (*Plan, error) {
	var p *Plan
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		conn, _, err := e.connector(ctx, tx, in.TenantID, in.TenantName, in.ConnectorName)
		if err != nil {
			return err
		}
		ov := overlay{reads: tx, sh: tx, conn: in.ConnectorID}
		if p, err = plan(ctx, ov, conn, in, false); err != nil {
			return err
		}
		return saveShadow(ctx, tx, ov, p)
	})
	if err == nil {
		return p, nil
	}
	entry := &store.ShadowPlan{TenantID: in.TenantID, ConnectorID: in.ConnectorID, At: time.Now().UTC(),
		Kind: string(in.Kind), Op: string(in.Op), Action: "error", ResourceID: in.ID, Error: err.Error()}
	var conflict *store.ConflictError
	if errors.As(err, &conflict) {
		entry.Conflict = firstOf(conflict.Attribute, "unknown")
	}
	if logErr := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.AppendShadowPlan(ctx, entry)
	}); logErr != nil {
		return nil, errors.Join(err, logErr)
	}
	return nil, err
}

// saveShadow keeps what p would write as the connector's shadow of the
// resource, and p in the shadow log. It sets p's resource id, version and
// timestamps as the write would (a create's are new), so that the SCIM
// edge answers from p as it does live.
func saveShadow(ctx context.Context, tx *store.Tx, ov overlay, p *Plan) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	in := p.Input
	if p.Action != "none" {
		var err error
		if p.User != nil {
			err = shadowUser(ctx, tx, ov, p, now)
		} else {
			err = shadowGroup(ctx, tx, ov, p, now)
		}
		if err != nil {
			return err
		}
	}
	entry := &store.ShadowPlan{TenantID: in.TenantID, ConnectorID: in.ConnectorID, At: now,
		Kind: string(in.Kind), Op: string(in.Op), Action: p.Action}
	s := p.Summary()
	entry.ResourceID = s.ID
	var err error
	if entry.Summary, err = json.Marshal(s); err != nil {
		return err
	}
	return tx.AppendShadowPlan(ctx, entry)
}

// shadowRow returns the shadow row a plan of a resource pk updates: the
// one there is, or a new one shadowing the real row (pk > 0) or standing
// for a new resource (pk 0).
func shadowRow(ctx context.Context, ov overlay, kind Kind, id string, pk int64) (store.ShadowResource, error) {
	if pk != 0 {
		s, shadowed, err := ov.shadowOf(ctx, kind, pk)
		if err != nil || shadowed {
			return s, err
		}
	}
	s := store.ShadowResource{ConnectorID: ov.conn, Kind: string(kind), ID: id}
	if pk > 0 {
		s.RealPK = pk
	}
	return s, nil
}

func shadowUser(ctx context.Context, tx *store.Tx, ov overlay, p *Plan, now time.Time) error {
	u := p.User
	if u.PK == 0 {
		u.ID, u.Version, u.CreatedAt = uuid.NewString(), 1, now
	} else if !p.linkOnly {
		u.Version++
	}
	s, err := shadowRow(ctx, ov, KindUser, u.ID, u.PK)
	if err != nil {
		return err
	}
	if p.Input.Op == Delete {
		s.Deleted = true
	} else {
		if !p.linkOnly {
			u.UpdatedAt = now
		}
		grants, err := ov.UserGrants(ctx, u.PK)
		if err != nil {
			return err
		}
		for _, c := range p.Grants {
			g := c.grant
			g.Target = c.Name
			switch c.Op {
			case "add":
				g.GrantedAt = now
				grants = append(grants, g)
			case "remove":
				grants = slices.DeleteFunc(grants, func(h store.Grant) bool { return h.Kind == g.Kind && h.Target == g.Target })
			}
		}
		sources, err := ov.AttributeSources(ctx, u.PK)
		if err != nil {
			return err
		}
		if sources == nil {
			sources = map[string]store.AttributeSource{}
		}
		for _, a := range attributeSources(p) {
			sources[a.Attribute] = a
		}
		s.Doc.Grants, s.Doc.Sources = grants, sources
	}
	u.UserNameFolded, u.DisplayFolded = store.Fold(u.UserName), store.Fold(u.DisplayName)
	doc := *u
	doc.RawAttrs, doc.Groups = nil, nil
	s.Doc.User = &doc
	s.UserNameFolded, s.DisplayNameFolded, s.ExternalID, s.UpdatedAt = u.UserNameFolded, u.DisplayFolded, u.ExternalID, now
	if err := tx.SaveShadow(ctx, &s); err != nil {
		return err
	}
	u.PK = s.ResourcePK()
	return nil
}

func shadowGroup(ctx context.Context, tx *store.Tx, ov overlay, p *Plan, now time.Time) error {
	g := p.Group
	created := g.PK == 0
	if created {
		g.ID, g.Version, g.CreatedAt, g.UpdatedAt = uuid.NewString(), 1, now, now
	}
	s, err := shadowRow(ctx, ov, KindGroup, g.ID, g.PK)
	if err != nil {
		return err
	}
	if p.Input.Op == Delete {
		s.Deleted = true
	} else {
		before, err := ov.DirectMembers(ctx, g.PK)
		if err != nil {
			return err
		}
		members := p.Members
		if p.Input.Op == Patch {
			members = patchMembers(before, p.MemberChanges)
		}
		if !created && (!p.sameDoc || !sameMemberSet(before, members)) {
			g.Version, g.UpdatedAt = g.Version+1, now
		}
		s.Doc.Members = members
	}
	g.DisplayNameFolded = store.Fold(g.DisplayName)
	doc := *g
	s.Doc.Group = &doc
	s.DisplayNameFolded, s.ExternalID, s.UpdatedAt = g.DisplayNameFolded, g.ExternalID, now
	if err := tx.SaveShadow(ctx, &s); err != nil {
		return err
	}
	g.PK = s.ResourcePK()
	return nil
}

type memberKey struct {
	typ string
	pk  int64
}

// patchMembers applies a Patch's member changes to the members held.
func patchMembers(held []store.Member, changes []MemberChange) []store.Member {
	out := slices.Clone(held)
	for _, c := range changes {
		switch {
		case c.Op == "replace", c.All: // as writeGroup does
			out = slices.Clone(c.Members)
		case c.Op == "add":
			for _, m := range c.Members {
				if !slices.ContainsFunc(out, func(h store.Member) bool { return h.Type == m.Type && h.PK == m.PK }) {
					out = append(out, m)
				}
			}
		default:
			out = slices.DeleteFunc(out, func(h store.Member) bool {
				return slices.ContainsFunc(c.Members, func(m store.Member) bool { return h.Type == m.Type && h.PK == m.PK })
			})
		}
	}
	return out
}

// sameMemberSet reports whether a and b hold the same members, in any order.
func sameMemberSet(a, b []store.Member) bool {
	set := map[memberKey]bool{}
	for _, m := range a {
		set[memberKey{m.Type, m.PK}] = true
	}
	other := map[memberKey]bool{}
	for _, m := range b {
		if !set[memberKey{m.Type, m.PK}] {
			return false
		}
		other[memberKey{m.Type, m.PK}] = true
	}
	return len(other) == len(set)
}
