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
	// Several replicas may run this at once (a Job and pods starting):
	// they take turns on the migration lock, and each names only what it
	// applied itself.
	applied, err := db.Apply(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	fmt.Fprintf(e.stdout, "schema is up to date (%d applied now)\n", len(applied))
	return nil
}
