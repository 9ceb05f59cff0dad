package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// held lists the writes a connector's deletion guard held, or approves or
// rejects them (all, or by id), each audited as the command line's.
func held(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector held", "connector held --tenant T --connector C [--approve all|IDS | --reject all|IDS] [--state pending|approved|rejected] [--config FILE] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name")
	name := fs.String("connector", "", "connector name")
	approve := fs.String("approve", "", `apply held writes: "all" pending, or ids such as 3,4,9`)
	reject := fs.String("reject", "", `drop held writes: "all" pending, or ids such as 3,4,9`)
	state := fs.String("state", store.HeldPending, "which held writes to list: pending, approved, rejected, or \"\" for all")
	configPath := configFlag(fs, e) // an approval maps the held writes as serve does
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" {
		return usageError("--tenant and --connector are required")
	}
	if *approve != "" && *reject != "" {
		return usageError("give --approve or --reject, not both")
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := db.Tenant(ctx, *tenant)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", *tenant, err)
	}
	by := reconcile.CommandLine
	by.TenantID, by.TenantName = t.ID, t.Name
	engine := reconcile.New(db, cfg)
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if *approve == "" && *reject == "" {
		hs, err := engine.HeldWrites(ctx, by, *name, *state, 0, 100_000)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%d held writes (%s).\n", len(hs), *state)
		return enc.Encode(map[string]any{"held": append([]store.HeldWrite{}, hs...)})
	}
	decide, list, verb := engine.ApproveHeld, *approve, "approved and applied"
	if *reject != "" {
		decide, list, verb = engine.RejectHeld, *reject, "rejected"
	}
	ids, err := reconcile.ParseHeldIDs(list)
	if err != nil {
		return usageError("%v", err)
	}
	d, err := decide(ctx, by, *name, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d held writes %s.\n", len(d.Decided), verb)
	return enc.Encode(d)
}
