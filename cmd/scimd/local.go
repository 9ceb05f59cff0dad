package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

func init() {
	userSubcommands = append(userSubcommands, subcommand{"local",
		"mark a user local, a break-glass account no connector may match, change, disable or delete (--local=false: unmark)", userLocal})
}

func userLocal(ctx context.Context, e env, args []string) error {
	var local *bool
	db, by, id, err := oneUser(ctx, e, "local", "user local --tenant T --user ID [--local=false] [--database-url URL]", args,
		func(fs *flag.FlagSet) {
			local = fs.Bool("local", true, "true marks the user local, false unmarks them")
		})
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := reconcile.New(db, nil).SetUserLocal(ctx, by, *id, *local)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %s in tenant %q", *id, by.TenantName)
	}
	if err != nil {
		return err
	}
	if u.Local {
		fmt.Fprintf(e.stderr, "User %s (%s) is local: no connector may match, change, disable or delete them; administrators still may.\n", u.ID, u.UserName)
	} else {
		fmt.Fprintf(e.stderr, "User %s (%s) is no longer local: connectors may manage them again.\n", u.ID, u.UserName)
	}
	return nil
}
