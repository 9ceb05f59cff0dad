package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// User is a user row. Attrs is the SCIM document (core and extension
// attributes, without id, externalId, meta and groups); UserName,
// DisplayName and Active repeat what queries and indexes need from it.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	PK             int64  `bun:"pk,pk,autoincrement"`
	TenantID       int64  `bun:"tenant_id"`
	ID             string `bun:"id"`
	UserName       string `bun:"user_name"`
	UserNameFolded string `bun:"user_name_folded"`
	DisplayName    string `bun:"display_name,nullzero"`
	DisplayFolded  string `bun:"display_name_folded,nullzero"`
	Active         bool   `bun:"active"`
	// Status is the account's state: StatusPending, StatusActive or
	// StatusDisabled; "" on insert means active or disabled as Active says.
	Status      string    `bun:"status"`
	AccessStart time.Time `bun:"access_start,nullzero"`
	AccessEnd   time.Time `bun:"access_end,nullzero"`
	// DeletedAt is when the user was soft-deleted (SCIM DELETE); zero
	// for a live user. Every read but the ones named for it (AnyUser,
	// AdminUsers) leaves deleted users out.
	DeletedAt time.Time `bun:"deleted_at,nullzero"`
	// Guest is a guest account (000 seed): limited to exactly one group.
	Guest bool `bun:"guest"`
	// Local is a local (break-glass) account, managed only in scimd: no
	// connector may match, change, disable or delete it. Only
	// [Tx.SetUserLocal] writes it; UpdateUser leaves it as stored.
	Local     bool           `bun:"local"`
	Attrs     map[string]any `bun:"attrs,type:jsonb"`
	Version   int64          `bun:"version"`
	CreatedAt time.Time      `bun:"created_at"`
	UpdatedAt time.Time      `bun:"updated_at"`

	// ExternalID is the reading connector's external ID for this user;
	// each connector has its own.
	ExternalID string `bun:"external_id,scanonly"`
	// Groups are the groups that hold the user directly, when the query
	// asked for them (Query.Groups).
	Groups GroupRefs `bun:"user_groups,scanonly"`
	// RawAttrs is the stored document as the database returns it (JSON
	// text, PostgreSQL's with its spaces), instead of Attrs, when the
	// query asked for it (Query.RawAttrs).
	RawAttrs []byte `bun:"attrs_raw,scanonly"`
	// PasswordHash is a password hash to store with the user (a CSV
	// import's, carried over from another system): written by CreateUser,
	// CreateUsers and SetPasswordHash when not empty, never read back into
	// a User, so that no response can show it.
	PasswordHash string `bun:"-"`
	// StoredHash swallows the column when a query reads u.*, so that
	// reads take every other column as the table grows and the stored
	// hash is never kept.
	StoredHash discarded `bun:"password_hash,scanonly" json:"-"`
}

// discarded is a column read and thrown away.
type discarded struct{}

// Scan keeps nothing.
func (*discarded) Scan(any) error { return nil }

// userColumnsRaw are the columns a SCIM response shows, with attrs read
// as attrs_raw, for Query.RawAttrs.
const userColumnsRaw = "u.pk, u.tenant_id, u.id, u.attrs AS attrs_raw, u.version, u.created_at, u.updated_at, " +
	"u.active, u.status, u.access_start, u.access_end"

