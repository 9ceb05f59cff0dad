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

// shadowList lays a shadow connector's store over a list of real
// resources of a kind: real ones it shadows are left out, and its shadows
// that match the filter follow the real ones, as one sequence paged by
// startIndex and count (the real rows are read from the first, with room
// for those left out). Only a filter of id, userName, externalId or
// displayName eq (what IdPs look resources up by; an indexed column of the
// shadow store), or none, is matched against the shadows; with any other
// filter the list holds real resources only, minus those shadowed. Cursor
// paging and sortBy see the real rows only, minus those shadowed.
// totalResults counts both, and is exact when the real matches fit the
// rows read.
type shadowList struct {
	shadowed int // real resources the store shadows
	live     []store.ShadowResource
	// liveTotal is how many shadows match, of which live holds the first.
	liveTotal int
	byRealPK  map[int64]bool
	cursor    bool
}

// shadowList returns nil for a connector in live mode, or one whose
// shadow store holds nothing of the kind: its list is the real one.
func (s *Server) shadowList(ctx context.Context, pr store.Principal, kind string, q store.Query) (*shadowList, error) {
	if pr.Mode != store.ModeShadow {
		return nil, nil
	}
	shadowed, live, err := s.db.ShadowCounts(ctx, pr.ConnectorID, kind)
	if err != nil || shadowed+live == 0 {
		return nil, err
	}
	out := &shadowList{shadowed: shadowed, cursor: q.After != 0 || q.Before != 0 || q.SortBy != ""}
	window := q.StartIndex - 1 + q.Count
	if out.cursor || live == 0 || window == 0 {
		return out, nil
	}
	if q.Filter == nil {
		out.live, _, err = s.db.LiveShadows(ctx, pr.ConnectorID, kind, "", "", window)
		out.liveTotal = live
		return out, err
	}
	e, ok := q.Filter.(*filter.AttributeExpression)
	if !ok || !strings.EqualFold(string(e.Operator), string(filter.EQ)) || e.AttributePath.SubAttribute != nil ||
		e.AttributePath.URIPrefix != nil {
		return out, nil
	}
	v, isString := e.CompareValue.(string)
	if !isString {
		return out, nil
	}
	out.live, _, err = s.db.LiveShadows(ctx, pr.ConnectorID, kind, e.AttributePath.AttributeName, v, window)
	out.liveTotal = len(out.live)
	return out, err
}

// window is the query of the real rows sl needs for q's page.
func (sl *shadowList) window(q store.Query) store.Query {
	if sl == nil || sl.cursor {
		return q
	}
	q.Count = q.StartIndex - 1 + q.Count + sl.shadowed
	q.StartIndex = 1
	return q
}

// unshadow reads which of the real rows read are shadowed.
func (sl *shadowList) unshadow(ctx context.Context, db store.Reader, pr store.Principal, kind string, pks []int64) error {
	var err error
	sl.byRealPK, err = db.ShadowedAmong(ctx, pr.ConnectorID, kind, pks)
	return err
}

// page cuts q's page out of the whole sequence.
func page[T any](all []T, q store.Query, cursor bool) []T {
	if cursor {
		return all
	}
	from := min(q.StartIndex-1, len(all))
	return all[from:min(from+q.Count, len(all))]
}

// users lays the shadows over the real users read and adjusts total.
func (sl *shadowList) users(real []store.User, total *int, q store.Query) []store.User {
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
	*total += sl.liveTotal
	return page(out, q, sl.cursor)
}

// groups is users for groups, with the members of each shadow group.
func (sl *shadowList) groups(real []store.Group, total *int, q store.Query) ([]store.Group, map[int64][]store.Member) {
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
	*total += sl.liveTotal
	return page(out, q, sl.cursor), members
}
