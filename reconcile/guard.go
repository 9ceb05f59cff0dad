package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// The deletion guard. A connector with a deletionGuard counts its
// deactivations (a plan that moves a user from active to disabled) and
// deletions within the guard's sliding window, in the guard_events table
// (migration 0019), inside the write's transaction, with the connector's
// row locked on PostgreSQL (SQLite has one writer): two replicas cannot
// both pass the threshold. A write that would cross it is not applied:
// it is held (store.HeldWrite: a Delete by id, or the user's resulting
// document with the version it was planned on), audited ("hold"), and the
// write fails with [*HeldError], which the SCIM edge answers 503 with
// Retry-After. Once the guard holds a write, every deactivation and
// deletion of the connector is held until an administrator has decided
// all of them (a hold episode), so that the rest of a mass change does
// not trickle through as the window slides; the guard's notify addresses
// get one message per episode. A retry of a held write updates it (one
// held write per connector and resource). An administrator approves
// ([Engine.ApproveHeld]: applied in order, bypassing the guard) or
// rejects ([Engine.RejectHeld]: dropped); a retry of a rejected write,
// while the resource stays at the version it was planned on, fails with
// [*RejectedError] (403), so that the identity provider logs it rather
// than retrying forever. Writes that neither deactivate nor delete, and
// connectors without a guard, pay nothing.

// HeldRetryAfter is what a held write's Retry-After says: when an
// identity provider should try again.
const HeldRetryAfter = 15 * time.Minute

// ErrHeld is what [*HeldError] is (errors.Is).
var ErrHeld = errors.New("reconcile: held by the deletion guard")

// HeldError is a write the deletion guard held for an administrator.
type HeldError struct {
	ID         int64 // the held write's id
	Connector  string
	Limit      int
	Window     time.Duration
	RetryAfter time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("connector %s reached its deletion guard (%d deactivations and deletions per %s): this write is held "+
		"as held write %d until an administrator approves or rejects it (scimd connector held); retry later", e.Connector, e.Limit, e.Window, e.ID)
}

// Is makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// RejectedError is a retry of a write an administrator rejected.
type RejectedError struct {
	ID        int64
	By        string
	At        time.Time
	Connector string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("an administrator (%s) rejected this write of connector %s on %s (held write %d): it will not be applied; "+
		"change the user in the identity provider instead", e.By, e.Connector, e.At.Format(time.RFC3339), e.ID)
}

// deactivates reports whether p is what the guard counts: a deletion of
// a user, or a write that moves them from active to disabled.
func deactivates(p *Plan) bool {
	if p.User == nil || p.User.PK == 0 || p.Action == "none" || p.linkOnly {
		return false
	}
	if p.Input.Op == Delete {
		return true
	}
	return p.prevStatus == store.StatusActive && p.User.Status == store.StatusDisabled
}