// Account states (User.Status).
const (
	StatusPending  = "pending"
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// ActiveAt reports whether u counts as active at now, which is what SCIM
// shows as active: the source's active, status active (not disabled, not
// pending activation), and now inside the access window [AccessStart,
// AccessEnd). It is computed at read time, so a user whose window opens
// comes back on their own; the filter "active eq true" tests the same
// condition in SQL (activeSQL).
func (u *User) ActiveAt(now time.Time) bool {
	return u.Active && u.Status == StatusActive &&
		(u.AccessStart.IsZero() || !now.Before(u.AccessStart)) &&
		(u.AccessEnd.IsZero() || now.Before(u.AccessEnd))
}

// fresh makes u a new row created at: a new id, version 1, its folded
// columns and its status.
func (u *User) fresh(at time.Time) {
	u.ID = uuid.NewString()
	u.UserNameFolded = Fold(u.UserName)
	u.DisplayFolded = Fold(u.DisplayName)
	u.defaultStatus()
	u.Version, u.CreatedAt, u.UpdatedAt = 1, at, at
}

func (u *User) defaultStatus() {
	if u.Status == "" {
		u.Status = StatusActive
		if !u.Active {
			u.Status = StatusDisabled
		}
	}
}

// Fold is the case folding behind every case-insensitive comparison in the
// store (userName, displayName, caseExact=false filters): Unicode lower
// case, as PostgreSQL's lower() does. Folded columns are folded here in Go
// and SQLite gets the same function as scimd_fold, since its own lower()
// folds only ASCII.
func Fold(s string) string { return strings.ToLower(s) }

// ValidID reports whether id can name a user or group. Ids are UUIDs; any
// other id names nothing, and saying so early keeps PostgreSQL from
// rejecting the query.
func ValidID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// User returns a user of the tenant by SCIM id, with connectorID's external
// ID. An unknown id, or a soft-deleted user's, is [ErrNotFound].
func (r reader) User(ctx context.Context, tenantID, connectorID int64, id string) (User, error) {
	return r.user(ctx, r.selectUsers, tenantID, connectorID, id)
}

// AnyUser is [reader.User] that finds soft-deleted users too (their
// DeletedAt is set): for restore and erase.
func (r reader) AnyUser(ctx context.Context, tenantID, connectorID int64, id string) (User, error) {
	return r.user(ctx, r.selectAnyUsers, tenantID, connectorID, id)
}

func (r reader) user(ctx context.Context, sel func(any, int64) *bun.SelectQuery, tenantID, connectorID int64, id string) (User, error) {
	if !ValidID(id) {
		return User{}, ErrNotFound
	}
	var u User
	err := r.locked(sel(&u, connectorID), "u").
		Where("u.tenant_id = ? AND u.id = ?", tenantID, id).
		Scan(ctx)
	return u, mapError(err)
}

// Users lists the users of q.TenantID that match q.Filter, one page of
// them, with the total number of matches.
func (r reader) Users(ctx context.Context, q Query) (Page[User], error) {
	res := usersTable.with(q.Extensions)
	where, args, err := r.translate(res, q)
	if err != nil {
		return Page[User]{}, err
	}
	base, cols := r.usersBase(res, q, where, args)
	return page(ctx, r, res, q, cols, resultKey(res, q, where, args), base, func(u User) int64 { return u.PK })
}

// usersBase returns a builder of SELECTs over the tenant's users that match
// the translated filter, and the columns of a page of them: the row, the
// connector's external ID and, if q asks, the user's groups as a JSON
// array of [id, displayName] pairs, in the order UserGroups reads them.
func (r reader) usersBase(res resource, q Query, where string, args []any) (func(cols string) *bun.SelectQuery, string) {
	join, external := r.externalIDs(res, q, where, "user_external_ids", "user_pk")
	cols := "u.*, " + external
	if q.RawAttrs {
		cols = userColumnsRaw + ", " + external
	}
	if q.Groups && r.dialect == Postgres {
		cols += `, (SELECT COALESCE(json_agg(json_build_array(ug.id, ug.display_name) ORDER BY ug.display_name_folded, ug.pk), '[]')
			FROM group_users AS m JOIN groups AS ug ON ug.pk = m.group_pk WHERE m.user_pk = u.pk) AS user_groups`
	} else if q.Groups {
		cols += `, (SELECT json_group_array(json_array(ug.id, ug.display_name)) FROM (SELECT ug.id, ug.display_name
			FROM group_users AS m JOIN groups AS ug ON ug.pk = m.group_pk WHERE m.user_pk = u.pk
			ORDER BY ug.display_name_folded, ug.pk) AS ug) AS user_groups`
	}
	table := r.pageTable("users", "u", q, where)
	return func(cols string) *bun.SelectQuery {
		sel := r.idb.NewSelect().TableExpr(table).ColumnExpr(cols).Where(r.tenantIs("u"), q.TenantID).Where(live)
		if join != "" {
			sel = sel.Join(join)
		}
		if where != "" {
			sel = sel.Where(where, args...)
		}
		return sel
	}, cols
}

// selectUsers selects live users (not soft-deleted), with connectorID's
// external ID.
func (r reader) selectUsers(model any, connectorID int64) *bun.SelectQuery {
	return r.selectAnyUsers(model, connectorID).Where(live)
}

// selectAnyUsers is selectUsers with the soft-deleted users too.
func (r reader) selectAnyUsers(model any, connectorID int64) *bun.SelectQuery {
	return r.idb.NewSelect().Model(model).
		ColumnExpr("u.*, x.value AS external_id").
		Join("LEFT JOIN user_external_ids AS x ON x.user_pk = u.pk AND x.connector_id = ?", connectorID)
}

// live is the condition that keeps a query over users AS u to the users
// that are not soft-deleted. The unique userName index is partial on it
// (migration 0013), so a lookup by userName must say it to use the index.
const live = "u.deleted_at IS NULL"

// GroupRef names a group a user belongs to.
type GroupRef struct {
	UserPK      int64  `bun:"user_pk"`
	ID          string `bun:"id"`
	DisplayName string `bun:"display_name"`
}

// GroupRefs are a user's groups as a page query reads them (Query.Groups).
type GroupRefs []GroupRef

// Scan reads the JSON array of [id, displayName] pairs of userColumns.
func (g *GroupRefs) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
		*g = nil
		return nil
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		return fmt.Errorf("groups: unexpected %T", src)
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	out := make(GroupRefs, len(pairs))
	for i, p := range pairs {
		out[i] = GroupRef{ID: p[0], DisplayName: p[1]}
	}
	*g = out
	return nil
}

