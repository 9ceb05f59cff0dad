package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/store"
)

// seedBatch is how many users one INSERT … SELECT writes.
const seedBatch = 50_000

// seed writes users straight into the database, in set-based batches.
func seed(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("seed", stderr)
	dsn := fs.String("database-url", "", "scimd's database: a postgres:// URL or an SQLite file")
	tenant := fs.String("tenant", "bench", "tenant to seed (it must exist: scimd token create makes it)")
	connector := fs.String("connector", "okta", "connector whose external IDs the users get")
	users := fs.Int("users", 10000, "how many users to write")
	from := fs.Int("from", 0, "number of the first user (User<from>@example.com)")
	groups := fs.String("groups", "", "NAME:MEMBERS,… groups to make (managed by the connector), each holding the tenant's first MEMBERS users by pk, e.g. bench-big:100000,bench-empty:0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openRaw(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ids, err := db.principal(ctx, *tenant, *connector)
	if err != nil {
		return err
	}
	began := time.Now()
	if *groups != "" {
		defer func() {
			if err == nil {
				err = db.seedGroups(ctx, ids, *groups, stdout)
			}
		}()
	}
	for lo := *from; lo < *from+*users; lo += seedBatch {
		hi := min(lo+seedBatch, *from+*users) - 1
		if err := db.seedUsers(ctx, ids, lo, hi); err != nil {
			return fmt.Errorf("users %d–%d: %w", lo, hi, err)
		}
		fmt.Fprintf(stderr, "seeded %d users (%.0fs)\n", hi+1-*from, time.Since(began).Seconds())
	}
	// Fresh statistics, and PostgreSQL's GIN indexes merged, as
	// autovacuum would do soon after a bulk load.
	analyze := "ANALYZE"
	if db.dialect == store.Postgres {
		analyze = "VACUUM ANALYZE users, user_external_ids, user_links, user_emails"
	}
	if _, err := db.ExecContext(ctx, analyze); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users into %s/%s in %.1fs\n", *users, *tenant, *connector, time.Since(began).Seconds())
	return nil
}

// seedGroups makes each group of spec (NAME:MEMBERS,…) if missing,
// managed by the connector, and gives it the tenant's first MEMBERS users
// as direct members, in one INSERT … SELECT: a 100,000-member group in
// seconds, where PATCHes would take minutes.
func (db *rawDB) seedGroups(ctx context.Context, to ids, spec string, stdout io.Writer) error {
	for _, part := range strings.Split(spec, ",") {
		name, n, ok := strings.Cut(part, ":")
		members, err := strconv.Atoi(n)
		if !ok || err != nil || name == "" || members < 0 {
			return fmt.Errorf("--groups %q: want NAME:MEMBERS,… (bench-big:100000)", part)
		}
		began := time.Now()
		var pk int64
		err = db.store.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			g, err := tx.EnsureGroup(ctx, to.tenant, name)
			pk = g.PK
			return err
		})
		if err != nil {
			return fmt.Errorf("group %s: %w", name, err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE groups SET managed_by = "+db.ph(1)+" WHERE pk = "+db.ph(2), to.connector, pk); err != nil {
			return fmt.Errorf("group %s: %w", name, err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO group_users (group_pk, user_pk, direct) SELECT "+db.ph(1)+", pk, "+db.ph(2)+
			" FROM (SELECT pk FROM users WHERE tenant_id = "+db.ph(3)+" ORDER BY pk LIMIT "+db.ph(4)+") AS u WHERE true ON CONFLICT DO NOTHING",
			pk, true, to.tenant, members); err != nil {
			return fmt.Errorf("group %s: %w", name, err)
		}
		var have int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM group_users WHERE group_pk = "+db.ph(1), pk).Scan(&have); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "group %s: %d members (%.1fs)\n", name, have, time.Since(began).Seconds())
	}
	if db.dialect == store.Postgres {
		_, err := db.ExecContext(ctx, "VACUUM ANALYZE groups, group_users")
		return err
	}
	return nil
}

// rawDB is scimd's database through the plain driver, beside scimd's own
// store: for seeding and for the reference measurements.
type rawDB struct {
	*sql.DB
	dialect store.Dialect
	store   *store.DB
	writeMu sync.Mutex // SQLite's writers take turns
}

// openRaw opens the database twice: through store (which migrates it and,
// for SQLite, registers the functions its triggers call) and through the
// plain driver, in the mode scimd's store uses.
func openRaw(ctx context.Context, dsn string) (*rawDB, error) {
	if dsn == "" {
		return nil, fmt.Errorf("--database-url is required")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	driver, source := "sqlite", ""
	if st.Dialect() == store.Postgres {
		driver, source = "pgx", dsn
		if !strings.Contains(dsn, "default_query_exec_mode") {
			source += map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")] + "default_query_exec_mode=simple_protocol"
		}
	} else {
		path, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:"), "?")
		source = "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
			"&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)"
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		st.Close()
		return nil, err
	}
	db.SetMaxIdleConns(64)
	return &rawDB{DB: db, dialect: st.Dialect(), store: st}, nil
}

func (db *rawDB) Close() error {
	db.store.Close()
	return db.DB.Close()
}

// ph is the dialect's placeholder for argument n (1-based).
func (db *rawDB) ph(n int) string {
	if db.dialect == store.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return fmt.Sprintf("?%d", n)
}

type ids struct{ tenant, connector int64 }

func (db *rawDB) principal(ctx context.Context, tenant, connector string) (ids, error) {
	var out ids
	err := db.QueryRowContext(ctx, "SELECT t.id, c.id FROM tenants AS t JOIN connectors AS c ON c.tenant_id = t.id WHERE t.name = "+
		db.ph(1)+" AND c.name = "+db.ph(2), tenant, connector).Scan(&out.tenant, &out.connector)
	if err == sql.ErrNoRows {
		return out, fmt.Errorf("no connector %s/%s: make it first with scimd token create --tenant %s --connector %s", tenant, connector, tenant, connector)
	}
	return out, err
}

// seedUsers writes users lo…hi, with the connector's external IDs and
// links, in one transaction.
func (db *rawDB) seedUsers(ctx context.Context, to ids, lo, hi int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var before int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(pk), 0) FROM users").Scan(&before); err != nil {
		return err
	}
	insert, uuid, at := pgSeed, "gen_random_uuid()::text", any(time.Now().UTC())
	if db.dialect == store.SQLite {
		insert, uuid = sqliteSeed, sqliteUUID
		at = time.Now().UTC().Format("2006-01-02 15:04:05.999999-07:00")
	}
	if db.dialect == store.Postgres {
		// Migration 0004's trigger fills user_emails row by row in
		// PL/pgSQL: half the seed's time. Here it is off for this
		// transaction (which locks users meanwhile: seed a benchmark
		// database, not a live one), and the rows are written in one
		// statement, as 0004's own backfill does.
		if _, err := tx.ExecContext(ctx, "ALTER TABLE users DISABLE TRIGGER user_emails"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, insert, to.tenant, lo, hi, at); err != nil {
		return err
	}
	if db.dialect == store.Postgres {
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_emails (user_pk, tenant_id, email) SELECT u.pk, u.tenant_id, v "+
			"FROM users AS u, unnest(scimd_email_values(u.attrs)) AS v WHERE v IS NOT NULL AND u.pk > $1", before); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "ALTER TABLE users ENABLE TRIGGER user_emails"); err != nil {
			return err
		}
	}
	for _, stmt := range []string{
		"INSERT INTO user_external_ids (connector_id, user_pk, value) SELECT " + db.ph(1) + ", pk, " + uuid + " FROM users WHERE tenant_id = " + db.ph(2) + " AND pk > " + db.ph(3),
		"INSERT INTO user_links (connector_id, user_pk, linked_at) SELECT " + db.ph(1) + ", pk, created_at FROM users WHERE tenant_id = " + db.ph(2) + " AND pk > " + db.ph(3),
	} {
		if _, err := tx.ExecContext(ctx, stmt, to.connector, to.tenant, before); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// pgSeed writes users $2…$3 of tenant $1, created at $4, each a ~1 KB
// document like an Entra or Okta push.
const pgSeed = `INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
	active, status, attrs, version, created_at, updated_at)
SELECT $1, gen_random_uuid(), n, lower(n), d, lower(d), true, 'active', jsonb_build_object(
	'userName', n, 'active', true, 'displayName', d,
	'name', jsonb_build_object('givenName', 'Given' || i, 'familyName', 'Family' || (i % 50000),
		'formatted', 'Given' || i || ' Family' || (i % 50000)),
	'emails', jsonb_build_array(jsonb_build_object('value', lower(n), 'type', 'work', 'primary', true)),
	'phoneNumbers', jsonb_build_array(jsonb_build_object('value', '+1 555 ' || lpad(i::text, 7, '0'), 'type', 'work')),
	'addresses', jsonb_build_array(jsonb_build_object('type', 'work', 'streetAddress', i || ' Main Street',
		'locality', 'Springfield', 'region', 'IL', 'postalCode', '62701', 'country', 'US', 'primary', true)),
	'title', 'Engineer', 'userType', 'Employee', 'preferredLanguage', 'en-US', 'locale', 'en-US',
	'timezone', 'America/Chicago',
	'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', jsonb_build_object(
		'employeeNumber', i::text, 'department', 'Department ' || (i % 100), 'costCenter', 'CC' || (i % 1000),
		'organization', 'Example Corp', 'division', 'Division ' || (i % 10),
		'manager', jsonb_build_object('value', 'manager-' || (i % 1000)))
), 1, $4, $4
FROM (SELECT i, 'User' || i || '@example.com' AS n, 'User ' || i AS d
	FROM generate_series($2::bigint, $3::bigint) AS i) AS s`

// sqliteUUID is a random version-4 UUID in SQLite's SQL.
const sqliteUUID = `lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
	substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) ||
	substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))`

// sqliteSeed is pgSeed for SQLite; ?4 is the creation time.
var sqliteSeed = `INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
	active, status, attrs, version, created_at, updated_at)
WITH RECURSIVE s(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM s WHERE i < ?3)
SELECT ?1, ` + sqliteUUID + `, n, lower(n), d, lower(d), 1, 'active', json_object(
	'userName', n, 'active', json('true'), 'displayName', d,
	'name', json_object('givenName', 'Given' || i, 'familyName', 'Family' || (i % 50000),
		'formatted', 'Given' || i || ' Family' || (i % 50000)),
	'emails', json_array(json_object('value', lower(n), 'type', 'work', 'primary', json('true'))),
	'phoneNumbers', json_array(json_object('value', '+1 555 ' || substr('0000000' || i, -7), 'type', 'work')),
	'addresses', json_array(json_object('type', 'work', 'streetAddress', i || ' Main Street',
		'locality', 'Springfield', 'region', 'IL', 'postalCode', '62701', 'country', 'US', 'primary', json('true'))),
	'title', 'Engineer', 'userType', 'Employee', 'preferredLanguage', 'en-US', 'locale', 'en-US',
	'timezone', 'America/Chicago',
	'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', json_object(
		'employeeNumber', CAST(i AS text), 'department', 'Department ' || (i % 100), 'costCenter', 'CC' || (i % 1000),
		'organization', 'Example Corp', 'division', 'Division ' || (i % 10),
		'manager', json_object('value', 'manager-' || (i % 1000))))
, 1, ?4, ?4
FROM (SELECT i, 'User' || i || '@example.com' AS n, 'User ' || i AS d FROM s)`
