package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// newUserColumns are the users columns every create writes (CreateUser,
// CreateUsers and the prepared SQLite insert), in the order of
// [newUserValues]: one list, so that a new column cannot be left out of one
// of the three.
const newUserColumns = `tenant_id, id, user_name, user_name_folded, display_name, display_name_folded,
	active, status, access_start, access_end, guest, attrs, version, created_at, updated_at, password_hash`

// newUserParams is one row of placeholders for newUserColumns.
var newUserParams = "(?" + strings.Repeat(", ?", strings.Count(newUserColumns, ",")) + ")"

// newUserValues are u's values of newUserColumns, attrs its stored JSON.
func newUserValues(u *User, attrs string) []any {
	return []any{u.TenantID, u.ID, u.UserName, u.UserNameFolded, nullIfZero(u.DisplayName), nullIfZero(u.DisplayFolded),
		u.Active, u.Status, nullIfZero(u.AccessStart), nullIfZero(u.AccessEnd), u.Guest, attrs, u.Version, u.CreatedAt, u.UpdatedAt,
		nullIfZero(u.PasswordHash)}
}

// PrepareNewUser gives u, a user to create with [Tx.CreateUsers], its id,
// version 1, timestamps, folded columns and status, as [Tx.CreateUser]
// does when it writes: the caller can answer with them before the write.
func PrepareNewUser(u *User) { u.fresh(now()) }

// TakenUserNames returns which of the folded userNames a user of the
// tenant holds already.
func (r reader) TakenUserNames(ctx context.Context, tenantID int64, folded []string) (map[string]bool, error) {
	taken := map[string]bool{}
	if len(folded) == 0 {
		return taken, nil
	}
	var names []string
	err := r.idb.NewSelect().TableExpr("users AS u").Column("user_name_folded").
		Where("u.tenant_id = ? AND u.user_name_folded IN (?) AND "+live, tenantID, bun.List(folded)).
		Scan(ctx, &names)
	for _, n := range names {
		taken[n] = true
	}
	return taken, mapError(err)
}