// guard checks p against its connector's deletion guard, in tx, before p
// is written: nil to write it, or, having held it, the [*HeldError] the
// write answers (or a [*RejectedError]).
func (e *Engine) guard(ctx context.Context, tx *store.Tx, conn *rules.Connector, p *Plan) (error, error) {
	g := conn.DeletionGuard
	if g == nil || p.Input.approved || p.Input.Source == SourceCSV || !deactivates(p) {
		return nil, nil
	}
	in := p.Input
	if err := tx.LockConnector(ctx, in.ConnectorID); err != nil {
		return nil, err
	}
	version := p.User.Version
	if r, err := tx.RejectedWrite(ctx, in.ConnectorID, string(in.Kind), p.User.ID, version); err == nil {
		at := r.UpdatedAt
		if r.DecidedAt != nil {
			at = *r.DecidedAt
		}
		return &RejectedError{ID: r.ID, By: r.DecidedBy, At: at, Connector: in.ConnectorName}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	pending, err := tx.PendingHeld(ctx, in.ConnectorID)
	if err != nil {
		return nil, err
	}
	now := e.now()
	limit := -1
	if pending == 0 {
		if limit, err = guardLimit(ctx, tx, g, in.ConnectorID); err != nil {
			return nil, err
		}
		n, err := tx.GuardEvents(ctx, in.ConnectorID, now.Add(-g.Window))
		if err != nil {
			return nil, err
		}
		if n+1 <= limit {
			return nil, tx.AddGuardEvents(ctx, in.ConnectorID, 1, now, now.Add(-g.Window))
		}
	}
	h := &store.HeldWrite{TenantID: in.TenantID, ConnectorID: in.ConnectorID, Source: string(in.Source),
		ResourceType: string(in.Kind), ResourceID: p.User.ID, UserName: p.User.UserName, Op: "delete", Version: version}
	if in.Op != Delete {
		h.Op, h.Document, h.ExternalID = "replace", p.doc.Attrs, p.doc.ExternalID
	}
	created, err := tx.HoldWrite(ctx, h)
	if err != nil {
		return nil, err
	}
	if created {
		err := tx.AppendAudit(ctx, &store.AuditEvent{TenantID: in.TenantID, Source: string(in.Source), ConnectorID: in.ConnectorID,
			Action: "hold", ResourceType: string(in.Kind), ResourceID: p.User.ID,
			Detail: map[string]any{"held": h.ID, "op": h.Op, "version": version, "limit": limit, "window": g.Window.String()}})
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
	}
	if pending == 0 && len(g.Notify) > 0 {
		msgs := make([]store.Message, len(g.Notify))
		for i, to := range g.Notify {
			msgs[i] = heldMessage(in, to, limit, g.Window)
		}
		if err := tx.Enqueue(ctx, nil, msgs); err != nil {
			return nil, err
		}
	}
	return &HeldError{ID: h.ID, Connector: in.ConnectorName, Limit: limit, Window: g.Window, RetryAfter: HeldRetryAfter}, nil
}

// guardLimit is g's limit for the connector now; the users are counted
// only when the guard has a percentage.
func guardLimit(ctx context.Context, tx *store.Tx, g *rules.DeletionGuard, connectorID int64) (int, error) {
	users := 0
	if g.Percent > 0 {
		var err error
		if users, err = tx.LinkedUsers(ctx, connectorID); err != nil {
			return 0, err
		}
	}
	return g.Limit(users), nil
}

// heldMessage tells to that the connector's guard started holding writes.
func heldMessage(in Input, to string, limit int, window time.Duration) store.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Connector %s of tenant %s reached its deletion guard: more than %d deactivations and deletions within %s.\n\n",
		in.ConnectorName, in.TenantName, limit, window)
	b.WriteString("Its further deactivations and deletions are held, not applied; the identity provider is told to retry.\n")
	fmt.Fprintf(&b, "Review them, then approve or reject:\n\n  scimd connector held --tenant %s --connector %s\n", in.TenantName, in.ConnectorName)
	fmt.Fprintf(&b, "  GET /admin/v1/%s/connectors/%s/held\n", in.TenantName, in.ConnectorName)
	return store.Message{TenantID: in.TenantID, Kind: store.MessageHeld, Recipient: to,
		Subject: fmt.Sprintf("scimd: deactivations of connector %s are held for approval", in.ConnectorName), Body: b.String()}
}

// HeldDecision is what deciding held writes did.
type HeldDecision struct {
	// Decided are the held writes decided, as they are now.
	Decided []store.HeldWrite `json:"decided"`
}

// HeldWrites lists a tenant's connector's held writes in state ("" any),
// in the order they were held, up to limit after the id after.
func (e *Engine) HeldWrites(ctx context.Context, by store.Principal, connector, state string, after int64, limit int) ([]store.HeldWrite, error) {
	c, err := e.heldConnector(ctx, by, connector)
	if err != nil {
		return nil, err
	}
	return e.db.HeldWrites(ctx, c.ConnectorID, state, nil, after, limit)
}

