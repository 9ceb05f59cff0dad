package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Local (break-glass) users: an administrator marks a user local
// (SetUserLocal), and from then on no connector may match, change, disable
// or delete them; administrators still may. planUser refuses a connector's
// write that would reach one with a [*LocalUserError], read off the row it
// loads anyway (no extra query), and the edges record the refusal with an
// audit event of its own (refuseLocal), so that it survives the rollback
// of the write.

// LocalUserError refuses a connector's write (SCIM, a login, a CSV row)
// that would match, change, disable or delete a local user. Its message is
// meant for the client.
type LocalUserError struct {
	// UserID and UserName name the local user.
	UserID, UserName string
	// Key is the match key that found them ("" for a write by SCIM id).
	Key rules.MatchKey
	// Op is what the write asked for.
	Op Op
}

func (e *LocalUserError) Error() string {
	how := "this write names"
	if e.Key != "" {
		how = fmt.Sprintf("%s matches", e.Key)
	}
	return fmt.Sprintf("%s user %s (%s), a local account managed only in scimd: no connector may match, change, disable or delete it; "+
		"an administrator may, or may unmark it (scimd user local --local=false)", how, e.UserName, e.UserID)
}

// connectorSource reports whether s is a connector's (an identity
// provider's push, a login, a CSV import), which may not reach a local
// user; an administrator's, the command line's and an activation's may.
func connectorSource(s Source) bool {
	return s == SourceSCIM || s == SourceOIDC || s == SourceCSV
}

// refuseLocal checks a user that in's plan found: a local user is a
// [*LocalUserError] for a connector's write.
func refuseLocal(in Input, u store.User, key rules.MatchKey) error {
	if !u.Local || !connectorSource(in.Source) {
		return nil
	}
	return &LocalUserError{UserID: u.ID, UserName: u.UserName, Key: key, Op: in.Op}
}

// localRefusal is the audit event of the refusal err of in.
func localRefusal(in Input, le *LocalUserError, identity map[string]any) store.AuditEvent {
	detail := map[string]any{"reason": "local", "op": string(le.Op), "message": le.Error()}
	if le.Key != "" {
		detail["matchedBy"] = string(le.Key)
	}
	if identity != nil {
		detail["identity"] = identity
	}
	return store.AuditEvent{TenantID: in.TenantID, Source: string(in.Source), ConnectorID: in.ConnectorID,
		Action: "refuse", ResourceType: string(KindUser), ResourceID: le.UserID, Detail: detail}
}

// auditLocal records err, when it is a [*LocalUserError], with an audit
// event in a transaction of its own (in a batch: a savepoint of its own,
// which the write's rollback leaves alone), and returns err.
func (e *Engine) auditLocal(ctx context.Context, in Input, err error, identity map[string]any) error {
	le, ok := errors.AsType[*LocalUserError](err)
	if !ok {
		return err
	}
	event := localRefusal(in, le, identity)
	if aerr := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudit(ctx, &event) }); aerr != nil {
		return errors.Join(err, fmt.Errorf("audit: %w", aerr))
	}
	return err
}

// SetUserLocal marks user id of by's tenant local (a break-glass account,
// managed only in scimd) or not, with an audit event ("local" or
// "unlocal"); marking a user as they are changes nothing and records
// nothing. Only an administrator (the admin API, the command line) may.
func (e *Engine) SetUserLocal(ctx context.Context, by store.Principal, id string, local bool) (store.User, error) {
	var out store.User
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scopedUser(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		out = u
		if u.Local == local {
			return nil
		}
		if err := tx.SetUserLocal(ctx, u.PK, local); err != nil {
			return err
		}
		out.Local = local
		out.Version++
		action := "local"
		if !local {
			action = "unlocal"
		}
		return audit(ctx, tx, by, by.TenantID, action, string(KindUser), u.ID, map[string]any{
			"before": map[string]any{"local": !local}, "after": map[string]any{"local": local}})
	})
	return out, err
}

// auditRefusals appends a load's refusals in a transaction of their own.
func (e *Engine) auditRefusals(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.AppendAudits(ctx, events) })
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
