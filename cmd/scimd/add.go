package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

func init() {
	userSubcommands = append(userSubcommands,
		subcommand{"add", "add people by email address, one per line (a file or stdin), all with the same roles and groups", userAdd},
		subcommand{"invite-guest", "invite a guest: a user limited to one group, for an access window", userInviteGuest})
}

// errNothingWritten marks a command refused line by line, each line
// printed: it exits with exitInvalid.
var errNothingWritten = errors.New("nothing was written")

// asAdmin opens the database and returns the operator acting through the
// tenant's admin connector (created, tenant-wide, if missing): people
// added by hand are linked to it, as they are to the admin API's.
func asAdmin(ctx context.Context, dsn, tenant, connector string) (*store.DB, store.Principal, error) {
	db, _, err := userTenant(ctx, dsn, tenant)
	if err != nil {
		return nil, store.Principal{}, err
	}
	if err := reconcile.New(db, nil).SetConnectorAdmin(ctx, reconcile.CommandLine, tenant, connector, ""); err != nil {
		db.Close()
		return nil, store.Principal{}, err
	}
	p, err := db.ConnectorPrincipal(ctx, tenant, connector)
	if err != nil {
		db.Close()
		return nil, store.Principal{}, err
	}
	return db, p, nil
}

func userAdd(ctx context.Context, e env, args []string) error {
	synopsis := "user add --tenant T [--role R]... [--group G]... [--notify] [--dry-run] [--connector admin] [FILE|-]"
	fs := flags(e, "user add", synopsis)
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	connector := fs.String("connector", "admin", "the admin connector the people are added through")
	var add reconcile.AddUsers
	fs.Var((*names)(&add.Roles), "role", "a role every one of them gets (repeatable; created if missing)")
	fs.Var((*names)(&add.Groups), "group", "a group every one of them joins (repeatable)")
	fs.BoolVar(&add.Notify, "notify", true, "send each new user the activation message (their invitation)")
	fs.BoolVar(&add.DryRun, "dry-run", false, "check the list and say what it would do; write nothing")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError("--tenant is required")
	}
	if fs.NArg() > 1 {
		return usageError("one file of addresses at most")
	}
	in := e.stdin
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	lines := bufio.NewScanner(io.LimitReader(in, 64<<20))
	for lines.Scan() {
		add.Emails = append(add.Emails, strings.TrimSuffix(lines.Text(), "\r"))
	}
	if err := lines.Err(); err != nil {
		return err
	}
	db, by, err := asAdmin(ctx, *dsn, *tenant, *connector)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := reconcile.New(db, nil).AddUsers(ctx, by, add)
	if err != nil {
		return err
	}
	if res.ErrorCount > 0 {
		for _, le := range res.Errors {
			fmt.Fprintf(e.stderr, "line %d: %v\n", le.Line, le.Err)
		}
		if more := res.ErrorCount - len(res.Errors); more > 0 {
			fmt.Fprintf(e.stderr, "and %d more\n", more)
		}
		return fmt.Errorf("%w: %d line(s) to correct", errNothingWritten, res.ErrorCount)
	}
	for _, u := range res.Created {
		fmt.Fprintf(e.stdout, "%s\t%s\n", u.ID, u.UserName)
	}
	verb := "added"
	if add.DryRun {
		verb = "would be added (dry run, nothing written)"
	}
	fmt.Fprintf(e.stderr, "Users %s: %d new, %d updated, %d unchanged, %d roles added\n", verb, res.Added, res.Updated, res.Unchanged, res.RolesAdded)
	return nil
}

func userInviteGuest(ctx context.Context, e env, args []string) error {
	synopsis := "user invite-guest --tenant T --email E --group G [--start TIME] [--end TIME] [--given-name N] [--family-name N] [--notify]"
	fs := flags(e, "user invite-guest", synopsis)
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	connector := fs.String("connector", "admin", "the admin connector the guest is invited through")
	var g reconcile.Guest
	fs.StringVar(&g.Email, "email", "", "the guest's email address, their userName")
	fs.StringVar(&g.Group, "group", "", "the one group the guest may use")
	fs.StringVar(&g.GivenName, "given-name", "", "first name")
	fs.StringVar(&g.FamilyName, "family-name", "", "last name")
	start := fs.String("start", "", "access starts (RFC 3339 or 2006-01-02 15:04, UTC); default open")
	end := fs.String("end", "", "access ends (RFC 3339 or 2006-01-02 15:04, UTC); default open")
	fs.BoolVar(&g.Notify, "notify", true, "send the invitation (the activation message)")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || g.Email == "" || g.Group == "" {
		return usageError("--tenant, --email and --group are required")
	}
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
	}{{"start", *start, &g.AccessStart}, {"end", *end, &g.AccessEnd}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			if at, err = time.Parse("2006-01-02 15:04", t.v); err != nil {
				return usageError("--%s %q: give a time as 2027-01-31T17:00:00Z or 2027-01-31 17:00", t.flag, t.v)
			}
		}
		*t.dst = at
	}
	db, by, err := asAdmin(ctx, *dsn, *tenant, *connector)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := reconcile.New(db, nil).InviteGuest(ctx, by, g)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\t%s\n", u.ID, u.UserName)
	return nil
}
