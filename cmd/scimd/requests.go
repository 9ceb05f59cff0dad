package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
)

// connectorRequests lists a connector's logged SCIM requests, newest
// first, one JSON object a line: id, time, method, path, status, latency
// and plans.
func connectorRequests(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector requests", "connector requests --tenant T --connector C [--limit N] [--before ID] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name")
	name := fs.String("connector", "", "connector name")
	limit := fs.Int("limit", 50, "how many requests to list")
	before := fs.Int64("before", 0, "list those older than the request with this id (the last id of the page before)")
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" || *limit < 1 {
		return usageError("--tenant and --connector are required, and --limit must be positive")
	}
	db, err := openExisting(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := db.ConnectorPrincipal(ctx, *tenant, *name)
	if err != nil {
		return fmt.Errorf("connector %s of tenant %s: %w", *name, *tenant, err)
	}
	rs, err := db.Requests(ctx, p.TenantID, p.ConnectorID, *before, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	for _, r := range rs {
		line := struct {
			ID            int64           `json:"id"`
			At            string          `json:"at"`
			Method        string          `json:"method"`
			Path          string          `json:"path"`
			Status        int             `json:"status"`
			LatencyMicros int64           `json:"latencyMicros"`
			Error         string          `json:"error,omitempty"`
			Plans         json.RawMessage `json:"plans,omitempty"`
		}{r.ID, r.At.Format("2006-01-02T15:04:05.000000Z07:00"), r.Method, r.Path, r.Status, r.LatencyMicros, r.Error, nil}
		if r.Plans != "" {
			line.Plans = json.RawMessage(r.Plans)
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// connectorReplay shows what a logged SCIM request would do now, with
// today's data and rules (--config, or the tenant's saved configuration):
// the status it would get and its plans. It writes nothing.
func connectorReplay(ctx context.Context, e env, args []string) error {
	fs := flags(e, "connector replay", "connector replay --tenant T --connector C --request ID [--config FILE] [--database-url URL]")
	tenant := fs.String("tenant", "", "tenant name")
	name := fs.String("connector", "", "connector name")
	id := fs.String("request", "", "id of the logged request (scimd connector requests)")
	configPath := configFlag(fs, e)
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tenant == "" || *name == "" || *id == "" {
		return usageError("--tenant, --connector and --request are required")
	}
	reqID, err := strconv.ParseInt(*id, 10, 64)
	if err != nil {
		return usageError("--request %q: the id of a logged request, a number", *id)
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
	p, err := db.ConnectorPrincipal(ctx, *tenant, *name)
	if err != nil {
		return fmt.Errorf("connector %s of tenant %s: %w", *name, *tenant, err)
	}
	lr, err := db.Request(ctx, p.TenantID, p.ConnectorID, reqID)
	if err != nil {
		return fmt.Errorf("request %d of connector %s: %w", reqID, *name, err)
	}
	engine := reconcile.New(db, cfg)
	got, err := scim.NewServer(scim.Config{}, db.Reader(), engine).Replay(ctx, p, lr)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Request int64 `json:"request"`
		reconcile.Replayed
	}{lr.ID, got})
}
