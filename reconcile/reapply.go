package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/scimd/scimd/store"
)

// ErrReapplyMoved is a re-apply batch that found the job's cursor moved
// by another runner (or the job ended): it rolled back, and this runner
// stops.
var ErrReapplyMoved = errors.New("the re-apply job was moved on by another runner")

// StartReapply returns the re-apply job of by's tenant that is not
// finished, or records a new one: the tenant's configuration as saved now
// applied to every live user. The caller runs it with [Engine.RunReapply];
// a job whose process died is resumed the same way (scimd config reapply,
// or the next POST /admin/v1/{tenant}/reapply), after the last batch it
// committed.
func (e *Engine) StartReapply(ctx context.Context, by store.Principal) (store.ReapplyJob, bool, error) {
	if err := mayAdminister(by, by.TenantName); err != nil {
		return store.ReapplyJob{}, false, err
	}
	var j store.ReapplyJob
	var resumed bool
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if j, err = tx.UnfinishedReapplyJob(ctx, by.TenantID); err == nil {
			resumed = true
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		version, err := tx.TenantConfigVersion(ctx, by.TenantID)
		if err != nil {
			return err
		}
		total, err := tx.CountLiveUsers(ctx, by.TenantID)
		if err != nil {
			return err
		}
		created := by.ConnectorName
		if created == "" {
			created = string(SourceCLI)
		}
		j = store.ReapplyJob{TenantID: by.TenantID, ConfigVersion: version, UsersTotal: total, CreatedBy: created}
		if err := tx.InsertReapplyJob(ctx, &j); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "reapply", "Config", by.TenantName, map[string]any{"job": j.ID, "version": version})
	})
	return j, resumed, err
}

// RunReapply runs the job id of by's tenant to its end from where it
// stands: a thousand users a transaction, each with the audit events of
// its changes (action reapply, naming the job) and the job's new cursor,
// so that a run stopped anywhere (a kill, ctx cancelled) resumes after the
// last batch committed, with nothing done twice. Should the tenant's
// configuration have changed since the job started, it starts over with
// the new one (users already mapped by it change nothing). progress, if
// not nil, sees the job after each batch. A user whose rules fail (a grant
// of a target that does not exist) is counted failed and left as is.
func (e *Engine) RunReapply(ctx context.Context, by store.Principal, id string, progress func(store.ReapplyJob)) (store.ReapplyJob, error) {
	j, err := e.db.ReapplyJob(ctx, by.TenantID, id)
	if err != nil {
		return j, err
	}
	version, err := e.db.TenantConfigVersion(ctx, by.TenantID)
	if err != nil {
		return j, err
	}
	cfg, version, err := e.configAt(ctx, e.db, by.TenantID, by.TenantName, version)
	if err != nil {
		return j, err
	}
	if j.FinishedAt == nil && version != j.ConfigVersion {
		total, err := e.db.CountLiveUsers(ctx, by.TenantID)
		if err != nil {
			return j, err
		}
		if err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.RestartReapplyJob(ctx, id, version, total)
		}); err != nil {
			return j, err
		}
	}
	conns, err := walkConnectors(ctx, e.db, by, cfg)
	if err != nil {
		return j, err
	}
	for {
		if j, err = e.db.ReapplyJob(ctx, by.TenantID, id); err != nil || j.FinishedAt != nil {
			return j, err
		}
		if progress != nil {
			progress(j)
		}
		var done bool
		err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			pks, err := tx.LiveUserPKs(ctx, by.TenantID, j.CursorPK, impactPage)
			if err != nil {
				return err
			}
			if done = len(pks) == 0; done {
				return tx.FinishReapplyJob(ctx, id, store.ReapplyDone, fmt.Sprintf(`{"users": %d, "changed": %d, "failed": %d}`,
					j.UsersDone, j.UsersChanged, j.UsersFailed))
			}
			var changed, failed int64
			if err := walkPage(ctx, tx, tx, by, id, conns, pks, func(ui UserImpact) {
				if ui.Error != "" {
					failed++
				} else {
					changed++
				}
			}); err != nil {
				return err
			}
			ok, err := tx.AdvanceReapplyJob(ctx, id, j.CursorPK, pks[len(pks)-1], int64(len(pks)), changed, failed)
			if err == nil && !ok {
				err = ErrReapplyMoved
			}
			return err
		})
		if err != nil {
			// The job stays unfinished: the next run resumes it.
			return j, fmt.Errorf("re-apply job %s: %w", id, err)
		}
	}
}

// ReapplyJob returns a re-apply job of by's tenant.
func (e *Engine) ReapplyJob(ctx context.Context, by store.Principal, id string) (store.ReapplyJob, error) {
	return e.db.ReapplyJob(ctx, by.TenantID, id)
}
