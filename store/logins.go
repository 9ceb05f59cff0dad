package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// LoginState is a browser login in flight (JIT at login): the
// authorization request scimd sent the browser to the provider with, kept
// until its callback uses it, once. The state and the browser's login
// cookie are kept as their SHA-256; the nonce and the PKCE verifier as
// they are, since the callback needs them back.
type LoginState struct {
	bun.BaseModel `bun:"table:login_states,alias:ls"`

	ID          int64      `bun:"id,pk,autoincrement"`
	StateHash   []byte     `bun:"state_hash"`
	BrowserHash []byte     `bun:"browser_hash"`
	TenantID    int64      `bun:"tenant_id"`
	ConnectorID int64      `bun:"connector_id"`
	Nonce       string     `bun:"nonce"`
	Verifier    string     `bun:"verifier"`
	ReturnTo    string     `bun:"return_to"`
	CreatedAt   time.Time  `bun:"created_at"`
	ExpiresAt   time.Time  `bun:"expires_at"`
	UsedAt      *time.Time `bun:"used_at"`
}

// InsertLoginState stores a login just started, setting its ID.
func (tx *Tx) InsertLoginState(ctx context.Context, s *LoginState) error {
	_, err := tx.idb.NewInsert().Model(s).Returning("id").Exec(ctx)
	return mapError(err)
}

// UseLoginState marks the login whose state has the given SHA-256 used at
// at, if no one used it before, and returns it as it was, with whether
// this call is the one that used it. Two callbacks racing on one state:
// one of them uses it, the other finds it used. An unknown hash is
// [ErrNotFound].
func (tx *Tx) UseLoginState(ctx context.Context, stateHash []byte, at time.Time) (LoginState, bool, error) {
	res, err := tx.idb.NewUpdate().Model((*LoginState)(nil)).
		Set("used_at = ?", at).
		Where("state_hash = ? AND used_at IS NULL", stateHash).Exec(ctx)
	if err != nil {
		return LoginState{}, false, mapError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return LoginState{}, false, err
	}
	var s LoginState
	if err := tx.idb.NewSelect().Model(&s).Where("state_hash = ?", stateHash).Scan(ctx); err != nil {
		return LoginState{}, false, mapError(err)
	}
	if n > 0 {
		s.UsedAt = nil // as it was
	}
	return s, n > 0, nil
}

// DeleteLoginStates deletes the logins that expired before before, used
// or not, and says how many.
func (tx *Tx) DeleteLoginStates(ctx context.Context, before time.Time) (int, error) {
	res, err := tx.idb.NewDelete().Model((*LoginState)(nil)).Where("expires_at < ?", before).Exec(ctx)
	if err != nil {
		return 0, mapError(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
