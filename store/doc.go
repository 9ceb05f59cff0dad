// Package store is scimd's database: PostgreSQL in production, an embedded
// SQLite file by default, both through bun. It is the only package that
// knows tables, columns, indexes and SQL dialects, and it imports nothing
// else of scimd's.
//
// Files:
//   - db.go: [Open] by DSN, pools (on SQLite one writer, for which writes
//     queue in Go, and read-only readers), [DB.RunInTx] (the only way to
//     write; nested, a savepoint; reads with its context run in it), and
//     [Reader], the read-only view the sources hold.
//   - migrate.go and migrations/{postgres,sqlite}: embedded, forward-only SQL.
//   - tenants.go: tenants, connectors, tokens (stored as SHA-256 only);
//     their writes are [Tx] methods, which reconcile calls with an audit
//     event. When a token was last used is in token_usage (migration
//     0025), apart from tokens so that recording it empties no principal
//     cache; the request log's writer keeps it ([Tx.TouchTokens]).
//   - users.go, groups.go, members.go: SCIM resources. A row keeps the SCIM
//     document as JSON beside the columns that queries need; memberships are
//     rows, one per member; external IDs are kept per connector.
//   - query.go, filtersql.go: paging and SCIM filter → SQL through a fixed
//     attribute registry; values only ever travel as arguments. Totals come
//     from the page itself or from counts the database keeps (resource_counts,
//     migration 0005); index-paging walks seek by key from hints (query.go).
//   - audit.go: the append-only audit log.
//   - requestlog.go: the request log (migration 0018): each request of a
//     connector with its plans, appended in batches, listed newest first
//     by keyset, bounded by count and age by [Tx.PruneRequests];
//     [Reader.ConnectorRequestStats] counts a connector's recent ones.
//   - shadow.go: a shadow connector's store and log (migration 0022),
//     connectors.mode, written only by reconcile in shadow mode.
//   - sessions.go: sign-in sessions (migration 0009), found by the SHA-256
//     of the cookie's secret, which is never stored.
//   - guard.go: the deletion guard's counted events and held writes
//     (migration 0019); [Tx.LockConnector] serialises its check.
//   - errors.go: [ErrNotFound], [ErrStale], [*ConflictError] and friends,
//     mapped from pgx and SQLite errors.
//
// Every query takes a tenant: no read or write crosses tenants.
package store
