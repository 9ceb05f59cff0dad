package store

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// prepared are the statements of a user's create on SQLite, prepared once
// on the writer connection and run with bound arguments. bun formats every
// argument into the query text, so each of its statements is parsed and
// compiled afresh: for the create's INSERT INTO users, with its email
// trigger, that was most of the time a create held the single writer
// (BENCHMARKS.md). They are prepared by the first writer that finds the
// schema in place ([DB.RunInTx], holding the writer before its BEGIN), and
// until then a create runs as one script of formatted statements.
type prepared struct {
	ready                                 bool
	user, link, externalID, source, audit *sql.Stmt
	// count is [DB.CountStatements]'s counter, which bun's hook cannot
	// see these statements go by; nil when not counting.
	count *atomic.Int64
}

// newUserSelect is the row of a single create ([newUserValues], then the
// tenant and the configuration version it was mapped with): written only
// while that configuration is current.
var newUserSelect = "SELECT " + newUserParams[1:len(newUserParams)-1] +
	" WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ? AND config_version = ?)"

var preparedUser = "INSERT INTO users (" + newUserColumns + ") " + newUserSelect + " RETURNING pk"

const (
	preparedLink       = `INSERT INTO user_links (connector_id, user_pk, linked_at) VALUES (?, ?, ?)`
	preparedExternalID = `INSERT INTO user_external_ids (connector_id, user_pk, value) VALUES (?, ?, ?)`
	// preparedSource takes the sources as one JSON array, whatever their number.
	preparedSource = `INSERT INTO user_attribute_sources (user_pk, attribute, source, connector_id, rule, set_at)
		SELECT ?, json_extract(s.value, '$.attribute'), json_extract(s.value, '$.source'),
			coalesce(json_extract(s.value, '$.connectorId'), 0), coalesce(json_extract(s.value, '$.rule'), ''), ?
		FROM json_each(?) AS s`
	preparedAudit = `INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail, personal)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// prepare prepares the statements on db, the writer, which the caller
// holds outside a transaction; a schema not migrated yet leaves them
// unprepared, to try again next time.
func (p *prepared) prepare(ctx context.Context, db *sql.DB) {
	if p.ready {
		return
	}
	var stmts []*sql.Stmt
	for _, q := range []string{preparedUser, preparedLink, preparedExternalID, preparedSource, preparedAudit} {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, s := range stmts {
				s.Close()
			}
			return
		}
		stmts = append(stmts, s)
	}
	p.user, p.link, p.externalID, p.source, p.audit = stmts[0], stmts[1], stmts[2], stmts[3], stmts[4]
	p.ready = true
}

func (p *prepared) close() {
	if p != nil && p.ready {
		for _, s := range []*sql.Stmt{p.user, p.link, p.externalID, p.source, p.audit} {
			s.Close()
		}
	}
}

// preparedIn returns the transaction's *sql.Tx and the statements, or false when
// they are not prepared (or idb is no transaction).
func (r reader) preparedIn() (*sql.Tx, *prepared, bool) {
	tx, ok := r.idb.(bun.Tx)
	if !ok || r.prep == nil || !r.prep.ready {
		return nil, nil, false
	}
	return tx.Tx, r.prep, true
}

// exec runs s in tx with args bound as bun would have formatted them.
func (p *prepared) exec(ctx context.Context, tx *sql.Tx, d schema.Dialect, s *sql.Stmt, args ...any) error {
	if p.count != nil {
		p.count.Add(1)
	}
	_, err := tx.StmtContext(ctx, s).ExecContext(ctx, bind(d, args)...)
	return err
}

func (p *prepared) queryRow(ctx context.Context, tx *sql.Tx, d schema.Dialect, s *sql.Stmt, args ...any) *sql.Row {
	if p.count != nil {
		p.count.Add(1)
	}
	return tx.StmtContext(ctx, s).QueryRowContext(ctx, bind(d, args)...)
}

// bind turns times into the text bun writes for them, so that a row
// written here reads, sorts and compares as one bun wrote.
func bind(d schema.Dialect, args []any) []any {
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			args[i] = strings.Trim(string(d.AppendTime(nil, t)), "'")
		}
	}
	return args
}
