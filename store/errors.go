package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrNotFound means no row matched: an unknown id, or one in another tenant.
	ErrNotFound = errors.New("not found")
	// ErrStale means the row's version was not the one the write expected:
	// someone else wrote it first.
	ErrStale = errors.New("version changed")
	// ErrUnavailable means the database could not be reached or dropped
	// the connection: an outage, which a client may retry later, not a
	// fault of the request.
	ErrUnavailable = errors.New("database unavailable")
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
// [ErrNotFound], unique violations into [*ConflictError] and lost
// connections into [ErrUnavailable] (wrapping the driver's error).
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if !errors.Is(err, ErrUnavailable) && unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
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

// unreachable reports an error of the connection rather than of the
// statement: the server refused or dropped it (a network error, EOF
// mid-reply, SQLSTATE class 08), is shutting down or starting (57P01–03),
// or, on SQLite, the file cannot be opened or read (SQLITE_CANTOPEN,
// SQLITE_IOERR).
func unreachable(err error) bool {
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
		pgErr      *pgconn.PgError
		liteErr    interface{ Code() int }
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false // the caller gave up (context's deadline error is a net.Error too)
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn):
		return true
	case errors.As(err, &pgErr):
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	case errors.As(err, &liteErr):
		code := liteErr.Code() & 0xff // the primary result code
		return code == 10 || code == 14
	}
	return false
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
