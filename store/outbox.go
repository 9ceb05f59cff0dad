package store

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Message is a mail in the outbox: written in the transaction of the
// change that causes it ([Tx.Enqueue]), delivered later by a worker
// ([DB.ClaimMessages], [DB.MarkSent], [DB.MarkFailed]).
type Message struct {
	bun.BaseModel `bun:"table:outbox,alias:o"`

	ID        int64  `bun:"id,pk,autoincrement"`
	TenantID  int64  `bun:"tenant_id"`
	Kind      string `bun:"kind"` // MessageActivation, MessageImportSummary
	Recipient string `bun:"recipient"`
	Subject   string `bun:"subject"`
	// Body is plain text. A sent message's body is cleared: an
	// activation's holds a live link.
	Body  string `bun:"body"`
	State string `bun:"state"` // MessagePending, MessageSent, MessageFailed
	// Attempts counts the claims, so the sends tried.
	Attempts      int        `bun:"attempts"`
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	LastError     string     `bun:"last_error"`
	CreatedAt     time.Time  `bun:"created_at"`
	SentAt        *time.Time `bun:"sent_at"`
}

// Message kinds and states.
const (
	MessageActivation    = "activation"
	MessageImportSummary = "import_summary"
	// MessageHeld tells a connector's deletion guard's addresses that
	// writes are held (reconcile/guard.go).
	MessageHeld = "held"

	MessagePending = "pending"
	MessageSent    = "sent"
	MessageFailed  = "failed"
)

// Activation is a one-time activation link's token, of which only the
// SHA-256 is kept.
type Activation struct {
	TokenHash []byte
	TenantID  int64
	UserPK    int64
	ExpiresAt time.Time
}

// Enqueue stores activation tokens and messages, pending and due now, in
// one statement (a data-modifying CTE on PostgreSQL, one script on
// SQLite) whatever their number: a load's batch of a thousand new users
// costs one round trip.
func (tx *Tx) Enqueue(ctx context.Context, tokens []Activation, msgs []Message) error {
	if len(tokens) == 0 && len(msgs) == 0 {
		return nil
	}
	at := now()
	raw := func(query string, args ...any) string { return tx.idb.NewRaw(query, args...).String() }
	var stmts []string
	if len(tokens) > 0 {
		rows, args := make([]string, len(tokens)), make([]any, 0, 5*len(tokens))
		for i, t := range tokens {
			rows[i] = "(?, ?, ?, ?, ?)"
			args = append(args, t.TokenHash, t.TenantID, t.UserPK, at, t.ExpiresAt.UTC())
		}
		stmts = append(stmts, raw("INSERT INTO activation_tokens (token_hash, tenant_id, user_pk, created_at, expires_at) VALUES "+
			strings.Join(rows, ", "), args...))
	}
	if len(msgs) > 0 {
		rows, args := make([]string, len(msgs)), make([]any, 0, 7*len(msgs))
		for i, m := range msgs {
			rows[i] = "(?, ?, ?, ?, ?, ?, ?, 'pending')"
			args = append(args, m.TenantID, m.Kind, m.Recipient, m.Subject, m.Body, at, at)
		}
		stmts = append(stmts, raw("INSERT INTO outbox (tenant_id, kind, recipient, subject, body, next_attempt_at, created_at, state) VALUES "+
			strings.Join(rows, ", "), args...))
	}
	query := strings.Join(stmts, ";\n")
	if tx.dialect == Postgres && len(stmts) == 2 {
		query = "WITH t AS (" + stmts[0] + ") " + stmts[1]
	}
	_, err := tx.idb.ExecContext(ctx, query)
	return mapError(err)
}

// RevokeActivations uses up the user's unused activation tokens, so that
// only a link sent after works.
func (tx *Tx) RevokeActivations(ctx context.Context, userPK int64) error {
	_, err := tx.idb.NewRaw("UPDATE activation_tokens SET used_at = ? WHERE user_pk = ? AND used_at IS NULL", now(), userPK).Exec(ctx)
	return mapError(err)
}

// DeleteMessagesTo deletes the tenant's messages to any of the addresses,
// sent or not: for an erasure.
func (tx *Tx) DeleteMessagesTo(ctx context.Context, tenantID int64, addresses []string) error {
	if len(addresses) == 0 {
		return nil
	}
	_, err := tx.idb.NewDelete().Model((*Message)(nil)).Where("tenant_id = ? AND recipient IN (?)", tenantID, bun.List(addresses)).Exec(ctx)
	return mapError(err)
}

