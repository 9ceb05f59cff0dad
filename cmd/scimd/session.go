package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

var session = group("session",
	subcommand{"list", "list a user's sign-in sessions, live and ended (never their secrets)", sessionList},
	subcommand{"end", "end every live session of a user at once", sessionEnd},
)

// sessionFlags parses --tenant and --user and opens the database, which
// must exist; it returns the tenant.
func sessionFlags(ctx context.Context, e env, verb string, args []string) (*store.DB, store.Tenant, string, error) {
	fs := flags(e, "session "+verb, "session "+verb+" --tenant T --user ID [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	user := fs.String("user", "", "the user's SCIM id")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return nil, store.Tenant{}, "", err
	}
	if *tenant == "" || *user == "" {
		return nil, store.Tenant{}, "", usageError("--tenant and --user are required")
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return nil, store.Tenant{}, "", err
	}
	t, err := db.Tenant(ctx, *tenant)
	if errors.Is(err, store.ErrNotFound) {
		db.Close()
		return nil, store.Tenant{}, "", fmt.Errorf("no tenant %q in this database", *tenant)
	}
	if err != nil {
		db.Close()
		return nil, store.Tenant{}, "", err
	}
	if _, err := db.User(ctx, t.ID, 0, *user); err != nil {
		db.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, store.Tenant{}, "", fmt.Errorf("no user %s in tenant %q", *user, *tenant)
		}
		return nil, store.Tenant{}, "", err
	}
	return db, t, *user, nil
}

func sessionList(ctx context.Context, e env, args []string) error {
	db, t, user, err := sessionFlags(ctx, e, "list", args)
	if err != nil {
		return err
	}
	defer db.Close()
	sessions, err := db.UserSessions(ctx, t.ID, user, 1000)
	if err != nil {
		return err
	}
	names, err := db.ConnectorNames(ctx, t.ID)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCONNECTOR\tSTARTED\tLAST SEEN\tEXPIRES\tSTATUS")
	now := time.Now()
	for _, s := range sessions {
		status := "live"
		switch {
		case s.EndedAt != nil:
			status = "ended " + s.EndedAt.Format(time.RFC3339) + " (" + s.EndReason + ")"
		case !now.Before(s.ExpiresAt), !now.Before(s.IdleExpiresAt):
			status = "expired"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, names[s.ConnectorID], s.CreatedAt.Format(time.RFC3339),
			s.LastSeenAt.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339), status)
	}
	return w.Flush()
}

func sessionEnd(ctx context.Context, e env, args []string) error {
	db, t, user, err := sessionFlags(ctx, e, "end", args)
	if err != nil {
		return err
	}
	defer db.Close()
	by := reconcile.CommandLine
	by.TenantID, by.TenantName = t.ID, t.Name
	n, err := reconcile.New(db, nil).EndUserSessions(ctx, by, user)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Ended %d live session(s) of user %s; their next request must sign in again.\n", n, user)
	return nil
}
