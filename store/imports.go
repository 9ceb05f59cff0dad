package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// States of an [ImportJob].
const (
	ImportQueued     = "queued"
	ImportValidating = "validating"
	ImportLoading    = "loading"
	ImportDone       = "done"
	ImportFailed     = "failed"
)

// ImportJob is a CSV file posted to the admin API, validated or loaded in
// the background.
type ImportJob struct {
	bun.BaseModel `bun:"table:import_jobs"`

	ID          string `bun:"id,pk"`
	TenantID    int64  `bun:"tenant_id"`
	ConnectorID int64  `bun:"connector_id,nullzero"`
	State       string `bun:"state"`
	DryRun      bool   `bun:"dry_run"`
	RowsDone    int64  `bun:"rows_done"`
	// RowsTotal is the file's lines until the job ends, then its rows.
	RowsTotal int64 `bun:"rows_total"`
	// Report is the import's report, JSON; "" until the job ends.
	Report     string     `bun:"report,nullzero"`
	CreatedBy  string     `bun:"created_by"`
	CreatedAt  time.Time  `bun:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at"`
	FinishedAt *time.Time `bun:"finished_at"`
}

// InsertImportJob stores a new job, queued, giving it its id.
func (tx *Tx) InsertImportJob(ctx context.Context, j *ImportJob) error {
	j.ID, j.State = uuid.NewString(), ImportQueued
	j.CreatedAt = now()
	j.UpdatedAt = j.CreatedAt
	_, err := tx.idb.NewInsert().Model(j).Exec(ctx)
	return mapError(err)
}

// SetImportProgress records a running job's state and rows done.
func (tx *Tx) SetImportProgress(ctx context.Context, id, state string, done int64) error {
	_, err := tx.idb.NewUpdate().Model((*ImportJob)(nil)).Set("state = ?", state).Set("rows_done = ?", done).
		Set("updated_at = ?", now()).Where("id = ? AND finished_at IS NULL", id).Exec(ctx)
	return mapError(err)
}

// FinishImportJob ends a job: done or failed, with its rows and report.
func (tx *Tx) FinishImportJob(ctx context.Context, id, state string, rows int64, report string) error {
	t := now()
	_, err := tx.idb.NewUpdate().Model((*ImportJob)(nil)).Set("state = ?", state).
		Set("rows_done = ?", rows).Set("rows_total = ?", rows).Set("report = ?", report).
		Set("updated_at = ?", t).Set("finished_at = ?", t).Where("id = ? AND finished_at IS NULL", id).Exec(ctx)
	return mapError(err)
}

// FailStaleImportJobs marks failed, with report, every job not finished
// (queued, validating or loading) whose row has not moved since before,
// and returns how many.
func (tx *Tx) FailStaleImportJobs(ctx context.Context, before time.Time, report string) (int, error) {
	t := now()
	res, err := tx.idb.NewUpdate().Model((*ImportJob)(nil)).Set("state = ?", ImportFailed).Set("report = ?", report).
		Set("updated_at = ?", t).Set("finished_at = ?", t).Where("finished_at IS NULL AND updated_at < ?", before.UTC()).Exec(ctx)
	if err != nil {
		return 0, mapError(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ImportJob returns a job of the tenant by id; another tenant's, or an
// unknown id, is [ErrNotFound].
func (r reader) ImportJob(ctx context.Context, tenantID int64, id string) (ImportJob, error) {
	var j ImportJob
	if !ValidID(id) {
		return j, ErrNotFound
	}
	err := r.idb.NewSelect().Model(&j).Where("tenant_id = ? AND id = ?", tenantID, id).Scan(ctx)
	return j, mapError(err)
}

// ImportJobs returns the tenant's latest jobs, newest first, at most limit
// of them, without their reports.
func (r reader) ImportJobs(ctx context.Context, tenantID int64, limit int) ([]ImportJob, error) {
	var js []ImportJob
	err := r.idb.NewSelect().Model(&js).ExcludeColumn("report").Where("tenant_id = ?", tenantID).
		OrderExpr("created_at DESC, id").Limit(int64(limit)).Scan(ctx)
	return js, mapError(err)
}