func (e *Engine) heldConnector(ctx context.Context, by store.Principal, connector string) (store.Principal, error) {
	if err := mayAdminister(by, by.TenantName); err != nil {
		return store.Principal{}, err
	}
	return e.db.ConnectorPrincipal(ctx, by.TenantName, connector)
}

// actor names who decides in a held write's row.
func actor(by store.Principal) string {
	if by.ConnectorID == 0 {
		return "cli"
	}
	return "admin connector " + by.ConnectorName
}

// ApproveHeld applies the tenant's connector's pending held writes (ids,
// or all when ids is empty), in the order they were held, each in one
// transaction bypassing the guard, with the write's own audit event and
// an "approve" event naming by. A held replace whose user is still at
// the version it was planned on is applied as it was planned; a user
// changed meanwhile is only disabled (their other changes are the
// identity provider's to send again); a user gone meanwhile is left gone.
func (e *Engine) ApproveHeld(ctx context.Context, by store.Principal, connector string, ids []int64) (HeldDecision, error) {
	return e.decideHeld(ctx, by, connector, ids, true)
}

// RejectHeld drops the tenant's connector's pending held writes (ids, or
// all when ids is empty), each with a "reject" audit event naming by.
func (e *Engine) RejectHeld(ctx context.Context, by store.Principal, connector string, ids []int64) (HeldDecision, error) {
	return e.decideHeld(ctx, by, connector, ids, false)
}

func (e *Engine) decideHeld(ctx context.Context, by store.Principal, connector string, ids []int64, approve bool) (HeldDecision, error) {
	c, err := e.heldConnector(ctx, by, connector)
	if err != nil {
		return HeldDecision{}, err
	}
	out := HeldDecision{Decided: []store.HeldWrite{}}
	for after := int64(0); ; {
		page, err := e.db.HeldWrites(ctx, c.ConnectorID, store.HeldPending, ids, after, 500)
		if err != nil {
			return out, err
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, h := range page {
			after = h.ID
			done, err := e.decideOne(ctx, by, c, h, approve)
			if err != nil {
				return out, fmt.Errorf("held write %d: %w", h.ID, err)
			}
			if done != nil {
				out.Decided = append(out.Decided, *done)
			}
		}
	}
}

// decideOne decides h in one transaction; nil when another administrator
// decided it first.
func (e *Engine) decideOne(ctx context.Context, by store.Principal, c store.Principal, h store.HeldWrite, approve bool) (*store.HeldWrite, error) {
	state, action, outcome := store.HeldRejected, "reject", "rejected"
	if approve {
		state, action = store.HeldApproved, "approve"
	}
	var decided bool
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if approve {
			if outcome, err = e.applyHeld(ctx, c, h); err != nil {
				return err
			}
		}
		if decided, err = tx.DecideHeld(ctx, h.ID, state, actor(by), outcome); err != nil || !decided {
			return err
		}
		return audit(ctx, tx, by, c.TenantID, action, h.ResourceType, h.ResourceID,
			map[string]any{"held": h.ID, "connector": c.ConnectorName, "op": h.Op, "outcome": outcome, "by": actor(by)})
	})
	if err != nil || !decided {
		return nil, err
	}
	h.State, h.Outcome, h.DecidedBy = state, outcome, actor(by)
	return &h, nil
}

// applyHeld applies held write h as connector c, inside the caller's
// transaction, and says how it went.
func (e *Engine) applyHeld(ctx context.Context, c store.Principal, h store.HeldWrite) (string, error) {
	in := Input{Source: Source(h.Source), Principal: c, Kind: Kind(h.ResourceType), ID: h.ResourceID, approved: true}
	switch h.Op {
	case "delete":
		in.Op = Delete
	default:
		in.Op, in.Attrs, in.ExternalID, in.IfMatch = Replace, h.Document, h.ExternalID, h.Version
	}
	_, err := e.apply(ctx, in)
	outcome := "applied"
	if errors.Is(err, store.ErrStale) {
		// Changed since it was held: disable the user as they are now.
		in = Input{Source: in.Source, Principal: c, Kind: in.Kind, ID: in.ID, Op: Patch, approved: true,
			Edit: func(d Doc) (Doc, []MemberEdit, error) {
				attrs := clone(d.Attrs)
				attrs["active"] = false
				return Doc{Attrs: attrs, ExternalID: d.ExternalID}, nil, nil
			}}
		_, err = e.apply(ctx, in)
		outcome = "deactivated"
	}
	if errors.Is(err, store.ErrNotFound) {
		return "gone", nil
	}
	return outcome, err
}

