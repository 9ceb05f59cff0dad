package scim

import (
	"context"
	"errors"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
)

// A shadow connector (reconcile.Shadow, issue 12) reads what it would have
// written: its shadow store laid over the real rows, so that its
// follow-up GET, filter and PATCH requests find what it "created".

// shadowed reports whether the request's connector is in shadow mode.
func shadowed(ctx context.Context) bool { return principal(ctx).Mode == store.ModeShadow }

// readUser is GET /Users/{id}'s read: for a shadow connector, its shadow
// of the user first.
func (s *Server) readUser(ctx context.Context, pr store.Principal, id string) (store.User, error) {
	if pr.Mode == store.ModeShadow {
		sh, err := s.db.Shadow(ctx, pr.ConnectorID, "User", id)
		switch {
		case err == nil && sh.Deleted:
			return store.User{}, store.ErrNotFound
		case err == nil:
			return *sh.Doc.User, nil
		case !errors.Is(err, store.ErrNotFound):
			return store.User{}, err
		}
	}
	return s.db.User(ctx, pr.TenantID, pr.ConnectorID, id)
}

// readGroup is readUser for a group, with the members the shadow holds
// (nil: stream the real ones).
func (s *Server) readGroup(ctx context.Context, pr store.Principal, id string) (store.Group, []store.Member, error) {
	if pr.Mode == store.ModeShadow {
		sh, err := s.db.Shadow(ctx, pr.ConnectorID, "Group", id)
		switch {
		case err == nil && sh.Deleted:
			return store.Group{}, nil, store.ErrNotFound
		case err == nil:
			return *sh.Doc.Group, nonNil(sh.Doc.Members), nil
		case !errors.Is(err, store.ErrNotFound):
			return store.Group{}, nil, err
		}
	}
	g, err := s.db.Group(ctx, pr.TenantID, pr.ConnectorID, id)
	return g, nil, err
}

func nonNil(ms []store.Member) []store.Member {
	if ms == nil {
		return []store.Member{}
	}
	return ms
}

// shadowList lays a shadow connector's store over one page of real
// resources of a kind: real ones it shadows are left out, and its shadows
// that match the filter are added (after the page). Only a filter of
// id, userName, externalId or displayName eq (what IdPs look resources up
// by), or none, is matched against the shadows; with any other filter the
// page lists real resources only, minus those shadowed. Totals count both.
type shadowList struct {
	byRealPK map[int64]bool
	live     []store.ShadowResource
}

func (s *Server) shadowList(ctx context.Context, pr store.Principal, kind string, f filter.Expression) (*shadowList, error) {
	if pr.Mode != store.ModeShadow {
		return nil, nil
	}
	all, err := s.db.Shadows(ctx, pr.ConnectorID, kind)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	out := &shadowList{byRealPK: map[int64]bool{}}
	for _, sh := range all {
		if sh.RealPK != 0 {
			out.byRealPK[sh.RealPK] = true
		}
		if !sh.Deleted && shadowMatches(sh, f) {
			out.live = append(out.live, sh)
		}
	}
	return out, nil
}

// shadowMatches evaluates the lookups IdPs make on a shadow resource.
func shadowMatches(sh store.ShadowResource, f filter.Expression) bool {
	if f == nil {
		return true
	}
	e, ok := f.(*filter.AttributeExpression)
	if !ok || !strings.EqualFold(string(e.Operator), string(filter.EQ)) || e.AttributePath.SubAttribute != nil {
		return false
	}
	v, _ := e.CompareValue.(string)
	var id, ext, name, display string
	if u := sh.Doc.User; u != nil {
		id, ext, name, display = u.ID, u.ExternalID, u.UserName, u.DisplayName
	} else if g := sh.Doc.Group; g != nil {
		id, ext, display = g.ID, g.ExternalID, g.DisplayName
	}
	switch strings.ToLower(e.AttributePath.AttributeName) {
	case "id":
		return id == v
	case "externalid":
		return ext == v
	case "username":
		return sh.Doc.User != nil && strings.EqualFold(name, v)
	case "displayname":
		return strings.EqualFold(display, v)
	}
	return false
}

// users lays the shadows over a page of real users and adjusts total.
func (sl *shadowList) users(real []store.User, total *int) []store.User {
	out := real[:0:0]
	for _, u := range real {
		if !sl.byRealPK[u.PK] {
			out = append(out, u)
		}
	}
	*total -= len(real) - len(out)
	for _, sh := range sl.live {
		out = append(out, *sh.Doc.User)
	}
	*total += len(sl.live)
	return out
}

// groups is users for groups, with the members of each shadow group.
func (sl *shadowList) groups(real []store.Group, total *int) ([]store.Group, map[int64][]store.Member) {
	out := real[:0:0]
	for _, g := range real {
		if !sl.byRealPK[g.PK] {
			out = append(out, g)
		}
	}
	*total -= len(real) - len(out)
	members := map[int64][]store.Member{}
	for _, sh := range sl.live {
		out = append(out, *sh.Doc.Group)
		members[sh.Doc.Group.PK] = nonNil(sh.Doc.Members)
	}
	*total += len(sl.live)
	return out, members
}
