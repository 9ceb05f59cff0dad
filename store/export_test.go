package store

import (
	"context"
	"database/sql"
	"io/fs"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// ExplainUsers is EXPLAIN of the page query Users runs for q, with
// sequential scans disabled: a plan that still scans the users table
// sequentially has no index to use.
func (db *DB) ExplainUsers(ctx context.Context, q Query) (string, error) {
	where, args, err := db.translate(usersTable, q)
	if err != nil {
		return "", err
	}
	base, cols := db.usersBase(usersTable, q, where, args)
	return db.explain(ctx, base(cols).OrderExpr("u.tenant_id, u.pk").Limit(100).String())
}

// ExplainUsersProbe is the plan of the probe that finds the first row of
// an unhinted page at startIndex (Query.StartIndex) among q's users.
func (db *DB) ExplainUsersProbe(ctx context.Context, q Query) (string, error) {
	where, args, err := db.translate(usersTable, q)
	if err != nil {
		return "", err
	}
	base, _ := db.usersBase(usersTable, q, where, args)
	return db.explain(ctx, base("u.pk").OrderExpr("u.tenant_id, u.pk").Offset(int64(q.StartIndex-1)).Limit(1).String())
}

// ExplainGroups is ExplainUsers for groups.
func (db *DB) ExplainGroups(ctx context.Context, q Query) (string, error) {
	where, args, err := db.translate(groupsTable, q)
	if err != nil {
		return "", err
	}
	base, cols := db.groupsBase(q, where, args)
	return db.explain(ctx, base(cols).OrderExpr("g.tenant_id, g.pk").Limit(100).String())
}

func (db *DB) explain(ctx context.Context, query string) (string, error) {
	tx, err := db.bun.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		return "", err
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN "+query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan += line + "\n"
	}
	return plan, rows.Err()
}

// Exec runs a statement, for tests that tune the database (ANALYZE).
func (db *DB) Exec(ctx context.Context, query string) (any, error) {
	return db.bun.ExecContext(ctx, query)
}

// MigrationLock takes the migration lock as Migrate does (PostgreSQL).
func (db *DB) MigrationLock(ctx context.Context) (unlock func(), err error) {
	return db.migrationLock(ctx)
}

// MaxOpenConns is the most connections the store opens.
func (db *DB) MaxOpenConns() int { return db.bun.DB.Stats().MaxOpenConnections }

// MigrateThrough applies the migrations up to and including version
// ("0001"), as a database of that age would have them.
func (db *DB) MigrateThrough(ctx context.Context, version string) error {
	sub, err := fs.Sub(migrationFiles, "migrations/"+string(db.dialect))
	if err != nil {
		return err
	}
	all := migrate.NewMigrations()
	if err := all.Discover(sub); err != nil {
		return err
	}
	some := migrate.NewMigrations()
	for _, m := range all.Sorted() {
		if m.Name <= version {
			some.Add(m)
		}
	}
	m, err := db.migratorOf(ctx, some)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx)
	return err
}

// QueryString runs a query of one row and one column, as text ("" for NULL).
func (db *DB) QueryString(ctx context.Context, query string) (string, error) {
	var s sql.NullString
	err := db.bun.QueryRowContext(ctx, query).Scan(&s)
	return s.String, err
}

// Statements records the statements the database runs from now on; the
// returned function hands over those recorded so far and starts afresh.
func (db *DB) Statements() func() []string {
	h := &statementLog{}
	r := db.reader.idb.(routed)
	db.reader.idb = routed{r.DB.WithQueryHook(h), r.to}
	return func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		out := h.queries
		h.queries = nil
		return out
	}
}

type statementLog struct {
	mu      sync.Mutex
	queries []string
}

func (h *statementLog) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	h.mu.Lock()
	h.queries = append(h.queries, e.Query)
	h.mu.Unlock()
	return ctx
}

func (h *statementLog) AfterQuery(context.Context, *bun.QueryEvent) {}

// HoldPrincipalListener keeps db's principal listener from connecting
// (again) until release is called, so that a test can keep an outage of
// it going after cutting it off.
func (db *DB) HoldPrincipalListener() (release func()) {
	h := make(chan struct{})
	db.watch.hold.Store(&h)
	return func() {
		db.watch.hold.Store(nil)
		close(h)
	}
}

// PrincipalListenerPID is the backend process id of db's principal
// listener while it is connected, else 0.
func (db *DB) PrincipalListenerPID() uint32 { return db.watch.pid.Load() }

// SetPrincipalHeartbeat sets how long the listeners of databases opened from now on wait
// for a notification before checking their connection; the returned
// function restores it.
func SetPrincipalHeartbeat(d time.Duration) (restore func()) {
	old := principalHeartbeat
	principalHeartbeat = d
	return func() { principalHeartbeat = old }
}

// PlanOf is the plan the database chooses for query as it stands (no
// planner settings changed): EXPLAIN ANALYZE on PostgreSQL, with the rows
// each node read and removed, and EXPLAIN QUERY PLAN on SQLite.
func (db *DB) PlanOf(ctx context.Context, query string) (string, error) {
	explain := "EXPLAIN ANALYZE "
	if db.dialect == SQLite {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.bun.QueryContext(ctx, explain+query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var plan string
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.NullString)
		}
		if err := rows.Scan(vals...); err != nil {
			return "", err
		}
		plan += vals[len(vals)-1].(*sql.NullString).String + "\n" // QUERY PLAN, or SQLite's detail
	}
	return plan, rows.Err()
}

// Explain is EXPLAIN of query with sequential scans disabled (see
// ExplainUsers), for a statement a test recorded (Statements).
func (db *DB) Explain(ctx context.Context, query string) (string, error) {
	return db.explain(ctx, query)
}
