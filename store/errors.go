package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrNotFound means no row matched: an unknown id, or one in another tenant.
	ErrNotFound = errors.New("not found")
	// ErrStale means the row's version was not the one the write expected:
	// someone else wrote it first.
	ErrStale = errors.New("version changed")
)

// ConflictError is a unique-index violation, named by the attribute the
// index guards (for example "userName").
type ConflictError struct {
	Attribute string
	Err       error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s is already in use", e.Attribute)
}

func (e *ConflictError) Unwrap() error { return e.Err }

// UnknownMembersError lists group member ids that name no user or group of
// the tenant.
type UnknownMembersError struct {
	IDs []string
}

func (e *UnknownMembersError) Error() string {
	return "unknown member ids: " + strings.Join(e.IDs, ", ")
}

// LimitError reports a per-connector limit reached, such as the number of
// active tokens.
type LimitError struct {
	What string
}

func (e *LimitError) Error() string { return e.What }

// uniqueIndexes maps the unique indexes to the attribute they guard. PostgreSQL
// names the index in its error; SQLite names the columns instead.
var uniqueIndexes = map[string]string{
	"users_tenant_user_name":                       "userName",
	"users.tenant_id, users.user_name_folded":      "userName",
	"groups_tenant_display_name":                   "displayName",
	"groups.tenant_id, groups.display_name_folded": "displayName",
	"tenants_name_key":                             "tenant",
	"tenants.name":                                 "tenant",
	"connectors_tenant_id_name_key":                "connector",
	"connectors.tenant_id, connectors.name":        "connector",
}

// mapError turns driver errors into the store's own: sql.ErrNoRows into
// [ErrNotFound] and unique violations into [*ConflictError].
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var mapped *ConflictError
	if errors.As(err, &mapped) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &ConflictError{Attribute: attributeFor(pgErr.ConstraintName), Err: err}
	}
	var liteErr interface{ Code() int }
	if errors.As(err, &liteErr) && liteErr.Code() == 2067 { // SQLITE_CONSTRAINT_UNIQUE
		msg := err.Error()
		_, cols, _ := strings.Cut(msg, "UNIQUE constraint failed: ")
		cols, _, _ = strings.Cut(cols, " (")
		return &ConflictError{Attribute: attributeFor(strings.TrimSpace(cols)), Err: err}
	}
	return err
}

func attributeFor(index string) string {
	if a, ok := uniqueIndexes[index]; ok {
		return a
	}
	return index
}

// isRetryable reports a PostgreSQL serialization failure or deadlock, which
// a transaction may simply run again.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
