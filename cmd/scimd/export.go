package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/csvio"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// export writes a tenant's users as a CSV file to stdout, which scimd
// import reads back.
func export(ctx context.Context, e env, args []string) error {
	fs := flags(e, "export", "export --tenant T [--connector C] [--config FILE] [--database-url URL] > users.csv")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	connector := fs.String("connector", "", "write the columns of this connector's CSV layout and its external IDs (default: the default layout, no external IDs)")
	configPath := configFlag(fs, e)
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError("--tenant is required")
	}
	if fs.NArg() > 0 {
		return usageError("export takes no arguments: it writes to stdout (> users.csv)")
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	db, by, err := userTenant(ctx, *dsn, *tenant)
	if err != nil {
		return err
	}
	defer db.Close()
	c := store.Principal{TenantID: by.TenantID, TenantName: by.TenantName}
	if *connector != "" {
		if c, err = db.ConnectorPrincipal(ctx, *tenant, *connector); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no connector %q in tenant %q", *connector, *tenant)
		} else if err != nil {
			return err
		}
		c.OrgUnit = ""
	}
	n, err := csvExporter{db.Reader(), reconcile.New(db, cfg)}.export(ctx, e.stdout, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Exported %d users.\n", n)
	return nil
}

// csvExporter is the admin API's exporter: csvio's, in a connector's
// layout.
type csvExporter struct {
	db     store.Reader
	engine *reconcile.Engine
}

var _ admin.Exporter = csvExporter{}

func (x csvExporter) Export(ctx context.Context, w io.Writer, c store.Principal) error {
	_, err := x.export(ctx, w, c)
	return err
}

func (x csvExporter) export(ctx context.Context, w io.Writer, c store.Principal) (int, error) {
	layout := csvio.DefaultLayout()
	if c.ConnectorName != "" {
		conn, err := x.engine.Connector(ctx, c.TenantID, c.TenantName, c.ConnectorName)
		if err != nil {
			return 0, err
		}
		layout = csvio.LayoutOf(conn.CSV)
	}
	return csvio.Export(ctx, x.db, w, layout, c)
}
