package store

import "github.com/uptrace/bun"

// locked makes a SELECT of one user or group row (alias u or g) lock the
// row when it runs in a write transaction, until the transaction ends: so
// that concurrent writers of one resource (an IdP sends a group's PATCHes
// in parallel) take turns, each planning on the row as the one before it
// left it, and none fails its version check. PostgreSQL locks the row (FOR
// NO KEY UPDATE, so that memberships may still reference it meanwhile);
// SQLite's write transactions hold the database's write lock from BEGIN,
// which already serializes them. Outside a transaction (a preview) nothing
// is locked.
func (r reader) locked(q *bun.SelectQuery, alias string) *bun.SelectQuery {
	if _, onDB := r.idb.(*bun.DB); onDB || r.dialect != Postgres {
		return q
	}
	return q.For("NO KEY UPDATE OF " + alias)
}
