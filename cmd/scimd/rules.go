package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

var configCommand = group("config",
	subcommand{"check", "check the configuration (file, environment) and exit: 3 when it has problems, each listed", configCheck},
	subcommand{"impact", "show what a new configuration would change for the existing users, writing nothing", configImpact},
	subcommand{"reapply", "apply the tenant's configuration to its existing users (resumes an unfinished job)", configReapply},
)

func configImpact(ctx context.Context, e env, args []string) error {
	fs := flags(e, "config impact", "config impact --tenant T --config NEW.yaml [--json] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	path := fs.String("config", "", "the new connector configuration of the tenant (a YAML file naming that tenant only)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *path == "" {
		return usageError("--tenant and --config are required")
	}
	text, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	db, by, err := userTenant(ctx, *dsn, *tenant)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := reconcile.New(db, nil).Impact(ctx, by, string(text), nil)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(e.stdout, "%d users read: %d would change, %d cannot be mapped.\n", rep.Users, rep.Changed, rep.Failed)
	for _, k := range slices.Sorted(maps.Keys(rep.ByChange)) {
		fmt.Fprintf(e.stdout, "  %-14s %d\n", k, rep.ByChange[k])
	}
	for _, r := range slices.Sorted(maps.Keys(rep.ByRule)) {
		fmt.Fprintf(e.stdout, "  rule %-20s +%d -%d\n", r, rep.ByRule[r].Added, rep.ByRule[r].Revoked)
	}
	if len(rep.Undecided) > 0 {
		fmt.Fprintf(e.stdout, "Not re-run, for they read a sign-in's claims (kept until the next sign-in): %s\n", strings.Join(rep.Undecided, ", "))
	}
	for _, u := range rep.Sample {
		if u.Error != "" {
			fmt.Fprintf(e.stdout, "%s (%s): %s\n", u.UserName, u.Connector, u.Error)
			continue
		}
		var what []string
		for _, g := range u.Grants {
			what = append(what, fmt.Sprintf("%s %s %s (%s)", g.Op, g.Kind, g.Name, g.Rule))
		}
		for _, c := range u.Changes {
			what = append(what, fmt.Sprintf("%s %v → %v", c.Attribute, c.Before, c.After))
		}
		fmt.Fprintf(e.stdout, "%s (%s): %s\n", u.UserName, u.Connector, strings.Join(what, "; "))
	}
	return nil
}

func configReapply(ctx context.Context, e env, args []string) error {
	fs := flags(e, "config reapply", "config reapply --tenant T [--config FILE] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	path := configFlag(fs, e)
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError("--tenant is required")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	db, by, err := userTenant(ctx, *dsn, *tenant)
	if err != nil {
		return err
	}
	defer db.Close()
	engine := reconcile.New(db, cfg)
	j, resumed, err := engine.StartReapply(ctx, by)
	if err != nil {
		return err
	}
	if resumed {
		fmt.Fprintf(e.stderr, "Resuming re-apply job %s after %d of %d users.\n", j.ID, j.UsersDone, j.UsersTotal)
	} else {
		fmt.Fprintf(e.stderr, "Re-apply job %s: %d users.\n", j.ID, j.UsersTotal)
	}
	j, err = engine.RunReapply(ctx, by, j.ID, func(j store.ReapplyJob) {
		fmt.Fprintf(e.stderr, "  %d/%d users, %d changed\n", j.UsersDone, j.UsersTotal, j.UsersChanged)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Re-apply job %s %s: %d users, %d changed, %d could not be mapped.\n", j.ID, j.State, j.UsersDone, j.UsersChanged, j.UsersFailed)
	return nil
}
