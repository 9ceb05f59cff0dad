package store_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestSearchUsersPlans: each statement of a search, on both databases,
// reads its part's index in order from the page's cursor and sorts
// nothing: on PostgreSQL (EXPLAIN ANALYZE) no Sort node, no sequential
// scan, and no node handling more rows than a few pages' worth, though
// every search finds 3,000 users; on SQLite (EXPLAIN QUERY PLAN) the
// part's index and no temporary B-tree for the ORDER BY.
func TestSearchUsersPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		var users []store.User
		for i := range 3000 {
			name, display := fmt.Sprintf("n%04d", i), fmt.Sprintf("D %04d", i)
			if i%10 == 1 {
				display = "D Same" // a tie of 300
			}
			users = append(users, store.User{TenantID: f.tenant.ID, UserName: name, DisplayName: display, Active: true,
				Attrs: map[string]any{"userName": name, "emails": []any{map[string]any{"value": fmt.Sprintf("e%04d@x", i%1500)}}}})
		}
		gone := []store.User{{TenantID: f.tenant.ID, UserName: "n-gone", Active: true, Attrs: map[string]any{"userName": "n-gone"}}}
		if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.InsertUsers(ctx, users); err != nil {
				return err
			}
			if err := tx.InsertUsers(ctx, gone); err != nil {
				return err
			}
			med, err := tx.EnsureOrgUnit(ctx, f.tenant.ID, "Medicine")
			if err != nil {
				return err
			}
			for i := 0; i < len(users); i += 3 {
				if err := tx.AddGrant(ctx, users[i].PK, store.Grant{Kind: store.GrantOrgUnit, TargetPK: med.PK, Source: "admin"}); err != nil {
					return err
				}
			}
			return tx.SoftDeleteUser(ctx, gone[0].PK, gone[0].CreatedAt)
		}); err != nil {
			t.Fatal(err)
		}
		analyze := "ANALYZE"
		if db.Dialect() == store.Postgres {
			analyze = "VACUUM ANALYZE"
		}
		if _, err := db.Exec(ctx, analyze); err != nil {
			t.Fatal(err)
		}
		// A scan of 1,200 bounds the 3,000 matches of every search here.
		const limit, scan = 20, 1200
		rows := regexp.MustCompile(`rows=(\d+) loops=(\d+)`)
		upTo := regexp.MustCompile(`(~<=~ '|\) <= \(')`) // a part's bound
		checked := map[string]bool{}
		for _, s := range []store.UserSearch{
			{Q: "n"},
			{Q: "d "},
			{Q: "d same"},
			{Q: "e"},
			{Q: "n", Statuses: []string{store.StatusDisabled, store.StatusActive}},
			{Q: "n-", Statuses: []string{store.StatusDeleted}},
			{Q: "e", OrgUnit: "medicine"},
		} {
			s.TenantID, s.Limit, s.Scan = f.tenant.ID, limit, scan
			// Page 1, a page from a cursor in the middle of a tie or of
			// the keys, and a page where the userName part ends.
			for page := range 3 {
				statements := db.Statements()
				_, next, err := db.SearchUsers(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				for _, sql := range statements() {
					index, what := "users_tenant_user_name", "userName"
					switch {
					case strings.Contains(sql, "u.pk IN ("):
						continue // the page's users by pk
					case strings.Contains(sql, "FROM user_emails AS e"):
						index, what = "user_emails_tenant_email", "email"
					case strings.Contains(sql, "display_name_folded AS k"):
						index, what = "users_tenant_display_name", "displayName"
					case strings.Contains(sql, "u.deleted_at IS NOT NULL"):
						index, what = "users_tenant_deleted_name", "deleted userName"
					}
					// A filtered part's bound: the scan-th entry, from the
					// index alone; the part's statements then read no
					// further than it.
					bound, bounded := strings.Contains(sql, " OFFSET "), upTo.MatchString(sql)
					if bound {
						what += " bound"
					} else if strings.Contains(sql, "' AND u.pk > ") || strings.Contains(sql, "' AND e.user_pk > ") {
						what += " tie"
					}
					if len(s.Statuses) == 1 && s.Statuses[0] == store.StatusDeleted && what != "deleted userName" {
						continue // from the few deleted users, as the planner may choose
					}
					checked[what] = true
					plan, err := db.PlanOf(ctx, sql)
					if err != nil {
						t.Fatal(err)
					}
					// A statement within a bound reads at most scan rows of
					// the index, in order or sorted, as the planner weighs
					// it; one without reads a few pages' worth, in order.
					bad := !strings.Contains(plan, index)
					if db.Dialect() == store.Postgres {
						most := 3 * limit
						if bound || bounded {
							most = scan
						} else {
							bad = bad || strings.Contains(plan, "Sort")
						}
						bad = bad || strings.Contains(plan, "Seq Scan")
						bad = bad || bound && !strings.Contains(plan, "Index Only Scan using "+index)
						for _, m := range rows.FindAllStringSubmatch(plan, -1) {
							r, _ := strconv.Atoi(m[1])
							loops, _ := strconv.Atoi(m[2])
							bad = bad || r*loops > most
						}
					} else {
						bad = bad || !bound && !bounded && strings.Contains(plan, "TEMP B-TREE FOR ORDER BY")
					}
					if bad {
						t.Errorf("%+v page %d, %s part: not an ordered read of %s:\n%s\n%s", s, page+1, what, index, sql, plan)
					}
				}
				if next == "" {
					break
				}
				// Page 2 from the first page's cursor, page 3 from near
				// the end of the first part (a cursor is the part, the
				// pk and the key, see store.SearchUsers).
				s.After = next
				if page == 1 && s.Q == "n" {
					s.After = fmt.Sprintf("n%d.n2990", users[2990].PK)
				}
			}
		}
		for _, what := range []string{"userName", "deleted userName", "displayName", "displayName tie", "email", "email tie",
			"userName bound", "displayName bound", "email bound"} {
			if !checked[what] {
				t.Errorf("no statement of the %s part checked", what)
			}
		}
	})
}
