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
	"github.com/scimd/scimd/store"
)

var connector = group("connector",
	subcommand{"set", "choose a connector's compatibility profile or mode (live, shadow)", connectorSet},
	subcommand{"shadow", "show what a shadow connector would have done", connectorShadow},
	subcommand{"preview", "show what a SCIM User payload would do, writing nothing", preview},
	subcommand{"requests", "list a connector's logged SCIM requests, newest first", connectorRequests},
	subcommand{"replay", "show what a logged SCIM request would do now, writing nothing", connectorReplay},
	subcommand{"held", "list, approve or reject the writes the deletion guard held", held},
)

func connectorSet(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector set", "connector set --tenant T --connector C [--profile P] [--mode live|shadow] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name (created if missing)")
	name := fs.String("connector", "", "connector name (created if missing)")
	profile := fs.String("profile", "", fmt.Sprintf("identity provider compatibility profile: one of %v", dialect.Names()))
	mode := fs.String("mode", "", "live (writes), or shadow (plans, answers the IdP, and keeps the plans in a shadow log instead of writing)")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" || *profile == "" && *mode == "" {
		return usageError("--tenant, --connector and --profile or --mode are required")
	}
	if *profile != "" {
		if _, err := dialect.Lookup(*profile); err != nil {
			return usageError("%v", err)
		}
	}
	if *mode != "" && *mode != store.ModeLive && *mode != store.ModeShadow {
		return usageError("--mode must be %s or %s, not %q", store.ModeLive, store.ModeShadow, *mode)
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	engine := reconcile.New(db, nil)
	if *profile != "" {
		if err := engine.SetProfile(ctx, reconcile.CommandLine, *tenant, *name, *profile); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Connector %q of tenant %q now uses the %s profile.\n", *name, *tenant, *profile)
	}
	if *mode != "" {
		if err := engine.SetMode(ctx, reconcile.CommandLine, *tenant, *name, *mode); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Connector %q of tenant %q is now in %s mode.\n", *name, *tenant, *mode)
	}
	return nil
}

// connectorShadow prints a connector's shadow summary as JSON (what it
// would have done in shadow mode), or with --clear empties its shadow
// store and log.
func connectorShadow(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector shadow", "connector shadow --tenant T --connector C [--clear] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name")
	name := fs.String("connector", "", "connector name")
	clear := fs.Bool("clear", false, "empty the connector's shadow store and log instead")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" {
		return usageError("--tenant and --connector are required")
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	engine := reconcile.New(db, nil)
	if *clear {
		n, err := engine.ClearShadow(ctx, reconcile.CommandLine, *tenant, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Cleared the shadow log of connector %q of tenant %q (%d plans).\n", *name, *tenant, n)
		return nil
	}
	sum, err := engine.ShadowSummary(ctx, *tenant, *name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
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
