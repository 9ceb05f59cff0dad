package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestSearchScale times the admin list's search (the console's users
// page) over many users: set SCIMD_SEARCH_SCALE to their number
// (1000000 for the figure; SQLite gets at most 100,000 of them).
// SCIMD_SEARCH_SCALE_DSN names a PostgreSQL database seeded by an earlier
// run to use instead of a new one (it must hold only that run's tenant).
//
// The users are User<i>@example.com (userName and email), displayName
// "User <i>", one in 1,000 disabled, one in 100 in the org unit Medicine;
// "user12" then finds 11,111 of 1,000,000 by userName, "user 12" as many
// by displayName, "user1234" 111 and "user999999" one. For each search it
// times page 1 and a deep page (after half the matches, and the page
// where the userName part ends and the email part is read), p50 and p99
// of repeated runs, beside the same statements run through the plain
// driver (ref) and, on PostgreSQL, the search's statement before
// migration 0031 (one query sorting every match by pk). A page over a
// second fails the test.
func TestSearchScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCIMD_SEARCH_SCALE"))
	if n <= 0 {
		t.Skip("set SCIMD_SEARCH_SCALE=N to time the admin search over N users")
	}
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		n := n
		seeded := false
		if strings.HasPrefix(dsn, "sqlite:") {
			n = min(n, 100000)
		} else if d := os.Getenv("SCIMD_SEARCH_SCALE_DSN"); d != "" {
			dsn, seeded = d, true
		}
		db := storetest.Open(t, dsn)
		f := newFixture(t, db, "bench", "okta")
		if !seeded {
			began := time.Now()
			seedSearch(t, db, f.tenant.ID, n)
			t.Logf("%d users seeded in %s", n, time.Since(began).Round(time.Millisecond))
		}
		raw := rawReplay(t, db, dsn)
		type search struct {
			what string
			s    store.UserSearch
			deep int // matches before the deep page
		}
		var searches []search
		for _, q := range []struct {
			q       string
			matches int
		}{{"user12", 11111}, {"user 12", 11111}, {"user1234", 111}, {"user999999", 1}} {
			if n < 1000000 {
				q.matches = q.matches * n / 1000000
			}
			searches = append(searches,
				search{"q=" + q.q, store.UserSearch{Q: q.q}, q.matches / 2},
				search{"q=" + q.q + " status=disabled", store.UserSearch{Q: q.q, Statuses: []string{store.StatusDisabled}}, 0},
				search{"q=" + q.q + " orgUnit=Medicine", store.UserSearch{Q: q.q, OrgUnit: "Medicine"}, q.matches / 200},
				search{"q=" + q.q + " status=active,deleted", store.UserSearch{Q: q.q, Statuses: []string{store.StatusActive, store.StatusDeleted}}, 0},
			)
		}
		// Filters few users pass, over a prefix many or all share, and
		// over the list: page 1 reads up to the scan's bound and ends
		// there, short.
		searches = append(searches,
			search{"q=user1 status=disabled", store.UserSearch{Q: "user1", Statuses: []string{store.StatusDisabled}}, 0},
			search{"q=user1 orgUnit=Medicine", store.UserSearch{Q: "user1", OrgUnit: "Medicine"}, 0},
			search{"q=u status=disabled", store.UserSearch{Q: "u", Statuses: []string{store.StatusDisabled}}, 0},
			search{"list status=disabled", store.UserSearch{Statuses: []string{store.StatusDisabled}}, 0},
			search{"list orgUnit=Medicine", store.UserSearch{OrgUnit: "Medicine"}, 0},
			// No user is pending: a filter that keeps none of them.
			search{"q=user1 status=pending", store.UserSearch{Q: "user1", Statuses: []string{store.StatusPending}}, 0},
			search{"q=u status=pending", store.UserSearch{Q: "u", Statuses: []string{store.StatusPending}}, 0},
			search{"list status=pending", store.UserSearch{Statuses: []string{store.StatusPending}}, 0},
		)
		t.Logf("%-42s %-6s %8s %8s %8s %8s %7s", "search", "page", "p50 ms", "p99 ms", "ref p50", "x ref", "users")
		for _, sc := range searches {
			s := sc.s
			s.TenantID, s.Limit = f.tenant.ID, 50
			// The deep pages' cursors, by walking there 1,000 at a time:
			// after half the matches, and 25 before the end of the first
			// part (whose page reads the next parts from their start).
			walk := func(to int) string {
				w := s
				for seen := 0; seen < to; {
					w.Limit = min(1000, to-seen)
					got, next, err := db.SearchUsers(ctx, w)
					if err != nil {
						t.Fatal(err)
					}
					seen += len(got)
					if next == "" {
						break
					}
					w.After = next
				}
				return w.After
			}
			pages := map[string]string{"1": ""}
			if sc.deep > 0 {
				pages["deep"] = walk(sc.deep)
			}
			if sc.s.OrgUnit == "" && sc.s.Statuses == nil && sc.deep > 50 {
				pages["end"] = walk(2*sc.deep - 25)
			}
			for _, page := range []string{"1", "deep", "end"} {
				after, ok := pages[page]
				if !ok {
					continue
				}
				s.After = after
				runs := 50
				var took, refTook []time.Duration
				var users int
				for range runs {
					statements := db.Statements()
					began := time.Now()
					got, _, err := db.SearchUsers(ctx, s)
					took = append(took, time.Since(began))
					if err != nil {
						t.Fatal(err)
					}
					users = len(got)
					refTook = append(refTook, raw(statements()))
				}
				p50, p99 := quantiles(took)
				r50, _ := quantiles(refTook)
				t.Logf("%-42s %-6s %8.2f %8.2f %8.2f %8.1f %7d", sc.what, page, ms(p50), ms(p99), ms(r50), float64(p50)/float64(r50), users)
				if p99 > time.Second {
					t.Errorf("%s page %s: p99 %s", sc.what, page, p99)
				}
			}
		}
		if db.Dialect() == store.Postgres {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, q := range []string{"user12", "user 12", "user1234", "user999999"} {
				var took []time.Duration
				for range 5 {
					began := time.Now()
					rows, err := conn.Query(ctx, oldSearch, f.tenant.ID, q+"%")
					if err != nil {
						t.Fatal(err)
					}
					for rows.Next() {
					}
					rows.Close()
					took = append(took, time.Since(began))
				}
				p50, _ := quantiles(took)
				t.Logf("before 0031: q=%-30s page 1 p50 %8.2f ms (plain driver)", q, ms(p50))
			}
		}
	})
}

