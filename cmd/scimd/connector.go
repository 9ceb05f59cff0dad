package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/reconcile"

	"github.com/scimd/scimd/scim/dialect"
)

var connector = group("connector",
	subcommand{"set", "choose a connector's compatibility profile", connectorSet},
	subcommand{"preview", "show what a SCIM User payload would do, writing nothing", preview},
	subcommand{"held", "list, approve or reject the writes the deletion guard held", held},
)

func connectorSet(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector set", "connector set --tenant T --connector C --profile P [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name (created if missing)")
	name := fs.String("connector", "", "connector name (created if missing)")
	profile := fs.String("profile", "", fmt.Sprintf("identity provider compatibility profile: one of %v", dialect.Names()))
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" || *profile == "" {
		return usageError("--tenant, --connector and --profile are required")
	}
	if _, err := dialect.Lookup(*profile); err != nil {
		return usageError("%v", err)
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := reconcile.New(db, nil).SetProfile(ctx, reconcile.CommandLine, *tenant, *name, *profile); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Connector %q of tenant %q now uses the %s profile.\n", *name, *tenant, *profile)
	return nil
}

// preview shows what a SCIM User payload would do if the connector pushed
// it: the user it matches, the rules that fire, the grants and attribute
// changes. It writes nothing.
func preview(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector preview", "connector preview --tenant T --connector C [--config FILE] [--database-url URL] PAYLOAD.json (- for stdin)")
	tenant := fs.String("tenant", "", "tenant name")
	name := fs.String("connector", "", "connector name")
	configPath := configFlag(fs, e)
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" || fs.NArg() != 1 {
		return usageError("--tenant, --connector and one payload file are required")
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	var raw []byte
	if fs.Arg(0) == "-" {
		raw, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	} else {
		raw, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: not a SCIM User JSON document: %w", fs.Arg(0), err)
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := db.ConnectorPrincipal(ctx, *tenant, *name)
	if err != nil {
		return fmt.Errorf("connector %s of tenant %s: %w", *name, *tenant, err)
	}
	plan, err := reconcile.New(db, cfg).Plan(ctx, admin.PreviewInput(p, doc))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(plan.Summary())
}
