package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// States of a [ReapplyJob].
const (
	ReapplyRunning = "running"
	ReapplyDone    = "done"
	ReapplyFailed  = "failed"
)

// ReapplyJob is a tenant's configuration applied to its existing users, a
// batch of users a transaction in pk order (migration 0020).
type ReapplyJob struct {
	bun.BaseModel `bun:"table:reapply_jobs"`

	ID       string `bun:"id,pk"`
	TenantID int64  `bun:"tenant_id"`
	State    string `bun:"state"`
	// ConfigVersion is the tenant's configuration version the job applies.
	ConfigVersion int64 `bun:"config_version"`
	// CursorPK is the last user of the last batch committed: the job goes
	// on after it.
	CursorPK     int64 `bun:"cursor_pk"`
	UsersDone    int64 `bun:"users_done"`
	UsersChanged int64 `bun:"users_changed"`
	UsersFailed  int64 `bun:"users_failed"`
	// UsersTotal is the tenant's live users when the job started.
	UsersTotal int64 `bun:"users_total"`
	// Report is the job's report, JSON; "" until the job ends.
	Report     string     `bun:"report,nullzero"`
	CreatedBy  string     `bun:"created_by"`
	CreatedAt  time.Time  `bun:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at"`
	FinishedAt *time.Time `bun:"finished_at"`
}

// InsertReapplyJob stores a new running job, giving it its id. A tenant
// with an unfinished job already is an [ErrConflict] (the unique index).
func (tx *Tx) InsertReapplyJob(ctx context.Context, j *ReapplyJob) error {
	j.ID, j.State = uuid.NewString(), ReapplyRunning
	j.CreatedAt = now()
	j.UpdatedAt = j.CreatedAt
	_, err := tx.idb.NewInsert().Model(j).Exec(ctx)
	return mapError(err)
}

// AdvanceReapplyJob records a committed batch of the job: its cursor moves
// from after to cursor, and the counts grow. It reports false, writing
// nothing, when the job's cursor is not after any more (another runner
// moved it, or the job ended): the caller's batch must roll back.
func (tx *Tx) AdvanceReapplyJob(ctx context.Context, id string, after, cursor, done, changed, failed int64) (bool, error) {
	res, err := tx.idb.NewUpdate().Model((*ReapplyJob)(nil)).Set("cursor_pk = ?", cursor).
		Set("users_done = users_done + ?", done).Set("users_changed = users_changed + ?", changed).
		Set("users_failed = users_failed + ?", failed).Set("updated_at = ?", now()).
		Where("id = ? AND cursor_pk = ? AND finished_at IS NULL", id, after).Exec(ctx)
	if err != nil {
		return false, mapError(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RestartReapplyJob sets an unfinished job to apply version from the
// first user again, its counts zeroed.
func (tx *Tx) RestartReapplyJob(ctx context.Context, id string, version, total int64) error {
	_, err := tx.idb.NewUpdate().Model((*ReapplyJob)(nil)).Set("config_version = ?", version).
		Set("cursor_pk = 0, users_done = 0, users_changed = 0, users_failed = 0").Set("users_total = ?", total).
		Set("updated_at = ?", now()).Where("id = ? AND finished_at IS NULL", id).Exec(ctx)
	return mapError(err)
}

// FinishReapplyJob ends a job, done or failed, with its report (JSON).
func (tx *Tx) FinishReapplyJob(ctx context.Context, id, state, report string) error {
	t := now()
	_, err := tx.idb.NewUpdate().Model((*ReapplyJob)(nil)).Set("state = ?", state).Set("report = ?", report).
		Set("updated_at = ?", t).Set("finished_at = ?", t).Where("id = ? AND finished_at IS NULL", id).Exec(ctx)
	return mapError(err)
}

// ReapplyJob returns a job of the tenant by id; another tenant's, or an
// unknown id, is [ErrNotFound].
func (r reader) ReapplyJob(ctx context.Context, tenantID int64, id string) (ReapplyJob, error) {
	var j ReapplyJob
	if !ValidID(id) {
		return j, ErrNotFound
	}
	err := r.idb.NewSelect().Model(&j).Where("tenant_id = ? AND id = ?", tenantID, id).Scan(ctx)
	return j, mapError(err)
}

// UnfinishedReapplyJob returns the tenant's job not finished, or
// [ErrNotFound] when there is none.
func (r reader) UnfinishedReapplyJob(ctx context.Context, tenantID int64) (ReapplyJob, error) {
	var j ReapplyJob
	err := r.idb.NewSelect().Model(&j).Where("tenant_id = ? AND finished_at IS NULL", tenantID).Limit(1).Scan(ctx)
	return j, mapError(err)
}

// LiveUserPKs returns up to limit of the internal keys of the tenant's live
// users after after, in order: the keyset pages of a walk over every user
// (an impact report, a re-apply job), reading the (tenant_id, pk) index
// only.
func (r reader) LiveUserPKs(ctx context.Context, tenantID, after int64, limit int) ([]int64, error) {
	from := "users AS u"
	if r.dialect == SQLite {
		from += " INDEXED BY users_tenant_pk" // see pageTable
	}
	var pks []int64
	err := r.idb.NewSelect().TableExpr(from).ColumnExpr("u.pk").
		Where(r.tenantIs("u"), tenantID).Where(live).Where("u.pk > ?", after).
		OrderExpr("u.tenant_id, u.pk").Limit(int64(limit)).Scan(ctx, &pks)
	return pks, mapError(err)
}

// CountLiveUsers returns how many live users the tenant has.
func (r reader) CountLiveUsers(ctx context.Context, tenantID int64) (int64, error) {
	n, err := r.idb.NewSelect().TableExpr("users AS u").Where("u.tenant_id = ?", tenantID).Where(live).Count(ctx)
	return int64(n), mapError(err)
}

// Connectors returns the tenant's connectors, by id.
func (r reader) Connectors(ctx context.Context, tenantID int64) ([]Connector, error) {
	var cs []Connector
	err := r.idb.NewSelect().Model(&cs).Where("tenant_id = ?", tenantID).OrderExpr("id").Scan(ctx)
	return cs, mapError(err)
}
