package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Activation (000 and 004 seeds): a user created to be notified (a CSV
// row's notifyIfNewUser, a connector's notify) whose source states no status waits in status pending, and gets a message with
// a one-time link that activates them ([Engine.Activate]); a first SSO
// sign-in activates them too. The message is written to the outbox in the
// transaction of the create, so that a crash neither loses it nor sends
// one for a create that rolled back; a worker delivers it.

// MailConfig is what the engine's messages need. The zero value links to
// a relative /activate/ path with tokens valid for seven days.
type MailConfig struct {
	// PublicURL is the base of the links in messages, such as
	// https://id.example.com.
	PublicURL string
	// ActivationTTL is how long an activation link works; 0 means 7 days.
	ActivationTTL time.Duration
}

// SetMail configures the engine's messages; call it before the engine
// serves.
func (e *Engine) SetMail(c MailConfig) { e.mail = c }

func (e *Engine) activationTTL() time.Duration {
	if e.mail.ActivationTTL > 0 {
		return e.mail.ActivationTTL
	}
	return 7 * 24 * time.Hour
}

// ActivationPath is where an activation link points, below
// MailConfig.PublicURL: ActivationPath + token.
const ActivationPath = "/activate/"

// notifies reports whether a user in creates is to get an activation
// message: as a CSV row says (notifyIfNewUser), else as the connector
// says (Connector.Notify); a sign-in never, the person being there.
func notifies(conn *rules.Connector, in Input) bool {
	switch {
	case in.Notify:
		return true
	case in.Source == SourceCSV || in.Source == SourceOIDC || conn == nil:
		return false
	}
	return conn.Notify
}

// notifyCreated queues, in tx, the activation message of each user the
// plans created that are to get one ([notifies]) and who wait
// for activation with an email address: written in the same transaction
// as the user, so that a crash neither loses nor doubles it. Every path
// that creates users calls it; all of a batch's tokens and messages go in
// one statement.
func (e *Engine) notifyCreated(ctx context.Context, tx *store.Tx, created []*Plan) error {
	var tokens []store.Activation
	var msgs []store.Message
	for _, p := range created {
		u := p.User
		if !notifies(p.conn, p.Input) || u == nil || u.PK == 0 || u.Status != store.StatusPending {
			continue
		}
		to, ok := recipient(u.Attrs)
		if !ok {
			continue
		}
		t, m := e.activation(u, to)
		tokens, msgs = append(tokens, t), append(msgs, m)
	}
	if err := tx.Enqueue(ctx, tokens, msgs); err != nil {
		return fmt.Errorf("queue activation messages: %w", err)
	}
	return nil
}

// recipient is the address a user's messages go to: their first email
// that is a plain address (no header can be smuggled in through it).
func recipient(attrs map[string]any) (string, bool) {
	for _, e := range emails(attrs) {
		if a, err := mail.ParseAddress(e); err == nil && a.Name == "" && a.Address == e {
			return e, true
		}
	}
	return "", false
}

// activation makes a new one-time token for u and the message carrying
// its link to address to.
func (e *Engine) activation(u *store.User, to string) (store.Activation, store.Message) {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(secret)
	ttl := e.activationTTL()
	link := strings.TrimSuffix(e.mail.PublicURL, "/") + ActivationPath + token
	name := u.DisplayName
	if name == "" {
		name = u.UserName
	}
	body := fmt.Sprintf("Hello %s,\n\nan account was created for you (user name %s). Open this link to activate it:\n\n%s\n\n"+
		"The link works once, for %s. If you did not expect this message, ignore it.\n", name, u.UserName, link, days(ttl))
	return store.Activation{TokenHash: HashActivationToken(token), TenantID: u.TenantID, UserPK: u.PK, ExpiresAt: e.now().Add(ttl)},
		store.Message{TenantID: u.TenantID, Kind: store.MessageActivation, Recipient: to, Subject: "Activate your account", Body: body}
}

func days(d time.Duration) string {
	if n := int(d / (24 * time.Hour)); n >= 1 && d%(24*time.Hour) == 0 {
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

// HashActivationToken is the SHA-256 of a token, as the store keeps it.
func HashActivationToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ActivationError is a link that does not activate: unknown, used (or
// replaced by a newer one), or expired (410 for the last two, 404 for the
// first).
type ActivationError struct {
	Reason string // "unknown", "used", "expired"
}

func (e *ActivationError) Error() string {
	switch e.Reason {
	case "used":
		return "this activation link was used already, or a newer one was sent: sign in, or ask your administrator to resend the activation"
	case "expired":
		return "this activation link has expired: ask your administrator to resend the activation"
	}
	return "this activation link is not valid: check that you opened the whole link from the message"
}

// CheckActivation reports whether token would activate its user now,
// writing nothing, and returns the user; an [*ActivationError] says why
// not.
func (e *Engine) CheckActivation(ctx context.Context, token string) (store.User, error) {
	s, err := e.db.ActivationToken(ctx, HashActivationToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, &ActivationError{"unknown"}
	}
	if err != nil {
		return store.User{}, err
	}
	if err := usable(s, e.now()); err != nil {
		return store.User{}, err
	}
	u, err := e.db.User(ctx, s.TenantID, 0, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, &ActivationError{"unknown"}
	}
	return u, err
}

func usable(s store.ActivationState, now time.Time) error {
	switch {
	case s.Used:
		return &ActivationError{"used"}
	case !now.Before(s.ExpiresAt):
		return &ActivationError{"expired"}
	}
	return nil
}

// Activate uses token, once: its user, pending, becomes active, with an
// audit event (source activation). A user who became active meanwhile
// (a first sign-in) stays so; one disabled or deleted meanwhile is not
// activated ([StateError]). An unknown, used or expired token is an
// [*ActivationError], and nothing is written.
func (e *Engine) Activate(ctx context.Context, token string) (store.User, error) {
	hash := HashActivationToken(token)
	var out store.User
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		s, err := tx.ActivationToken(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return &ActivationError{"unknown"}
		}
		if err != nil {
			return err
		}
		now := e.now()
		if err := usable(s, now); err != nil {
			return err
		}
		u, err := tx.User(ctx, s.TenantID, 0, s.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return &ActivationError{"unknown"}
		}
		if err != nil {
			return err
		}
		if used, err := tx.UseActivation(ctx, hash, now); err != nil {
			return err
		} else if !used {
			return &ActivationError{"used"} // by a use racing this one
		}
		out = u
		switch u.Status {
		case store.StatusActive:
			return nil
		case store.StatusDisabled:
			return &StateError{"this account was disabled by your organisation: ask your administrator"}
		}
		u.Status = store.StatusActive
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		if err := tx.SetAttributeSources(ctx, u.PK, []store.AttributeSource{{Attribute: "status", Source: string(SourceActivation)}}); err != nil {
			return err
		}
		out = u
		return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: u.TenantID, Source: string(SourceActivation), Action: "activate",
			ResourceType: string(KindUser), ResourceID: u.ID,
			Detail: map[string]any{"before": map[string]any{"status": store.StatusPending}, "after": map[string]any{"status": store.StatusActive}}})
	})
	return out, err
}

