package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage:
  scimbench seed  --database-url URL --tenant T --connector C --users N [--groups NAME:MEMBERS,…]
  scimbench run   --url http://127.0.0.1:8080/scim/v2/T --token TOKEN --scenario S [flags]
  scimbench ref   --database-url URL --tenant T --connector C --scenario S [flags]
  scimbench suite --scimd BIN --database-url URL [--users N] [flags]
Scenarios: ` + scenarios + ` ("go doc ./cmd/scimbench").
Run "scimbench COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "scimbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"seed": seed, "run": load, "ref": reference, "suite": suite,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// workload is what run and ref share: which scenario, how hard, how long.
type workload struct {
	scenario    string
	concurrency int
	requests    int
	duration    string
	users       int
	count       int
	startIndex  int
	filter      string
	rate        float64 // open loop: requests per second; 0 closed loop
	groups      int     // entra-sync: groups to create
	groupSize   int     // entra-sync: members per group
	pool        int     // churn, members: users to change
	fullEvery   int     // group-read: every n'th read of each group is a full one
}

func (w *workload) flags(fs *flag.FlagSet) {
	fs.StringVar(&w.scenario, "scenario", "get-eq", scenarios)
	fs.IntVar(&w.concurrency, "concurrency", 1, "concurrent clients")
	fs.IntVar(&w.requests, "requests", 10000, "stop after this many requests (walk: pages)")
	fs.StringVar(&w.duration, "duration", "60s", "stop after this long")
	fs.IntVar(&w.users, "users", 10000, "how many users were seeded: lookups pick among User0…User<users-1>")
	fs.IntVar(&w.count, "count", 100, "page size of list-first, deep and walk")
	fs.IntVar(&w.startIndex, "start-index", 1, "startIndex of deep")
	fs.StringVar(&w.filter, "filter", `userName sw "user{i}"`, "filter of the filter scenario; {i} becomes a random user number")
	fs.Float64Var(&w.rate, "rate", 0, "open loop: start requests at this constant rate per second (latency from each one's intended start; --concurrency caps those in flight); 0: closed loop")
	fs.IntVar(&w.groups, "groups", 10, "entra-sync: groups to create after the users")
	fs.IntVar(&w.groupSize, "group-size", 100, "entra-sync: members of each group, added 100 per PATCH")
	fs.IntVar(&w.pool, "pool", 1000, "churn, members: how many of the tenant's first users to change")
	fs.IntVar(&w.fullEvery, "full-every", 0, "group-read: every n'th read of each group is a full read (members and all); 0: none")
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("scimbench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