// oldSearch is SearchUsers' statement before migration 0031, q= alone:
// every match read and sorted by pk.
const oldSearch = `SELECT u.*, x.value AS external_id FROM users AS u
LEFT JOIN user_external_ids AS x ON x.user_pk = u.pk AND x.connector_id = 0
WHERE u.tenant_id = ANY(ARRAY[CAST($1 AS bigint)]) AND u.pk > 0 AND (u.deleted_at IS NULL AND u.status IN ('active', 'disabled', 'pending'))
AND u.pk IN (SELECT pk FROM users WHERE tenant_id = $1 AND deleted_at IS NULL AND user_name_folded LIKE $2 ESCAPE '\'
	UNION SELECT pk FROM users WHERE tenant_id = $1 AND display_name_folded LIKE $2 ESCAPE '\'
	UNION SELECT user_pk FROM user_emails WHERE tenant_id = $1 AND email LIKE $2 ESCAPE '\')
ORDER BY u.tenant_id, u.pk LIMIT 50`

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantiles(d []time.Duration) (p50, p99 time.Duration) {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
}

// rawReplay runs statements through the plain driver (pgx, simple
// protocol as the store's, every column's bytes of every row; or
// database/sql over modernc's SQLite, every column scanned), and says how
// long they took.
func rawReplay(t *testing.T, db *store.DB, dsn string) func([]string) time.Duration {
	ctx := context.Background()
	if db.Dialect() == store.Postgres {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return func(stmts []string) time.Duration {
			began := time.Now()
			for _, q := range stmts {
				rows, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					_ = rows.RawValues()
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				rows.Close()
			}
			return time.Since(began)
		}
	}
	conn, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func(stmts []string) time.Duration {
		began := time.Now()
		for _, q := range stmts {
			rows, err := conn.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(any)
			}
			for rows.Next() {
				if err := rows.Scan(vals...); err != nil {
					t.Fatal(err)
				}
			}
			rows.Close()
		}
		return time.Since(began)
	}
}

