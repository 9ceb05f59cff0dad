package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// userSubcommands is the table of "scimd user" verbs; other files add
// theirs (resend-activation) by appending in an init.
var userSubcommands = []subcommand{
	{"list", "list a tenant's users: id, userName, status (--deleted: the deleted ones)", userList},
	{"disable", "disable a user: SCIM shows active false, sign-in is refused, sessions end", userVerb("disable")},
	{"enable", "enable a user (--force: one pending activation too)", userVerb("enable")},
	{"delete", "delete a user softly, as a SCIM DELETE: restore brings them back", userVerb("delete")},
	{"restore", "bring back a deleted user, disabled and without roles and groups", userVerb("restore")},
	{"grant", "set a user's manual roles and groups (--role R --group G, repeatable; none: remove them)", userGrant},
	{"erase", "erase a user for good and scrub their values from the audit trail (GDPR art. 17)", userVerb("erase")},
}

func user(ctx context.Context, e env, args []string) error {
	return group("user", userSubcommands...)(ctx, e, args)
}

// userTenant opens the database, which must exist, and finds the tenant;
// it returns the command line as that tenant's operator.
func userTenant(ctx context.Context, dsn, tenant string) (*store.DB, store.Principal, error) {
	db, err := openExisting(ctx, dsn)
	if err != nil {
		return nil, store.Principal{}, err
	}
	t, err := db.Tenant(ctx, tenant)
	if err != nil {
		db.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, store.Principal{}, fmt.Errorf("no tenant %q in this database", tenant)
		}
		return nil, store.Principal{}, err
	}
	by := reconcile.CommandLine
	by.TenantID, by.TenantName = t.ID, t.Name
	return db, by, nil
}

func userList(ctx context.Context, e env, args []string) error {
	fs := flags(e, "user list", "user list --tenant T [--deleted] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	deleted := fs.Bool("deleted", false, "list the deleted users, which restore brings back")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError("--tenant is required")
	}
	db, by, err := userTenant(ctx, *dsn, *tenant)
	if err != nil {
		return err
	}
	defer db.Close()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSERNAME\tSTATUS")
	var after int64
	for {
		us, err := db.UsersInOrgUnit(ctx, by.TenantID, "", after, 1000)
		if *deleted {
			us, err = db.DeletedUsers(ctx, by.TenantID, after, 1000)
		}
		if err != nil {
			return err
		}
		for _, u := range us {
			status := u.Status
			if !u.DeletedAt.IsZero() {
				status = "deleted"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", u.ID, u.UserName, status)
		}
		if len(us) < 1000 {
			break
		}
		after = us[len(us)-1].PK
	}
	return w.Flush()
}

// oneUser parses the flags of a verb on one user, --tenant T --user ID
// and the verb's own (more), and opens the database; it returns the
// command line as the tenant's operator and the user's id.
func oneUser(ctx context.Context, e env, verb, synopsis string, args []string, more func(*flag.FlagSet)) (*store.DB, store.Principal, *string, error) {
	fs := flags(e, "user "+verb, synopsis)
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	id := fs.String("user", "", "the user's SCIM id")
	more(fs)
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return nil, store.Principal{}, nil, err
	}
	if *tenant == "" || *id == "" {
		return nil, store.Principal{}, nil, usageError("--tenant and --user are required")
	}
	db, by, err := userTenant(ctx, *dsn, *tenant)
	return db, by, id, err
}

// userVerb is a lifecycle verb on one user: --tenant T --user ID.
func userVerb(verb string) command {
	return func(ctx context.Context, e env, args []string) error {
		synopsis := "user " + verb + " --tenant T --user ID [--database-url URL]"
		if verb == "enable" {
			synopsis = "user enable --tenant T --user ID [--force] [--database-url URL]"
		}
		var force *bool
		db, by, id, err := oneUser(ctx, e, verb, synopsis, args, func(fs *flag.FlagSet) {
			if verb == "enable" {
				force = fs.Bool("force", false, "enable a user who has not activated their account yet")
			}
		})
		if err != nil {
			return err
		}
		defer db.Close()
		eng := reconcile.New(db, nil)
		var u store.User
		switch verb {
		case "disable":
			u, err = eng.DisableUser(ctx, by, *id)
		case "enable":
			u, err = eng.EnableUser(ctx, by, *id, *force)
		case "delete":
			err = eng.DeleteUser(ctx, by, *id)
		case "restore":
			u, err = eng.RestoreUser(ctx, by, *id)
		case "erase":
			err = eng.EraseUser(ctx, by, *id)
		default:
			return flag.ErrHelp
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user %s in tenant %q", *id, by.TenantName)
		}
		if err != nil {
			return err
		}
		switch verb {
		case "delete":
			fmt.Fprintf(e.stderr, "Deleted user %s: SCIM answers 404 for them; 'scimd user restore' brings them back, 'scimd user erase' removes them for good.\n", *id)
		case "erase":
			fmt.Fprintf(e.stderr, "Erased user %s: the row is gone and their audit events keep no values.\n", *id)
		case "restore":
			fmt.Fprintf(e.stderr, "Restored user %s (%s): %s.\n", u.ID, u.UserName, admin.RestoredNote)
		default:
			fmt.Fprintf(e.stderr, "User %s (%s) is now %s.\n", u.ID, u.UserName, u.Status)
		}
		return nil
	}
}

// names is a repeatable string flag.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

func userGrant(ctx context.Context, e env, args []string) error {
	var want reconcile.Grants
	db, by, id, err := oneUser(ctx, e, "grant", "user grant --tenant T --user ID [--role R]... [--group G]... [--database-url URL]", args, func(fs *flag.FlagSet) {
		fs.Var((*names)(&want.Roles), "role", "a role to grant (repeatable)")
		fs.Var((*names)(&want.Groups), "group", "a group to grant (repeatable)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	gs, err := reconcile.New(db, nil).SetUserGrants(ctx, by, *id, want)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %s in tenant %q", *id, by.TenantName)
	}
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tTARGET\tSOURCE\tRULE")
	for _, g := range gs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", g.Kind, g.Target, g.Source, g.Rule)
	}
	return w.Flush()
}
