package main

import (
	"context"
	"fmt"

	"github.com/scimd/scimd/store"
)

func migrate(ctx context.Context, e env, args []string) error {
	fs := flags(e, "migrate", "migrate [--database-url URL]")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := db.Pending(ctx)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	for _, name := range pending {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	fmt.Fprintf(e.stdout, "schema is up to date (%d applied now)\n", len(pending))
	return nil
}
