package reconcile

import (
	"cmp"
	"context"
	"fmt"

	"github.com/scimd/scimd/store"
)

// EraseUser is a person's right to erasure (GDPR art. 17), which a DELETE
// is not: identity providers deprovision by disabling, and a deleted
// user's values stay in the audit trail. It deletes the user of by's
// tenant (memberships, grants, external IDs and activation links go with
// the row, and the outbox's messages to their addresses with it) and drops
// the personal values of every audit event about them, keeping who did
// what and when, and which attributes changed. It is itself an audited
// event, naming the user's id and how many events it scrubbed, and
// nothing else.
//
// An unknown id, or a user outside an org-unit administrator's unit, is
// [store.ErrNotFound].
func (e *Engine) EraseUser(ctx context.Context, by store.Principal, id string) error {
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		// A soft-deleted user is erased too: the row goes for good.
		u, err := tx.AnyUser(ctx, by.TenantID, 0, id)
		if err != nil {
			return err
		}
		if by.OrgUnit != "" {
			if in, err := tx.UserInOrgUnit(ctx, u.PK, by.OrgUnit); err != nil || !in {
				return cmp.Or(err, store.ErrNotFound)
			}
		}
		if _, err := tx.EndUserSessions(ctx, u.PK, e.now(), EndUserDelete); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, u.PK); err != nil {
			return err
		}
		// Their messages, sent or queued, name them too.
		if err := tx.DeleteMessagesTo(ctx, by.TenantID, emails(u.Attrs)); err != nil {
			return err
		}
		n, err := tx.EraseAudit(ctx, by.TenantID, u.ID)
		if err != nil {
			return fmt.Errorf("erase the audit events of user %s: %w", u.ID, err)
		}
		return audit(ctx, tx, by, by.TenantID, "erase", string(KindUser), u.ID, map[string]any{"erasedEvents": n})
	})
}