// UserGroups returns, for each of the users, the groups that hold it
// directly, in one query for the whole page.
func (r reader) UserGroups(ctx context.Context, userPKs []int64) (map[int64][]GroupRef, error) {
	return r.userGroups(ctx, userPKs, false)
}

// InsertUser creates u, giving it a new id, version 1 and timestamps. A
// userName already taken in the tenant (in any case) is a [*ConflictError].
func (tx *Tx) InsertUser(ctx context.Context, u *User) error {
	u.fresh(now())
	_, err := tx.idb.NewInsert().Model(u).Returning("pk").Exec(ctx)
	return mapError(err)
}

// NewUser is what comes with a user's creation, written with its row: the
// connector that creates it (which then manages it, and gives it the
// user's ExternalID), who set which attribute, and the audit event.
type NewUser struct {
	ConnectorID int64
	Sources     []AttributeSource
	// Event is the creation's audit event; its ResourceID is set to the
	// new user's id.
	Event *AuditEvent
	// ConfigVersion is the version of the tenant's configuration the user
	// was mapped with: the user is created only while it is current, else
	// CreateUser is [ErrStale] and writes nothing.
	ConfigVersion int64
}

// CreateUser is [Tx.InsertUser] with everything that comes with a new
// user, in one statement on PostgreSQL (one round trip: the other rows go
// in through data-modifying CTEs on the inserted row) and in one script of
// statements on SQLite, which has no such CTEs. A userName already taken
// is a [*ConflictError]. Being one statement on PostgreSQL, it may run
// outside a transaction ([DB.RunAtomic]).
func (tx *Tx) CreateUser(ctx context.Context, u *User, with NewUser) error {
	u.fresh(now())
	attrs, detail, personal, err := newUserJSON(u, with)
	if err != nil {
		return err
	}
	e := with.Event
	if stx, prep, ok := tx.preparedIn(); ok {
		return tx.createPrepared(ctx, stx, prep, u, with, attrs, detail, personal)
	}
	insert := func(suffix string) *bun.RawQuery {
		return tx.idb.NewRaw("INSERT INTO users ("+newUserColumns+") "+newUserSelect+suffix,
			append(newUserValues(u, attrs), u.TenantID, with.ConfigVersion)...)
	}
	// The rows that follow take the user's pk from u: on PostgreSQL the
	// inserted row, on SQLite the row found by its new id.
	from, pk := "u", []any(nil)
	if tx.dialect == SQLite {
		from, pk = "(SELECT pk FROM users WHERE id = ?) AS u", []any{u.ID}
	}
	var follow []*bun.RawQuery
	// Each ends in FROM or in a FROM list, which u ends.
	add := func(query string, args ...any) {
		if !strings.HasSuffix(query, ",") {
			query += " FROM"
		}
		follow = append(follow, tx.idb.NewRaw(query+" "+from, append(args, pk...)...))
	}
	add("INSERT INTO user_links (connector_id, user_pk, linked_at) SELECT ?, pk, ?", with.ConnectorID, u.CreatedAt)
	if u.ExternalID != "" {
		add("INSERT INTO user_external_ids (connector_id, user_pk, value) SELECT ?, pk, ?", with.ConnectorID, u.ExternalID)
	}
	if len(with.Sources) > 0 {
		rows := make([]string, len(with.Sources))
		args := []any{u.CreatedAt}
		for i, s := range with.Sources {
			rows[i] = "(?, ?, ?, ?)"
			args = append(args, s.Attribute, s.Source, s.ConnectorID, s.Rule)
		}
		add("INSERT INTO user_attribute_sources (user_pk, attribute, source, connector_id, rule, set_at) "+
			"SELECT pk, v.column1, v.column2, v.column3, v.column4, ? FROM (VALUES "+strings.Join(rows, ", ")+") AS v,", args...)
	}
	add("INSERT INTO audit_events (tenant_id, at, source, connector_id, action, resource_type, resource_id, detail, personal) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?",
		e.TenantID, e.At, e.Source, nullIfZero(e.ConnectorID), e.Action, e.ResourceType, e.ResourceID, detail, personal)
	if tx.dialect == SQLite {
		// One call runs the script: the driver executes its statements in
		// turn, and answers with the rows of the last.
		script := []string{insert("").String()}
		for _, f := range follow {
			script = append(script, f.String())
		}
		script = append(script, tx.idb.NewRaw("SELECT pk FROM users WHERE id = ?", u.ID).String())
		return created(tx.idb.QueryRowContext(ctx, strings.Join(script, ";\n")).Scan(&u.PK))
	}
	q := tx.idb.NewSelect().With("u", insert(" RETURNING pk"))
	for i, f := range follow {
		q = q.With(fmt.Sprintf("q%d", i), f)
	}
	return created(q.TableExpr("u").Column("pk").Scan(ctx, &u.PK))
}

