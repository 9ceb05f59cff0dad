package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimd/scimd/store"
)

// Groups and their members (issue 14, the console's groups pages).
//
//	GET /admin/v1/{tenant}/groups?q=&after=&limit=        the tenant's groups by name (byte order of the folded names), a page at a time: q a prefix of the displayName, any case; next is the following page's after; members counted up to 1000 ("membersMore" past it)
//	GET /admin/v1/{tenant}/groups/{id}?after=&limit=     a group and a page of its members, users then nested groups, each linked by id; next is the following page's after; members counted up to 10,000
//
// Both read indexes only: the names' range from the prefix or the cursor
// (migration 0029), and the membership keys from the cursor, so that a
// group of 100,000 members costs a page, not the group.
//
// An administrator scoped to an org unit sees every group's name (groups
// belong to the whole tenant, as rules and connectors name them) but of
// a group's users only those of their unit and below, as GET /users
// shows them; nested groups are listed. They get no member counts: a
// count would tell how many members the group has outside their unit.
// Their page of members walks the group's keys from the cursor until it
// has a page of their unit's users, so it costs up to the group's size
// when the unit holds few of its members (a 100,000-member group with
// one in 1,000 of them in the unit: 40-80 ms a page on PostgreSQL,
// 200-270 ms on SQLite), in memory still a page.
func (a *api) groupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/{tenant}/groups", a.auth(a.groups))
	mux.HandleFunc("GET /admin/v1/{tenant}/groups/{id}", a.auth(a.group))
}

// Member counts stop at these: a count reads a group's membership rows.
const (
	listCountCap  = 1000
	groupCountCap = 10000
)

// pageLimit is the limit= of a list: 100 by default, at most 1000.
func pageLimit(r *http.Request) int {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return limit
}

// memberCount is a count of members as the API shows it: the count, and
// whether there are more than it.
type memberCount struct {
	Members     *int `json:"members,omitempty"`
	MembersMore bool `json:"membersMore,omitempty"`
}

func countOf(n, most int) memberCount {
	c := memberCount{Members: &n}
	if n > most {
		*c.Members, c.MembersMore = most, true
	}
	return c
}

func (a *api) groups(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	query := r.URL.Query()
	limit := pageLimit(r)
	gs, err := a.db.SearchGroups(r.Context(), store.GroupSearch{TenantID: p.TenantID, Q: query.Get("q"), After: query.Get("after"), Limit: limit})
	if err != nil {
		return err
	}
	counts := map[int64]int{}
	if p.OrgUnit == "" {
		pks := make([]int64, len(gs))
		for i, g := range gs {
			pks[i] = g.PK
		}
		if counts, err = a.db.MemberCounts(r.Context(), pks, listCountCap); err != nil {
			return err
		}
	}
	type row struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		memberCount
	}
	out := struct {
		Groups []row   `json:"groups"`
		Next   *string `json:"next,omitempty"`
	}{Groups: []row{}}
	for _, g := range gs {
		rw := row{ID: g.ID, DisplayName: g.DisplayName}
		if p.OrgUnit == "" {
			rw.memberCount = countOf(counts[g.PK], listCountCap)
		}
		out.Groups = append(out.Groups, rw)
	}
	if len(gs) == limit {
		out.Next = &gs[len(gs)-1].DisplayNameFolded
	}
	return writeJSON(w, out)
}

// memberCursor is the after= of a page of members: "u" or "g" and the
// last member's key.
func memberCursor(m store.GroupMember) string {
	if m.Type == store.MemberGroup {
		return "g" + strconv.FormatInt(m.PK, 10)
	}
	return "u" + strconv.FormatInt(m.PK, 10)
}

func parseMemberCursor(s string, page *store.MemberPage) error {
	if s == "" {
		return nil
	}
	pk, err := strconv.ParseInt(s[1:], 10, 64)
	switch {
	case err != nil || pk < 0:
	case strings.HasPrefix(s, "u"):
		page.AfterType, page.AfterPK = store.MemberUser, pk
		return nil
	case strings.HasPrefix(s, "g"):
		page.AfterType, page.AfterPK = store.MemberGroup, pk
		return nil
	}
	return &Error{http.StatusBadRequest, fmt.Sprintf("after %q: use the next of the previous page", s)}
}

func (a *api) group(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	ctx := r.Context()
	g, err := a.db.Group(ctx, p.TenantID, 0, r.PathValue("id"))
	if err != nil {
		return err
	}
	limit := pageLimit(r)
	page := store.MemberPage{GroupPK: g.PK, Limit: limit, OrgUnit: p.OrgUnit}
	if err := parseMemberCursor(r.URL.Query().Get("after"), &page); err != nil {
		return err
	}
	ms, err := a.db.GroupMembers(ctx, page)
	if err != nil {
		return err
	}
	type member struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		UserName    string `json:"userName,omitempty"`
		DisplayName string `json:"displayName,omitempty"`
		Status      string `json:"status,omitempty"`
	}
	out := struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		memberCount
		Page []member `json:"page"`
		Next *string  `json:"next,omitempty"`
	}{ID: g.ID, DisplayName: g.DisplayName, Page: []member{}}
	if p.OrgUnit == "" {
		counts, err := a.db.MemberCounts(ctx, []int64{g.PK}, groupCountCap)
		if err != nil {
			return err
		}
		out.memberCount = countOf(counts[g.PK], groupCountCap)
	}
	for _, m := range ms {
		out.Page = append(out.Page, member{m.Type, m.ID, m.UserName, m.DisplayName, m.Status})
	}
	if len(ms) == limit {
		next := memberCursor(ms[len(ms)-1])
		out.Next = &next
	}
	return writeJSON(w, out)
}
