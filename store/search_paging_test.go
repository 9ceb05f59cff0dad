package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// pagingUser is a user of pagingFixture as the test knows it.
type pagingUser struct {
	u       store.User
	emails  []string
	deleted bool
	units   []string
}

// pagingFixture makes users that a search for "p" finds by every part,
// with ties: many share the displayName "P Same", some the email
// p.shared@e (twice over, and once with another matching email), some
// have two matching emails, deleted users share the userName p-dup with
// each other and with a live one, and the states and org units vary.
func pagingFixture(t *testing.T, db *store.DB) (fixture, []pagingUser) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, db, "acme", "okta")
	var us []pagingUser
	for i := range 240 {
		var name, display string
		var emails []string
		switch i % 4 {
		case 0: // found by userName, though displayName and email match too
			name, display, emails = fmt.Sprintf("p-%03d", i), "P Same", []string{fmt.Sprintf("P-%03d@e", i)}
		case 1: // by displayName, a tie; the email matches twice over
			name, display, emails = fmt.Sprintf("a-%03d", i), "P Same", []string{"p.shared@e", "p.shared@e"}
		case 2: // by email: the least of two, or a shared one
			name, display, emails = fmt.Sprintf("b-%03d", i), fmt.Sprintf("Q %03d", i), []string{fmt.Sprintf("p-%03d@z", i), fmt.Sprintf("P-%03d@a", i)}
			if i%8 == 2 {
				emails = []string{"p.shared@e", "q@e"}
			}
		case 3: // not found, or by displayName with no email
			name, emails = fmt.Sprintf("c-%03d", i), []string{"zz@e"}
			if i%8 == 3 {
				display, emails = fmt.Sprintf("P %03d", 300-i), nil
			}
		}
		us = append(us, pagingUser{u: store.User{TenantID: f.tenant.ID, UserName: name, DisplayName: display}, emails: emails, deleted: i%9 == 3})
		switch {
		case i%5 == 1:
			us[i].u.Status = store.StatusDisabled
		case i%7 == 2:
			us[i].u.Status = store.StatusPending
		default:
			us[i].u.Status = store.StatusActive
		}
		if i%3 == 0 {
			us[i].units = append(us[i].units, "medicine")
		}
		if i%6 == 0 {
			us[i].units = append(us[i].units, "medicine/radiology")
		}
	}
	// Deleted users share a userName with each other and a live one.
	for i := range 3 {
		us = append(us, pagingUser{u: store.User{TenantID: f.tenant.ID, UserName: "p-dup", DisplayName: "P Dup", Status: store.StatusActive},
			emails: []string{"p-dup@e"}, deleted: i < 2})
	}
	err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		med, err := tx.EnsureOrgUnit(ctx, f.tenant.ID, "Medicine")
		if err != nil {
			return err
		}
		rad, err := tx.EnsureOrgUnit(ctx, f.tenant.ID, "Medicine/Radiology")
		if err != nil {
			return err
		}
		for i := range us {
			u := &us[i].u
			u.Active = u.Status == store.StatusActive
			var emails []any
			for _, e := range us[i].emails {
				emails = append(emails, map[string]any{"value": e})
			}
			u.Attrs = map[string]any{"userName": u.UserName, "emails": emails}
			if u.DisplayName != "" {
				u.Attrs["displayName"] = u.DisplayName
			}
			if err := tx.InsertUser(ctx, u); err != nil {
				return fmt.Errorf("%s: %w", u.UserName, err)
			}
			for _, unit := range us[i].units {
				target := med.PK
				if unit == "medicine/radiology" {
					target = rad.PK
				}
				if err := tx.AddGrant(ctx, u.PK, store.Grant{Kind: store.GrantOrgUnit, TargetPK: target, Source: "admin"}); err != nil {
					return err
				}
			}
			if us[i].deleted {
				if err := tx.SoftDeleteUser(ctx, u.PK, time.Now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, us
}

// expectedSearch is what SearchUsers must answer over all pages, worked
// out from its definition: the users of the states and unit, by the first
// part that finds them, in (part, key, pk) order; without Q, in pk order.
func expectedSearch(us []pagingUser, s store.UserSearch) []int64 {
	type hit struct {
		part int
		key  string
		pk   int64
	}
	p, unit := store.Fold(s.Q), store.Fold(s.OrgUnit)
	wantLive, wantDeleted := len(s.Statuses) == 0, false
	for _, st := range s.Statuses {
		if st == store.StatusDeleted {
			wantDeleted = true
		} else {
			wantLive = true
		}
	}
	var hits []hit
	for _, x := range us {
		switch {
		case x.deleted && !wantDeleted, !x.deleted && !wantLive:
			continue
		case !x.deleted && len(s.Statuses) > 0 && !slices.Contains(s.Statuses, x.u.Status):
			continue
		case unit != "" && !slices.ContainsFunc(x.units, func(u string) bool { return u == unit || strings.HasPrefix(u, unit+"/") }):
			continue
		}
		if p == "" { // a list: creation order
			hits = append(hits, hit{pk: x.u.PK})
			continue
		}
		h := hit{pk: x.u.PK, part: -1}
		var least string
		for _, e := range x.emails {
			if e := store.Fold(e); strings.HasPrefix(e, p) && (least == "" || e < least) {
				least = e
			}
		}
		switch {
		case strings.HasPrefix(store.Fold(x.u.UserName), p) && !x.deleted:
			h.part, h.key = 0, store.Fold(x.u.UserName)
		case strings.HasPrefix(store.Fold(x.u.UserName), p):
			h.part, h.key = 1, store.Fold(x.u.UserName)
		case x.u.DisplayName != "" && strings.HasPrefix(store.Fold(x.u.DisplayName), p):
			h.part, h.key = 2, store.Fold(x.u.DisplayName)
		case least != "":
			h.part, h.key = 3, least
		}
		if h.part >= 0 {
			hits = append(hits, h)
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.part, b.part), strings.Compare(a.key, b.key), cmp.Compare(a.pk, b.pk))
	})
	var out []int64
	for _, h := range hits {
		out = append(out, h.pk)
	}
	return out
}

