package store

import (
	"context"
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// A deleted user leaves a tombstone: the SHA-256 of each key a sign-in
// matches by (migration 0012), so that a login of a person the identity
// provider deprovisioned is refused instead of creating them anew. Only
// hashes are kept: the values go with the user.

// UserNameKey, EmailKey and ExternalIDKey are the tombstone keys of a
// userName, an email and a connector's external ID.
func UserNameKey(userName string) []byte { return tombKey("userName", Fold(userName)) }
func EmailKey(email string) []byte       { return tombKey("email", Fold(email)) }
func ExternalIDKey(connectorID int64, value string) []byte {
	return tombKey("externalId "+strconv.FormatInt(connectorID, 10), value)
}

func tombKey(kind, value string) []byte {
	h := sha256.Sum256([]byte(kind + "\x00" + value))
	return h[:]
}

// BuryUser records the tombstone of user u, who is about to be deleted in
// this transaction: its userName, the given emails and every external ID
// connectors hold for it. Two statements: the external IDs, then one
// insert.
func (tx *Tx) BuryUser(ctx context.Context, u User, emails []string) error {
	var ext []struct {
		ConnectorID int64  `bun:"connector_id"`
		Value       string `bun:"value"`
	}
	if err := tx.idb.NewSelect().TableExpr("user_external_ids").Column("connector_id", "value").
		Where("user_pk = ?", u.PK).Scan(ctx, &ext); err != nil {
		return mapError(err)
	}
	keys := [][]byte{UserNameKey(u.UserName)}
	for _, e := range emails {
		keys = append(keys, EmailKey(e))
	}
	for _, x := range ext {
		keys = append(keys, ExternalIDKey(x.ConnectorID, x.Value))
	}
	type row struct {
		bun.BaseModel `bun:"table:user_tombstones"`
		TenantID      int64     `bun:"tenant_id"`
		KeyHash       []byte    `bun:"key_hash"`
		UserID        string    `bun:"user_id"`
		DeletedAt     time.Time `bun:"deleted_at"`
	}
	at := now()
	rows := make([]row, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		if !seen[string(k)] {
			seen[string(k)] = true
			rows = append(rows, row{TenantID: u.TenantID, KeyHash: k, UserID: u.ID, DeletedAt: at})
		}
	}
	_, err := tx.idb.NewInsert().Model(&rows).
		On("CONFLICT (tenant_id, key_hash) DO UPDATE").
		Set("user_id = EXCLUDED.user_id, deleted_at = EXCLUDED.deleted_at").
		Exec(ctx)
	return mapError(err)
}

// Buried reports whether any of keys is a tombstone of the tenant: a user
// with that userName, email or external ID was deleted and nobody live
// holds it now (the caller matched no live user first).
func (r reader) Buried(ctx context.Context, tenantID int64, keys [][]byte) (bool, error) {
	if len(keys) == 0 {
		return false, nil
	}
	list := make([]any, len(keys))
	for i, k := range keys {
		list[i] = k
	}
	found, err := r.idb.NewSelect().TableExpr("user_tombstones").
		Where("tenant_id = ? AND key_hash IN (?)", tenantID, bun.List(list)).
		Exists(ctx)
	return found, mapError(err)
}