// createPrepared is CreateUser on SQLite with its prepared statements:
// the user's row, whose pk the rest take, then its link, external ID,
// attribute sources and audit event, each its own bound statement.
func (tx *Tx) createPrepared(ctx context.Context, stx *sql.Tx, prep *prepared, u *User, with NewUser, attrs, detail string, personal any) error {
	d, e := tx.idb.Dialect(), with.Event
	err := prep.queryRow(ctx, stx, d, prep.user, append(newUserValues(u, attrs), u.TenantID, with.ConfigVersion)...).Scan(&u.PK)
	if err != nil {
		return created(err)
	}
	if err := prep.exec(ctx, stx, d, prep.link, with.ConnectorID, u.PK, u.CreatedAt); err != nil {
		return mapError(err)
	}
	if u.ExternalID != "" {
		if err := prep.exec(ctx, stx, d, prep.externalID, with.ConnectorID, u.PK, u.ExternalID); err != nil {
			return mapError(err)
		}
	}
	if len(with.Sources) > 0 {
		sources, err := json.Marshal(with.Sources)
		if err != nil {
			return fmt.Errorf("attribute sources: %w", err)
		}
		if err := prep.exec(ctx, stx, d, prep.source, u.PK, u.CreatedAt, string(sources)); err != nil {
			return mapError(err)
		}
	}
	return mapError(prep.exec(ctx, stx, d, prep.audit,
		e.TenantID, e.At, e.Source, nullIfZero(e.ConnectorID), e.Action, e.ResourceType, e.ResourceID, detail, personal))
}