// TestSearchUsersPaging: paging a search by its cursors, at several page
// sizes, yields every user it finds exactly once, in the order the store
// defines (userName, then displayName, then least email; pk after equal
// keys), across ties of displayName and email, deleted users sharing a
// userName, users with several matching emails, states and org units;
// and so it does when the scan bound of a filtered page (UserSearch.Scan)
// is small enough to stop pages short, wherever it falls.
func TestSearchUsersPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f, us := pagingFixture(t, db)
		for _, s := range []store.UserSearch{
			{Q: "p"},
			{Q: "P-"},
			{Q: "p.shared"},
			{Q: "p sa"},
			{Q: "p", Statuses: []string{store.StatusDisabled}},
			{Q: "p", Statuses: []string{store.StatusActive, store.StatusPending}},
			{Q: "p", Statuses: []string{store.StatusDeleted}},
			{Q: "p", Statuses: []string{store.StatusDeleted, store.StatusActive}},
			{Q: "p", OrgUnit: "Medicine"},
			{Q: "p", OrgUnit: "medicine/radiology", Statuses: []string{store.StatusActive}},
			{Q: "zz"},
			{Statuses: []string{store.StatusDisabled}},
			{Statuses: []string{store.StatusDeleted}},
			{Statuses: []string{store.StatusActive, store.StatusDeleted}, OrgUnit: "medicine"},
		} {
			s.TenantID = f.tenant.ID
			want := expectedSearch(us, s)
			if len(want) == 0 && s.Q != "zz" {
				t.Fatalf("%+v: the fixture finds nobody", s)
			}
			for _, scan := range []int{0, 1, 4, 13} {
				limits := []int{1, 2, 3, 7, 50, 1000}
				if scan > 0 {
					limits = []int{3, 1000}
				}
				stopped := 0
				for _, limit := range limits {
					s.Limit, s.After, s.Scan = limit, "", scan
					var got []int64
					short := 0
					for pages := 0; ; pages++ {
						page, next, err := db.SearchUsers(ctx, s)
						if err != nil {
							t.Fatalf("%+v: %v", s, err)
						}
						if len(page) > limit || len(page) == limit && next == "" {
							t.Fatalf("%+v: %d users, next %q", s, len(page), next)
						}
						if len(page) < limit && next != "" {
							short++ // stopped at the scan's bound
						}
						for _, u := range page {
							got = append(got, u.PK)
						}
						if next == "" || pages > 10000 {
							break
						}
						s.After = next
					}
					if !slices.Equal(got, want) {
						t.Errorf("%+v: pages give %v,\nwant %v", s, got, want)
					}
					if scan == 0 && short > 0 {
						t.Errorf("%+v: %d short pages within the default scan of %d", s, short, store.DefaultSearchScan)
					}
					stopped += short
				}
				// Every search here reads a part that leaves users out, or
				// a list through a filter, but the list of deleted users
				// (an index of theirs): a scan of 1 stops a page.
				deletedList := s.Q == "" && slices.Equal(s.Statuses, []string{store.StatusDeleted})
				if scan == 1 && stopped == 0 && !deletedList {
					t.Errorf("%+v: no page stopped at a scan of 1", s)
				}
			}
		}
		// A cursor of another search, or none at all, is refused.
		for _, after := range []string{"x", "n12", "q1.p", "d1.other"} {
			if _, _, err := db.SearchUsers(ctx, store.UserSearch{TenantID: f.tenant.ID, Q: "p", After: after}); err != store.ErrBadCursor {
				t.Errorf("after %q: %v, want ErrBadCursor", after, err)
			}
		}
		if _, _, err := db.SearchUsers(ctx, store.UserSearch{TenantID: f.tenant.ID, After: "d1.p"}); err != store.ErrBadCursor {
			t.Errorf("a search's cursor for the list: %v, want ErrBadCursor", err)
		}
	})
}
