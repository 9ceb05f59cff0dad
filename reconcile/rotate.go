package reconcile

import (
	"context"
	"strconv"

	"github.com/scimd/scimd/store"
)

// RotateToken replaces the token with the given id by a new one of the
// same connector, in one transaction: the old token is revoked and the
// new one issued, with a "rotate" audit event naming by, the old id and
// the new. There is no grace: the old token opens nothing from the
// commit on (every server's principal cache drops it, migration 0008).
// For a rotation without downtime, issue a second token
// ([store.MaxActiveTokens] allows two), move the identity provider to it,
// then revoke the first. A revoked or unknown token is a [*StateError]
// or [store.ErrNotFound].
func (e *Engine) RotateToken(ctx context.Context, by store.Principal, id int64) (IssuedToken, error) {
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	secret, hash, hint := newToken()
	var out IssuedToken
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		old, err := tx.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		if err := mayAdminister(by, old.Tenant); err != nil {
			return err
		}
		if old.RevokedAt != nil {
			return &StateError{Msg: "token " + strconv.FormatInt(id, 10) + " is revoked already: create a new one instead"}
		}
		t, err := tx.AddToken(ctx, old.ConnectorID, hash, hint)
		if err != nil {
			return err
		}
		out = IssuedToken{Secret: secret, TokenInfo: store.TokenInfo{ID: t.ID, TenantID: old.TenantID, Tenant: old.Tenant,
			ConnectorID: old.ConnectorID, Connector: old.Connector, Hint: hint, CreatedAt: t.CreatedAt}}
		return audit(ctx, tx, by, old.TenantID, "rotate", "Token", strconv.FormatInt(id, 10), map[string]any{
			"before": map[string]any{"connector": old.Connector, "token": id, "active": true},
			"after":  map[string]any{"connector": old.Connector, "token": t.ID, "active": true, "revoked": id}})
	})
	return out, err
}
