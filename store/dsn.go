package store

import "strings"

// SQLitePath is the file an SQLite dsn names ("sqlite:path", "file:path"
// or a bare path, any ?query dropped), as [Open] reads it; ok is false for
// a PostgreSQL URL. Commands use it to tell a missing database from a new
// one before Open would create it.
func SQLitePath(dsn string) (path string, ok bool) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "", false
	}
	path = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	path, _, _ = strings.Cut(path, "?")
	return path, true
}
