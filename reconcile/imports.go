package reconcile

import (
	"context"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// CSVLayout is a CSV connector's file layout as its configuration states
// it (kind: csv, csv: {columns, require, empty}); csvio reads files by it.
type CSVLayout = rules.CSV

// CSVFields are the fields a CSV column may fill, by the default layout's
// column names.
var CSVFields = rules.CSVFields

// CSVField returns the field of [CSVFields] a name means (any case, spaces
// ignored), and false when none.
func CSVField(name string) (string, bool) { return rules.CSVField(name) }

// CSVKey folds a header as layouts compare headers.
func CSVKey(s string) string { return rules.CSVKey(s) }

// CSV values of a layout's empty.
const (
	CSVEmptyKeep  = rules.CSVEmptyKeep
	CSVEmptyClear = rules.CSVEmptyClear
)

// ImportAs returns the principal a CSV import by by writes as: the named
// connector of by's tenant, created if missing, made a csv connector (an
// admin connector, or one that already provisions users of another kind,
// is a [*store.LimitError]), with the layout its configuration states
// (nil: the default one).
func (e *Engine) ImportAs(ctx context.Context, by store.Principal, connector string) (store.Principal, *CSVLayout, error) {
	defer e.db.PrincipalsChanged() // the connector's kind may change
	if err := mayAdminister(by, by.TenantName); err != nil {
		return store.Principal{}, nil, err
	}
	var p store.Principal
	var layout *CSVLayout
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := ensureKind(ctx, tx, by, by.TenantName, connector, store.KindCSV); err != nil {
			return err
		}
		conf, _, err := e.connector(ctx, tx, by.TenantID, by.TenantName, connector)
		if err != nil {
			return err
		}
		layout = conf.CSV
		p, err = tx.ConnectorPrincipal(ctx, by.TenantName, connector)
		return err
	})
	return p, layout, err
}

// StartImportJob records a queued import job of tenant by.TenantID, by
// by's connector, into connectorID, of about rows rows.
func (e *Engine) StartImportJob(ctx context.Context, by store.Principal, connectorID int64, dryRun bool, rows int64) (store.ImportJob, error) {
	j := store.ImportJob{TenantID: by.TenantID, ConnectorID: connectorID, DryRun: dryRun, RowsTotal: rows, CreatedBy: by.ConnectorName}
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertImportJob(ctx, &j) })
	return j, err
}

// ImportJobProgress records a running job's state and rows done.
func (e *Engine) ImportJobProgress(ctx context.Context, id, state string, done int64) error {
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.SetImportProgress(ctx, id, state, done)
	})
}

// FinishImportJob ends a job, done or failed, with its rows and report
// (JSON).
func (e *Engine) FinishImportJob(ctx context.Context, id, state string, rows int64, report string) error {
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.FinishImportJob(ctx, id, state, rows, report)
	})
}

// FailStaleImportJobs marks failed, with report (JSON), the jobs left
// queued, validating or loading whose rows have not moved since before:
// their process stopped. It returns how many. scimd serve calls it as it
// starts; a load's writes are one transaction, so such a job wrote
// nothing.
func (e *Engine) FailStaleImportJobs(ctx context.Context, before time.Time, report string) (int, error) {
	var n int
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		n, err = tx.FailStaleImportJobs(ctx, before, report)
		return err
	})
	return n, err
}
