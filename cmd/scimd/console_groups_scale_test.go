package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/store"
)

// TestConsoleGroupsScale times the groups pages over a group of many
// members: set SCIMD_CONSOLE_GROUP_SCALE to their number (100000 for
// the figure). Beside it, 50 groups of 1,500 members each, so
// that every count of the list's page stops at its cap. It logs each
// page's latency and the bytes the server allocated for it, and fails
// past a second or past 8 MiB: a page costs a page, not the group.
func TestConsoleGroupsScale(t *testing.T) {
	atScale(t, "SCIMD_CONSOLE_GROUP_SCALE", "the console's groups pages over a group of N members", func(t *testing.T, w *consoleWorld, n int, p store.Principal) {
		ctx := context.Background()
		start := time.Now()
		var pks []int64
		for base := 0; base < n; base += 10000 {
			var users []store.User
			for i := base; i < min(base+10000, n); i++ {
				name := fmt.Sprintf("g%07d@example.org", i)
				users = append(users, store.User{TenantID: p.TenantID, UserName: name, DisplayName: fmt.Sprintf("Member %07d", i),
					Active: true, Status: store.StatusActive, Attrs: map[string]any{"userName": name}})
			}
			if err := w.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertUsers(ctx, users) }); err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				pks = append(pks, u.PK)
			}
		}
		members := func(pks []int64) []store.Member {
			ms := make([]store.Member, len(pks))
			for i, pk := range pks {
				ms[i] = store.Member{Type: store.MemberUser, PK: pk}
			}
			return ms
		}
		var big store.Group
		err := w.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			for i := range 51 {
				g := store.Group{TenantID: p.TenantID, DisplayName: fmt.Sprintf("Team %02d", i), Attrs: map[string]any{}}
				ms := members(pks[i*1500%max(n-1500, 1) : min(i*1500%max(n-1500, 1)+1500, n)])
				if i == 0 {
					g.DisplayName, ms = "Everyone", members(pks)
				}
				if err := tx.InsertGroup(ctx, &g); err != nil {
					return err
				}
				if _, err := tx.AddMembers(ctx, g.PK, ms); err != nil {
					return err
				}
				if i == 0 {
					big = g
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		w.analyze("users, groups, group_users, group_groups")
		t.Logf("%d users, a group of all of them and 50 of 1,500 seeded in %s", n, time.Since(start).Round(time.Millisecond))
		c := w.signIn(w.bootstrap())
		timed := w.timer(c, 8<<20)
		page := timed("groups, first page (51 counts)", "/console/acme/groups")
		if !strings.Contains(page, "more than 1000") {
			t.Errorf("the list does not cap the big groups' counts:\n%s", page)
		}
		timed("groups, search 'team 4'", "/console/acme/groups?q=team+4")
		page = timed("the big group, first page", "/console/acme/groups/"+big.ID)
		if !strings.Contains(page, "more than 10000 member(s)") && n > 10000 {
			t.Errorf("the group's count is not capped")
		}
		next := regexp.MustCompile(`href="(/console/acme/groups/[^"]+)" rel="next"`)
		for range 3 {
			m := next.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no next page")
			}
			page = timed("the big group, page by cursor", strings.ReplaceAll(m[1], "&amp;", "&"))
		}
		page = timed("the big group, its last page", "/console/acme/groups/"+big.ID+"?after=u"+strconv.FormatInt(pks[n-20], 10))
		if !strings.Contains(page, fmt.Sprintf("g%07d@example.org", n-1)) {
			t.Errorf("the last page lacks the last member")
		}
	})
}