// newUserJSON sets the new user u's event's resource and time, and returns
// the JSON of u's document and of the event's detail and personal values
// (NULL when there are none), kept apart as AppendAudit keeps them.
func newUserJSON(u *User, with NewUser) (attrs, detail string, personal any, err error) {
	e := with.Event
	e.ResourceID, e.At = u.ID, u.CreatedAt
	a, err := json.Marshal(u.Attrs)
	if err != nil {
		return "", "", nil, fmt.Errorf("user attributes: %w", err)
	}
	row := *e
	row.split()
	d, err := json.Marshal(row.Detail)
	if err != nil {
		return "", "", nil, fmt.Errorf("audit detail: %w", err)
	}
	if row.Personal != nil {
		b, err := json.Marshal(row.Personal)
		if err != nil {
			return "", "", nil, fmt.Errorf("audit detail: %w", err)
		}
		personal = string(b)
	}
	return string(a), string(d), personal, nil
}

// created maps CreateUser's error: no row means the configuration moved.
func created(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrStale
	}
	return mapError(err)
}

// nullIfZero is v, or NULL for its zero value (bun's nullzero).
func nullIfZero[T comparable](v T) any {
	var zero T
	if z, ok := any(v).(interface{ IsZero() bool }); ok && z.IsZero() || v == zero {
		return nil
	}
	return v
}