// seedSearch writes n users in one statement per 100,000 (PostgreSQL's
// email trigger off meanwhile, the rows written in one statement after),
// one in 1,000 disabled, and puts one in 100 in the org unit Medicine.
func seedSearch(t *testing.T, db *store.DB, tenant int64, n int) {
	ctx := context.Background()
	pg := db.Dialect() == store.Postgres
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.EnsureOrgUnit(ctx, tenant, "Medicine")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += 100000 {
		hi := min(lo+100000, n) - 1
		if pg {
			exec("ALTER TABLE users DISABLE TRIGGER user_emails")
			exec(fmt.Sprintf(`INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
	active, status, attrs, version, created_at, updated_at)
SELECT %d, gen_random_uuid(), nm, lower(nm), d, lower(d), i %% 1000 <> 999, CASE WHEN i %% 1000 = 999 THEN 'disabled' ELSE 'active' END,
	jsonb_build_object('userName', nm, 'displayName', d, 'emails', jsonb_build_array(jsonb_build_object('value', lower(nm), 'type', 'work')),
		'title', 'Engineer', 'department', 'Department ' || (i %% 100)), 1, now(), now()
FROM (SELECT i, 'User' || i || '@example.com' AS nm, 'User ' || i AS d FROM generate_series(%d, %d) AS i) AS s`, tenant, lo, hi))
			exec(fmt.Sprintf(`INSERT INTO user_emails (user_pk, tenant_id, email) SELECT u.pk, u.tenant_id, v
FROM users AS u, unnest(scimd_email_values(u.attrs)) AS v WHERE v IS NOT NULL AND u.tenant_id = %d AND u.pk > (SELECT COALESCE(MAX(user_pk), 0) FROM user_emails)`, tenant))
			exec("ALTER TABLE users ENABLE TRIGGER user_emails")
		} else {
			exec(fmt.Sprintf(`INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
	active, status, attrs, version, created_at, updated_at)
WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d)
SELECT %d, lower(hex(randomblob(16))), 'User' || i || '@example.com', lower('User' || i || '@example.com'), 'User ' || i, lower('User ' || i),
	i %% 1000 <> 999, CASE WHEN i %% 1000 = 999 THEN 'disabled' ELSE 'active' END,
	json_object('userName', 'User' || i || '@example.com', 'displayName', 'User ' || i,
		'emails', json_array(json_object('value', lower('User' || i || '@example.com'), 'type', 'work')),
		'title', 'Engineer', 'department', 'Department ' || (i %% 100)), 1, datetime('now'), datetime('now') FROM s`, lo, hi, tenant))
		}
	}
	exec(fmt.Sprintf(`INSERT INTO user_grants (user_pk, kind, target_pk, source, granted_at)
SELECT u.pk, 'orgUnit', o.pk, 'admin', u.created_at FROM users AS u JOIN org_units AS o ON o.tenant_id = u.tenant_id
WHERE u.tenant_id = %d AND u.pk %% 100 = 0`, tenant))
	if pg {
		exec("VACUUM ANALYZE users, user_emails, user_grants, org_units")
	} else {
		exec("ANALYZE")
	}
}
