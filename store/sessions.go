package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Session is a person's sign-in session (JIT at login), as stored: the
// SHA-256 of the cookie's secret, never the secret itself.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID       int64  `bun:"id,pk,autoincrement"`
	Hash     []byte `bun:"hash"`
	TenantID int64  `bun:"tenant_id"`
	// UserPK is 0 once the user is deleted; UserID stays.
	UserPK int64  `bun:"user_pk,nullzero"`
	UserID string `bun:"user_id"`
	// ConnectorID is the OIDC connector that signed the person in (0: none).
	ConnectorID   int64      `bun:"connector_id,nullzero"`
	CreatedAt     time.Time  `bun:"created_at"`
	LastSeenAt    time.Time  `bun:"last_seen_at"`
	IdleExpiresAt time.Time  `bun:"idle_expires_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	EndedAt       *time.Time `bun:"ended_at"`
	EndReason     string     `bun:"end_reason,nullzero"`
}

// SessionUser is a session found by its hash with what deciding whether
// it still lets its person in takes: the tenant, and the user's status and
// access window as they are now. User is nil when the user was deleted.
type SessionUser struct {
	Session
	TenantName    string
	ConfigVersion int64
	ConnectorName string
	// ConnectorKind is the connector's kind: KindOIDC for a person's
	// sign-in, KindAdmin for a console session ("" when it is gone).
	ConnectorKind string
	User          *User
}

// SessionByHash returns the session whose secret has the given SHA-256,
// ended or not, with its tenant and user. An unknown hash is [ErrNotFound].
func (r reader) SessionByHash(ctx context.Context, hash []byte) (SessionUser, error) {
	var row struct {
		Session
		TenantName    string    `bun:"tenant_name"`
		ConfigVersion int64     `bun:"config_version"`
		ConnectorName string    `bun:"connector_name"`
		ConnectorKind string    `bun:"connector_kind"`
		UserFound     int64     `bun:"user_found,nullzero"`
		UserRealID    string    `bun:"user_real_id,nullzero"`
		UserName      string    `bun:"user_name,nullzero"`
		Status        string    `bun:"user_status,nullzero"`
		AccessStart   time.Time `bun:"user_access_start,nullzero"`
		AccessEnd     time.Time `bun:"user_access_end,nullzero"`
	}
	err := r.idb.NewSelect().Model(&row).
		ModelTableExpr("sessions AS s").
		ColumnExpr("s.*, n.name AS tenant_name, n.config_version, COALESCE(c.name, '') AS connector_name, COALESCE(c.kind, '') AS connector_kind").
		ColumnExpr("u.pk AS user_found, u.id AS user_real_id, u.user_name, u.status AS user_status").
		ColumnExpr("u.access_start AS user_access_start, u.access_end AS user_access_end").
		Join("JOIN tenants AS n ON n.id = s.tenant_id").
		Join("LEFT JOIN connectors AS c ON c.id = s.connector_id").
		Join("LEFT JOIN users AS u ON u.pk = s.user_pk AND u.deleted_at IS NULL").
		Where("s.hash = ?", hash).
		Scan(ctx)
	if err != nil {
		return SessionUser{}, mapError(err)
	}
	out := SessionUser{Session: row.Session, TenantName: row.TenantName, ConfigVersion: row.ConfigVersion, ConnectorName: row.ConnectorName, ConnectorKind: row.ConnectorKind}
	if row.UserFound != 0 {
		out.User = &User{PK: row.UserFound, TenantID: row.TenantID, ID: row.UserRealID, UserName: row.UserName,
			Status: row.Status, AccessStart: row.AccessStart, AccessEnd: row.AccessEnd}
	}
	return out, nil
}

// UserSessions lists the sessions of a user of the tenant, live or ended,
// newest first, at most limit of them.
func (r reader) UserSessions(ctx context.Context, tenantID int64, userID string, limit int) ([]Session, error) {
	if !ValidID(userID) {
		return nil, ErrNotFound
	}
	var out []Session
	err := r.idb.NewSelect().Model(&out).
		Where("s.tenant_id = ? AND s.user_id = ?", tenantID, userID).
		OrderExpr("s.id DESC").Limit(int64(limit)).Scan(ctx)
	return out, mapError(err)
}

// InsertSession stores a new session, setting its ID.
func (tx *Tx) InsertSession(ctx context.Context, s *Session) error {
	_, err := tx.idb.NewInsert().Model(s).Returning("id").Exec(ctx)
	return mapError(err)
}

// TouchSession records that a live session was used at, moving its idle
// expiry on to idleExpires.
func (tx *Tx) TouchSession(ctx context.Context, id int64, at, idleExpires time.Time) error {
	_, err := tx.idb.NewUpdate().Model((*Session)(nil)).
		Set("last_seen_at = ?", at).Set("idle_expires_at = ?", idleExpires).
		Where("id = ? AND ended_at IS NULL", id).Exec(ctx)
	return mapError(err)
}

// EndSession ends a live session and reports whether it was live.
func (tx *Tx) EndSession(ctx context.Context, id int64, at time.Time, reason string) (bool, error) {
	res, err := tx.idb.NewUpdate().Model((*Session)(nil)).
		Set("ended_at = ?", at).Set("end_reason = ?", reason).
		Where("id = ? AND ended_at IS NULL", id).Exec(ctx)
	if err != nil {
		return false, mapError(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// EndUserSessions ends every live session of a user, in one statement on
// the index of live sessions, and says how many it ended.
func (tx *Tx) EndUserSessions(ctx context.Context, userPK int64, at time.Time, reason string) (int, error) {
	res, err := tx.idb.NewUpdate().Model((*Session)(nil)).
		Set("ended_at = ?", at).Set("end_reason = ?", reason).
		Where("user_pk = ? AND ended_at IS NULL", userPK).Exec(ctx)
	if err != nil {
		return 0, mapError(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