// CreateUsers is [Tx.CreateUser] for many users of one tenant, made by
// one connector with one configuration version, each prepared with
// [PrepareNewUser]: every row that comes with a user (link, external ID,
// attribute sources, audit event) as CreateUser writes it, for all of
// them in one statement on PostgreSQL and in one script on SQLite. It
// writes all of the users or fails: a userName taken is a
// [*ConflictError], a configuration that moved [ErrStale]; run it in a
// savepoint ([DB.RunInTx] inside another) so that a failure leaves the
// transaction usable, and roll back on any error.
func (tx *Tx) CreateUsers(ctx context.Context, users []*User, with []NewUser) error {
	if len(users) == 0 {
		return nil
	}
	if len(with) != len(users) {
		return fmt.Errorf("CreateUsers: %d users, %d NewUsers", len(users), len(with))
	}
	tenantID, connectorID, version := users[0].TenantID, with[0].ConnectorID, with[0].ConfigVersion
	var userRows, eventRows, extRows, srcRows []string
	var userArgs, eventArgs, extArgs, srcArgs []any
	for i, u := range users {
		w := with[i]
		if u.ID == "" || u.TenantID != tenantID || w.ConnectorID != connectorID || w.ConfigVersion != version {
			return fmt.Errorf("CreateUsers: user %d is not prepared, or of another tenant, connector or configuration", i)
		}
		attrs, detail, personal, err := newUserJSON(u, w)
		if err != nil {
			return err
		}
		e := w.Event
		userRows = append(userRows, newUserParams)
		userArgs = append(userArgs, newUserValues(u, attrs)...)
		eventRows = append(eventRows, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		eventArgs = append(eventArgs, e.TenantID, e.At, e.Source, nullIfZero(e.ConnectorID), e.Action, e.ResourceType, e.ResourceID, detail, personal)
		if u.ExternalID != "" {
			extRows = append(extRows, "(?, ?)")
			extArgs = append(extArgs, u.ID, u.ExternalID)
		}
		for _, s := range w.Sources {
			srcRows = append(srcRows, "(?, ?, ?, ?, ?)")
			srcArgs = append(srcArgs, u.ID, s.Attribute, s.Source, s.ConnectorID, s.Rule)
		}
	}
	raw := func(query string, args ...any) string { return tx.idb.NewRaw(query, args...).String() }
	insertUsers := raw("INSERT INTO users ("+newUserColumns+") VALUES "+strings.Join(userRows, ", "), userArgs...)
	insertEvents := raw("INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail, personal) VALUES "+
		strings.Join(eventRows, ", "), eventArgs...)
	// The users are created only while the configuration they were mapped
	// with is current.
	current := raw("EXISTS (SELECT 1 FROM tenants WHERE id = ? AND config_version = ?)", tenantID, version)
	if tx.dialect == SQLite {
		return tx.createUsersSQLite(ctx, users, with, insertUsers, insertEvents, current)
	}
	// The rows that follow take each user's pk from the inserted rows, u,
	// joined on the id.
	follow := []string{
		raw("INSERT INTO user_links (connector_id, user_pk, linked_at) SELECT ?, u.pk, u.created_at FROM u", connectorID),
		insertEvents,
	}
	if len(extRows) > 0 {
		follow = append(follow, raw("INSERT INTO user_external_ids (connector_id, user_pk, value) SELECT ?, u.pk, v.column2 FROM u"+
			" JOIN (VALUES "+strings.Join(extRows, ", ")+") AS v ON v.column1 = CAST(u.id AS text)", append([]any{connectorID}, extArgs...)...))
	}
	if len(srcRows) > 0 {
		follow = append(follow, raw("INSERT INTO user_attribute_sources (user_pk, attribute, source, connector_id, rule, set_at) "+
			"SELECT u.pk, v.column2, v.column3, v.column4, v.column5, u.created_at FROM u"+
			" JOIN (VALUES "+strings.Join(srcRows, ", ")+") AS v ON v.column1 = CAST(u.id AS text)", srcArgs...))
	}
	// Otherwise the last statement reads no row.
	var b strings.Builder
	b.WriteString("WITH u AS (" + insertUsers + " RETURNING pk, id, created_at)")
	for i, f := range follow {
		fmt.Fprintf(&b, ", q%d AS (%s)", i, f)
	}
	b.WriteString(" SELECT pk, id FROM u WHERE " + current)
	query := b.String()
	rows, err := tx.idb.QueryContext(ctx, query)
	if err != nil {
		return mapError(err)
	}
	defer rows.Close()
	pks := make(map[string]int64, len(users))
	for rows.Next() {
		var pk int64
		var id string
		if err := rows.Scan(&pk, &id); err != nil {
			return mapError(err)
		}
		pks[id] = pk
	}
	if err := rows.Err(); err != nil {
		return mapError(err)
	}
	if len(pks) != len(users) {
		return ErrStale
	}
	for _, u := range users {
		u.PK = pks[u.ID]
	}
	return nil
}

// createUsersSQLite is CreateUsers on SQLite, which has no data-modifying
// CTEs: the users go in first, returning their pks, and the rows that come
// with them follow in one script with the pks as values. (Joining each
// follower's VALUES list to the new users on their ids instead, as
// PostgreSQL does, costs SQLite a nested loop of a million comparisons
// for a thousand users, since a VALUES list has no index.) SQLite has one
// writer, which this transaction holds, so the configuration cannot move
// between the check and the insert.
func (tx *Tx) createUsersSQLite(ctx context.Context, users []*User, with []NewUser, insertUsers, insertEvents, current string) error {
	var ok bool
	if err := tx.idb.NewRaw("SELECT "+current).Scan(ctx, &ok); err != nil {
		return mapError(err)
	}
	if !ok {
		return ErrStale
	}
	rows, err := tx.idb.QueryContext(ctx, insertUsers+" RETURNING pk, id")
	if err != nil {
		return mapError(err)
	}
	pks := make(map[string]int64, len(users))
	for rows.Next() {
		var pk int64
		var id string
		if err := rows.Scan(&pk, &id); err != nil {
			rows.Close()
			return mapError(err)
		}
		pks[id] = pk
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mapError(err)
	}
	if len(pks) != len(users) {
		return fmt.Errorf("CreateUsers: %d users inserted, %d returned", len(users), len(pks))
	}
	var linkRows, extRows, srcRows []string
	var linkArgs, extArgs, srcArgs []any
	for i, u := range users {
		u.PK = pks[u.ID]
		w := with[i]
		linkRows = append(linkRows, "(?, ?, ?)")
		linkArgs = append(linkArgs, w.ConnectorID, u.PK, u.CreatedAt)
		if u.ExternalID != "" {
			extRows = append(extRows, "(?, ?, ?)")
			extArgs = append(extArgs, w.ConnectorID, u.PK, u.ExternalID)
		}
		for _, s := range w.Sources {
			srcRows = append(srcRows, "(?, ?, ?, ?, ?, ?)")
			srcArgs = append(srcArgs, u.PK, s.Attribute, s.Source, s.ConnectorID, s.Rule, u.CreatedAt)
		}
	}
	raw := func(query string, args ...any) string { return tx.idb.NewRaw(query, args...).String() }
	script := []string{
		raw("INSERT INTO user_links (connector_id, user_pk, linked_at) VALUES "+strings.Join(linkRows, ", "), linkArgs...),
		insertEvents,
	}
	if len(extRows) > 0 {
		script = append(script, raw("INSERT INTO user_external_ids (connector_id, user_pk, value) VALUES "+strings.Join(extRows, ", "), extArgs...))
	}
	if len(srcRows) > 0 {
		script = append(script, raw("INSERT INTO user_attribute_sources (user_pk, attribute, source, connector_id, rule, set_at) VALUES "+
			strings.Join(srcRows, ", "), srcArgs...))
	}
	_, err = tx.idb.ExecContext(ctx, strings.Join(script, ";\n"))
	return mapError(err)
}