// ResendActivation sends user id of by's tenant a new activation link:
// the links sent before stop working. A user who is not pending
// activation, or has no email address, is a [StateError].
func (e *Engine) ResendActivation(ctx context.Context, by store.Principal, id string) (store.User, error) {
	var out store.User
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		if u.Status != store.StatusPending {
			return &StateError{fmt.Sprintf("user %s is %s, not pending activation: only a user who has not activated their account gets an activation link", u.UserName, u.Status)}
		}
		to, ok := recipient(u.Attrs)
		if !ok {
			return &StateError{fmt.Sprintf("user %s has no email address to send the activation to: add one first", u.UserName)}
		}
		if err := tx.RevokeActivations(ctx, u.PK); err != nil {
			return err
		}
		t, m := e.activation(&u, to)
		if err := tx.Enqueue(ctx, []store.Activation{t}, []store.Message{m}); err != nil {
			return err
		}
		out = u
		return audit(ctx, tx, by, by.TenantID, "resend-activation", string(KindUser), u.ID, map[string]any{})
	})
	return out, err
}

// importSummary is the message telling whoever ran a load what it
// created: the users, with the address each activation went to.
func importSummary(tenantID int64, to string, res *LoadResult) store.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Your import finished: %d rows, %d users added, %d updated, %d deleted, %d unchanged.\n",
		res.Rows, res.Added, res.Updated, res.Deleted, res.Unchanged)
	if len(res.Created) > 0 {
		b.WriteString("\nUsers created:\n")
		for _, c := range res.Created {
			fmt.Fprintf(&b, "  %s\t%s\n", c.UserName, c.Email)
		}
		if n := res.Added - len(res.Created); n > 0 {
			fmt.Fprintf(&b, "  … and %d more\n", n)
		}
	}
	return store.Message{TenantID: tenantID, Kind: store.MessageImportSummary, Recipient: to,
		Subject: fmt.Sprintf("Import finished: %d users added", res.Added), Body: b.String()}
}