// ActivationState is what a token's hash names: the tenant and the user
// (by SCIM id), and whether the token can still be used.
type ActivationState struct {
	TenantID  int64
	UserID    string
	ExpiresAt time.Time
	Used      bool
}

// ActivationToken returns the state of the activation token whose
// SHA-256 is hash; an unknown hash is [ErrNotFound].
func (r reader) ActivationToken(ctx context.Context, hash []byte) (ActivationState, error) {
	var s struct {
		TenantID  int64      `bun:"tenant_id"`
		UserID    string     `bun:"id"`
		ExpiresAt time.Time  `bun:"expires_at"`
		UsedAt    *time.Time `bun:"used_at"`
	}
	err := r.idb.NewRaw(`SELECT t.tenant_id, u.id, t.expires_at, t.used_at FROM activation_tokens AS t
		JOIN users AS u ON u.pk = t.user_pk WHERE t.token_hash = ?`, hash).Scan(ctx, &s)
	if err != nil {
		return ActivationState{}, mapError(err)
	}
	return ActivationState{TenantID: s.TenantID, UserID: s.UserID, ExpiresAt: s.ExpiresAt, Used: s.UsedAt != nil}, nil
}

// UseActivation uses the activation token whose SHA-256 is hash, if it is
// unused and unexpired at at, and reports whether this call used it: of
// two uses racing, one does.
func (tx *Tx) UseActivation(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	res, err := tx.idb.NewRaw("UPDATE activation_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
		at, hash, at).Exec(ctx)
	if err != nil {
		return false, mapError(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ClaimMessages claims up to limit pending messages that are due at at,
// at most perTenant of each tenant (oldest due first): each claim counts
// an attempt and makes the message due again only at at+lease, so that a
// worker that dies while sending leaves it to be sent again later (at
// least once, never lost). On PostgreSQL the claim skips the rows another
// replica's worker is claiming (FOR UPDATE SKIP LOCKED); SQLite has one
// writer.
func (db *DB) ClaimMessages(ctx context.Context, at time.Time, lease time.Duration, limit, perTenant int) ([]Message, error) {
	lock := ""
	if db.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []Message
	err := db.RunInTx(ctx, func(ctx context.Context, tx *Tx) error {
		out = nil
		// The window ranks each tenant's due messages, so that one tenant's
		// 100,000 leave room for the others' in every claim.
		return tx.idb.NewRaw(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?
			WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND id IN (
				SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY next_attempt_at, id) AS n
					FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?) AS ranked WHERE n <= ?)
				ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
			RETURNING id, tenant_id, kind, recipient, subject, body, state, attempts, next_attempt_at, last_error, created_at, sent_at`,
			at.Add(lease).UTC(), at.UTC(), at.UTC(), perTenant, limit).Scan(ctx, &out)
	})
	return out, err
}

// MarkSent records message id as sent at at, clearing its body.
func (db *DB) MarkSent(ctx context.Context, id int64, at time.Time) error {
	return db.RunInTx(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.idb.NewRaw("UPDATE outbox SET state = 'sent', sent_at = ?, body = '', last_error = '' WHERE id = ?", at.UTC(), id).Exec(ctx)
		return mapError(err)
	})
}

// MarkFailed records a failed send of message id: due again at next, or,
// with final, failed for good.
func (db *DB) MarkFailed(ctx context.Context, id int64, reason string, next time.Time, final bool) error {
	state := MessagePending
	if final {
		state = MessageFailed
	}
	return db.RunInTx(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.idb.NewRaw("UPDATE outbox SET state = ?, next_attempt_at = ?, last_error = ? WHERE id = ?", state, next.UTC(), reason, id).Exec(ctx)
		return mapError(err)
	})
}

// Release gives back message id, claimed and not tried (the worker is
// stopping): due at once, the claim's attempt not counted.
func (db *DB) Release(ctx context.Context, id int64) error {
	return db.RunInTx(ctx, func(ctx context.Context, tx *Tx) error {
		_, err := tx.idb.NewRaw("UPDATE outbox SET attempts = attempts - 1, next_attempt_at = ? WHERE id = ?", now(), id).Exec(ctx)
		return mapError(err)
	})
}

// Messages lists the tenant's messages, oldest first: for tests and the
// operator.
func (r reader) Messages(ctx context.Context, tenantID int64) ([]Message, error) {
	var out []Message
	err := r.idb.NewSelect().Model(&out).Where("tenant_id = ?", tenantID).Order("id").Scan(ctx)
	return out, mapError(err)
}