// InsertUsers creates many users in few statements (a thousand rows
// each), as InsertUser does one by one: for imports and seeding.
func (tx *Tx) InsertUsers(ctx context.Context, users []User) error {
	at := now()
	for i := range users {
		users[i].fresh(at)
	}
	for part := range slices.Chunk(users, chunk) {
		if _, err := tx.idb.NewInsert().Model(&part).Returning("pk").Exec(ctx); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// UpdateUser writes u over the stored row if the row is still at
// u.Version, and moves u to the next version. A row that moved on is
// [ErrStale]; a missing one is [ErrNotFound].
func (tx *Tx) UpdateUser(ctx context.Context, u *User) error {
	u.UserNameFolded = Fold(u.UserName)
	u.DisplayFolded = Fold(u.DisplayName)
	u.defaultStatus()
	u.UpdatedAt = now()
	res, err := tx.idb.NewUpdate().Model(u).
		Column("user_name", "user_name_folded", "display_name", "display_name_folded", "active",
			"status", "access_start", "access_end", "guest", "attrs", "updated_at").
		Set("version = version + 1").
		Where("pk = ? AND version = ?", u.PK, u.Version).
		Exec(ctx)
	if err := checkOne(res, err, ErrStale); err != nil {
		return err
	}
	u.Version++
	return nil
}

// SetUserLocal marks user userPK local (a break-glass account) or not,
// moving its version on. A missing user is [ErrNotFound].
func (tx *Tx) SetUserLocal(ctx context.Context, userPK int64, local bool) error {
	res, err := tx.idb.NewRaw(`UPDATE users SET "local" = ?, version = version + 1, updated_at = ? WHERE pk = ? AND deleted_at IS NULL`,
		local, now(), userPK).Exec(ctx)
	return checkOne(res, err, ErrNotFound)
}

// LocalUsers returns the local users among the live users pks of the
// tenant (their key, id and userName), in key order: a query per thousand
// users, by primary key.
func (r reader) LocalUsers(ctx context.Context, tenantID int64, pks []int64) ([]User, error) {
	var out []User
	for part := range slices.Chunk(pks, chunk) {
		var us []User
		err := r.idb.NewSelect().Model(&us).ColumnExpr(`u.pk, u.id, u.user_name, u."local"`).
			Where(`u.tenant_id = ? AND u.pk IN (?) AND u."local" AND `+live, tenantID, bun.List(part)).
			OrderExpr("u.pk").Scan(ctx)
		if err != nil {
			return nil, mapError(err)
		}
		out = append(out, us...)
	}
	return out, nil
}

// SetPasswordHash stores a password hash for a user (see
// [User.PasswordHash]); "" leaves the stored one.
func (tx *Tx) SetPasswordHash(ctx context.Context, userPK int64, hash string) error {
	if hash == "" {
		return nil
	}
	_, err := tx.idb.NewRaw("UPDATE users SET password_hash = ? WHERE pk = ?", hash, userPK).Exec(ctx)
	return mapError(err)
}

// SoftDeleteUser marks a live user deleted at at: from then on every read
// but AnyUser leaves it out, and its userName is free. It removes the
// user's roles, groups and group memberships (a restored user comes back
// without them, 000 seed) and moves its version on; the org unit, external
// IDs, links and attribute sources stay, for a restore: the org unit's
// administrators still find the deleted user, and may restore them. A user not live is [ErrNotFound].
func (tx *Tx) SoftDeleteUser(ctx context.Context, pk int64, at time.Time) error {
	res, err := tx.idb.NewUpdate().TableExpr("users AS u").
		Set("deleted_at = ?, updated_at = ?, version = version + 1", at, at).
		Where("pk = ? AND "+live, pk).Exec(ctx)
	if err := checkOne(res, err, ErrNotFound); err != nil {
		return err
	}
	if err := tx.membersLeave(ctx, pk, at); err != nil {
		return err
	}
	if _, err := tx.idb.NewDelete().TableExpr("user_grants").Where("user_pk = ? AND kind <> ?", pk, GrantOrgUnit).Exec(ctx); err != nil {
		return mapError(err)
	}
	_, err = tx.idb.NewDelete().TableExpr("group_users").Where("user_pk = ?", pk).Exec(ctx)
	return mapError(err)
}

// RestoreUser makes a soft-deleted user live again, with status, at at.
// A userName a live user took meanwhile is a [*ConflictError] (the unique
// index); a user not deleted is [ErrNotFound].
func (tx *Tx) RestoreUser(ctx context.Context, pk int64, status string, at time.Time) error {
	res, err := tx.idb.NewUpdate().TableExpr("users AS u").
		Set("deleted_at = NULL, status = ?, updated_at = ?, version = version + 1", status, at).
		Where("pk = ? AND u.deleted_at IS NOT NULL", pk).Exec(ctx)
	return checkOne(res, err, ErrNotFound)
}

// membersLeave moves the version and lastModified of every group the user
// is a direct member of, before the user leaves them: the group's members
// change, so a client holding its ETag must see it.
func (tx *Tx) membersLeave(ctx context.Context, userPK int64, at time.Time) error {
	_, err := tx.idb.NewUpdate().TableExpr("groups").Set("version = version + 1, updated_at = ?", at).
		Where("pk IN (SELECT group_pk FROM group_users WHERE user_pk = ? AND direct)", userPK).Exec(ctx)
	return mapError(err)
}

// DeleteUser deletes a user's row for good (erase); its memberships and
// external IDs go with it.
func (tx *Tx) DeleteUser(ctx context.Context, pk int64) error {
	if err := tx.membersLeave(ctx, pk, now()); err != nil {
		return err
	}
	res, err := tx.idb.NewDelete().Model((*User)(nil)).Where("pk = ?", pk).Exec(ctx)
	return checkOne(res, err, ErrNotFound)
}

// SetUserExternalID sets the connector's external ID for a user; "" removes it.
func (tx *Tx) SetUserExternalID(ctx context.Context, connectorID, userPK int64, value string) error {
	return tx.setExternalID(ctx, "user_external_ids", "user_pk", connectorID, userPK, value)
}

func (tx *Tx) setExternalID(ctx context.Context, table, col string, connectorID, pk int64, value string) error {
	_, err := tx.idb.NewDelete().TableExpr(table).
		Where("connector_id = ? AND ? = ?", connectorID, bun.Ident(col), pk).Exec(ctx)
	if err != nil || value == "" {
		return mapError(err)
	}
	_, err = tx.idb.NewRaw("INSERT INTO ? (connector_id, ?, value) VALUES (?, ?, ?)",
		bun.Ident(table), bun.Ident(col), connectorID, pk, value).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set external id: %w", mapError(err))
	}
	return nil
}

// checkOne turns a write's result into none when it touched a row, and
// into none0 when it touched none.
func checkOne(res sql.Result, err, none0 error) error {
	if err != nil {
		return mapError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none0
	}
	return nil
}
