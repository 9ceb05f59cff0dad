package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/reconcile"
)

var token = group("token",
	subcommand{"create", "make a bearer token for a connector (shown once)", tokenCreate},
	subcommand{"list", "list the tokens, by hint, with their status", tokenList},
	subcommand{"revoke", "revoke a token by its ID", tokenRevoke},
)

// tokenCreate makes a bearer token for a connector, creating the tenant and
// connector if missing. The token is the last line on stdout, alone, so
// TOKEN=$(scimd token create ...) works; the rest goes to stderr.
func tokenCreate(ctx context.Context, e env, args []string) error {
	fs := flags(e, "token create", "token create --tenant T --connector C [--admin [--org-unit PATH] | --kind oidc] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/ (created if missing)")
	connector := fs.String("connector", "", "connector name, e.g. okta or entra (created if missing)")
	admin := fs.Bool("admin", false, "the connector is for administrators: its tokens open the admin API (/admin/v1/{tenant}/), not SCIM")
	kind := fs.String("kind", "", "scim or oidc: the connector pushes users over SCIM, or is an OIDC provider whose app calls the ID-token hook (/jit/{tenant}/{connector}) (default: as it is; new connectors scim, or as the tenant's saved configuration says)")
	orgUnit := fs.String("org-unit", "", "with --admin: the org unit these administrators see, with everything below it (default: the whole tenant)")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *connector == "" {
		return usageError("--tenant and --connector are required")
	}
	if *orgUnit != "" && !*admin {
		return usageError("--org-unit scopes an admin connector: add --admin")
	}
	if *kind != "" && *kind != "scim" && *kind != "oidc" {
		return usageError("--kind is scim or oidc")
	}
	if *kind != "" && *admin {
		return usageError("--admin makes an admin connector: leave out --kind")
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	engine := reconcile.New(db, nil)
	if *admin {
		if err := engine.SetConnectorAdmin(ctx, reconcile.CommandLine, *tenant, *connector, *orgUnit); err != nil {
			return err
		}
	}
	if *kind != "" {
		if err := engine.SetConnectorKind(ctx, reconcile.CommandLine, *tenant, *connector, *kind); err != nil {
			return err
		}
	}
	t, err := engine.IssueToken(ctx, reconcile.CommandLine, *tenant, *connector)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Created token %d (%s…) for connector %q of tenant %q.\n", t.ID, t.Hint, *connector, *tenant)
	fmt.Fprintf(e.stderr, "It is shown only this once; scimd keeps only its hash. SCIM base path: /scim/v2/%s\n", *tenant)
	fmt.Fprintln(e.stdout, t.Secret)
	return nil
}

func tokenList(ctx context.Context, e env, args []string) error {
	fs := flags(e, "token list", "token list [--tenant T] [--database-url URL]")
	tenant := fs.String("tenant", "", "only this tenant's tokens")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	tokens, err := db.Tokens(ctx, *tenant)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tTENANT\tCONNECTOR\tTOKEN\tCREATED\tSTATUS")
	for _, t := range tokens {
		status := "active"
		if t.RevokedAt != nil {
			status = "revoked " + t.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s…\t%s\t%s\n", t.ID, t.Tenant, t.Connector, t.Hint, t.CreatedAt.Format(time.RFC3339), status)
	}
	return w.Flush()
}

func tokenRevoke(ctx context.Context, e env, args []string) error {
	fs := flags(e, "token revoke", "token revoke ID [--database-url URL]")
	dsn := databaseFlag(fs, e)
	// Accept the id before or after the flags.
	var id string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		id, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return usageError("token revoke needs the token's ID, as 'scimd token list' shows it")
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := reconcile.New(db, nil).RevokeToken(ctx, reconcile.CommandLine, n); err != nil {
		return fmt.Errorf("revoke token %d: %w", n, err)
	}
	fmt.Fprintf(e.stderr, "Revoked token %d.\n", n)
	return nil
}