// ParseHeldIDs reads a list of held write ids, "all" (nil) or
// comma-separated numbers.
func ParseHeldIDs(s string) ([]int64, error) {
	if s == "all" {
		return nil, nil
	}
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || id <= 0 {
			return nil, &InputError{Attribute: "ids", Msg: fmt.Sprintf("%q is not a held write id: write all, or ids such as 3,4,9", f)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// guard checks a load's deactivations and deletions against the
// connector's deletion guard, all or none: a load that would cross it is
// rolled back (LoadResult.Guard says why and how to approve), one within
// it counts them. An approved load (ApproveDeletions) passes, counted. A
// dry run reads the guard and writes nothing: its Guard says that the
// load would be stopped.
func (l *loader) guard(ctx context.Context, tx *store.Tx) error {
	g, n := l.conn.DeletionGuard, l.res.Deactivations
	if g == nil || n == 0 {
		return nil
	}
	if !l.opts.DryRun {
		if err := tx.LockConnector(ctx, l.by.ConnectorID); err != nil {
			return err
		}
	}
	now := l.e.now()
	if !l.opts.ApproveDeletions {
		limit, err := guardLimit(ctx, tx, g, l.by.ConnectorID)
		if err != nil {
			return err
		}
		done, err := tx.GuardEvents(ctx, l.by.ConnectorID, now.Add(-g.Window))
		if err != nil {
			return err
		}
		if done+n > limit {
			verb := "nothing loaded; once an administrator approves, load it again with"
			if l.opts.DryRun {
				verb = "loading it would load nothing; once an administrator approves, load it with"
			}
			l.res.Guard = fmt.Sprintf("the file deactivates or deletes %d users, and connector %s's deletion guard allows %d per %s "+
				"(%d done in the window): %s scimd import --approve-deletions (or approveDeletions=true on POST /admin/v1/%s/imports)",
				n, l.by.ConnectorName, limit, g.Window, done, verb, l.by.TenantName)
			return errRolledBack
		}
	}
	if l.opts.DryRun {
		return errRolledBack
	}
	return tx.AddGuardEvents(ctx, l.by.ConnectorID, n, now, now.Add(-g.Window))
}

// auditGuardedLoad records, after its rollback, that the guard stopped a
// load, and tells the guard's addresses.
func (e *Engine) auditGuardedLoad(ctx context.Context, by store.Principal, res *LoadResult) error {
	conn, _, err := e.connector(ctx, e.db, by.TenantID, by.TenantName, by.ConnectorName)
	if err != nil || conn.DeletionGuard == nil {
		return err
	}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.AppendAudit(ctx, &store.AuditEvent{TenantID: by.TenantID, Source: string(SourceCSV), ConnectorID: by.ConnectorID,
			Action: "hold", ResourceType: "Import", Detail: withActor(by, map[string]any{"deactivations": res.Deactivations, "reason": res.Guard})})
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		in := Input{Principal: by}
		msgs := make([]store.Message, len(conn.DeletionGuard.Notify))
		for i, to := range conn.DeletionGuard.Notify {
			msgs[i] = heldMessage(in, to, conn.DeletionGuard.Limit(0), conn.DeletionGuard.Window)
			msgs[i].Body = res.Guard + "\n"
		}
		return tx.Enqueue(ctx, nil, msgs)
	})
}
