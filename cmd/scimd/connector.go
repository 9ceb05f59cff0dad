package main

import (
	"context"
	"fmt"

	"github.com/scimd/scimd/scim/dialect"
)

func connector(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "set" {
		return usageError("connector needs a subcommand: set")
	}
	fs := flags(e, "connector set", "connector set --tenant T --connector C --profile P [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name (created if missing)")
	name := fs.String("connector", "", "connector name (created if missing)")
	profile := fs.String("profile", "", fmt.Sprintf("identity provider compatibility profile: one of %v", dialect.Names()))
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *tenant == "" || *name == "" || *profile == "" {
		return usageError("--tenant, --connector and --profile are required")
	}
	if _, err := dialect.Lookup(*profile); err != nil {
		return usageError("%v", err)
	}
	db, err := openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetProfile(ctx, *tenant, *name, *profile); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Connector %q of tenant %q now uses the %s profile.\n", *name, *tenant, *profile)
	return nil
}
