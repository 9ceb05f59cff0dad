package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitInvalid: a configuration file with problems, each printed, or
	// a CSV file that loaded nothing (its problems, or rows waiting for a
	// decision).
	exitInvalid = 3
)

const usage = `scimd is a SCIM 2.0 provisioning server: identity providers (Okta, Entra ID,
OneLogin, JumpCloud, Google) push users and groups to it, and it keeps them in
PostgreSQL or, by default, an SQLite file.

Usage:
  scimd serve   [--addr 127.0.0.1:8080] [--database-url URL] [--base-url URL] [--config FILE]
  scimd migrate [--database-url URL]
  scimd token create --tenant T --connector C [--admin [--org-unit PATH]] [--database-url URL]
  scimd token list   [--tenant T] [--database-url URL]
  scimd token revoke ID [--database-url URL]
  scimd connector set --tenant T --connector C --profile default|strict|entra|okta
  scimd connector preview --tenant T --connector C [--config FILE] PAYLOAD.json
  scimd config check [--config FILE]
  scimd config impact --tenant T --config NEW.yaml [--json]
  scimd config reapply --tenant T [--config FILE]
  scimd session list --tenant T --user ID [--database-url URL]
  scimd session end  --tenant T --user ID [--database-url URL]
  scimd user list    --tenant T [--deleted] [--database-url URL]
  scimd user disable|enable|delete|restore|erase --tenant T --user ID
  scimd user grant   --tenant T --user ID [--role R]... [--group G]...
  scimd user add     --tenant T [--role R]... [--group G]... [--dry-run] [FILE]   (addresses, one per line)
  scimd user invite-guest --tenant T --email E --group G [--start T] [--end T]
  scimd import --tenant T [--connector C] [--dry-run] [--accept all|none|LINE,LINE...] [--progress] FILE.csv|-
  scimd import --sample [--tenant T --connector C]
  scimd export --tenant T [--connector C] [--config FILE] > users.csv
  scimd admin bootstrap --tenant T [--url URL]   (a one-time sign-in link to the admin console)
  scimd version

Getting started:
  scimd serve                                     # SQLite file scimd.db here
  scimd token create --tenant acme --connector okta
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/scim/v2/acme/Users

Every command takes --database-url (env SCIMD_DATABASE_URL): a postgres:// URL,
or an SQLite file path (default scimd.db in the working directory). serve and
migrate create a missing SQLite file; the other commands refuse one. Run
"scimd COMMAND --help" for a command's flags.
`

// env is how commands read the environment; tests pass their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// environ lists the environment as KEY=value, for the check that
	// every SCIMD_* variable sets a key; nil: no such check.
	environ func() []string
}

type command func(ctx context.Context, e env, args []string) error

// errUsage marks an error whose message is about how the command was
// called; run prints it with a pointer to --help.
var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// run is scimd's main, minus the process: it parses args, runs one
// command and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runEnv(ctx, args, env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv})
}

// runEnv is run with the environment e.
func runEnv(ctx context.Context, args []string, e env) int {
	stdout, stderr := e.stdout, e.stderr
	commands := map[string]command{
		"serve":     serve,
		"migrate":   migrate,
		"token":     token,
		"connector": connector,
		"config":    configCommand,
		"session":   session,
		"user":      user,
		"import":    importUsers,
		"export":    export,
		"version":   version,
		"admin":     adminCommand,
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "scimd: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(ctx, e, args[1:])
	var invalid *rules.Error
	var rejected *rejectedError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "scimd %s: %s\nRun 'scimd %s --help' for usage.\n", args[0],
			strings.TrimPrefix(err.Error(), errUsage.Error()+": "), args[0])
		return exitUsage
	case errors.Is(err, errNothingWritten):
		fmt.Fprintf(stderr, "scimd %s: %v\n", args[0], err)
		return exitInvalid
	case errors.As(err, &invalid):
		fmt.Fprintf(stderr, "scimd %s: the configuration has %d problem(s):\n%v\n", args[0], len(invalid.Problems), invalid)
		return exitInvalid
	case errors.As(err, &rejected):
		fmt.Fprintf(stderr, "scimd %s: %v\n", args[0], rejected)
		return exitInvalid
	default:
		fmt.Fprintf(stderr, "scimd %s: %v\n", args[0], err)
		return exitError
	}
}

// flags returns a flag set for a command, printing its help to stderr.
func flags(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("scimd "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: scimd %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// databaseFlag adds --database-url. Its default is database.url as serve
// would have it without flags: from SCIMD_DATABASE_URL or
// SCIMD_DATABASE_URL_FILE, else the file SCIMD_CONFIG names, else
// scimd.db in the working directory.
func databaseFlag(fs *flag.FlagSet, e env) *string {
	v := &deferredValue{}
	st, err := loadSettings(e, nil)
	if err != nil {
		v.v, v.err = "scimd.db", err
	} else {
		v.v = st.Database.URL
	}
	fs.Var(v, "database-url", "database: a postgres:// URL, or an SQLite file path (env SCIMD_DATABASE_URL or SCIMD_DATABASE_URL_FILE; config database.url)")
	return &v.v
}

// deferredValue is a string flag whose default could not be worked out
// (err): parse returns err unless the command line sets the flag.
type deferredValue struct {
	v   string
	err error
}

func (d *deferredValue) String() string {
	if d == nil || d.err != nil {
		return ""
	}
	return d.v
}

func (d *deferredValue) Set(s string) error { d.v, d.err = s, nil; return nil }

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if d, ok := f.Value.(*deferredValue); ok && d.err != nil && err == nil {
			err = d.err
		}
	})
	return err
}

// subcommand is one verb of a command group such as token.
type subcommand struct {
	name, about string
	run         command
}

// group is a command made of subcommands. "scimd NAME --help" lists them;
// each subcommand's own --help shows its flags.
func group(name string, subs ...subcommand) command {
	var names []string
	for _, s := range subs {
		names = append(names, s.name)
	}
	list := strings.Join(names, ", ")
	return func(ctx context.Context, e env, args []string) error {
		if len(args) == 0 {
			return usageError("%s needs a subcommand: %s", name, list)
		}
		switch args[0] {
		case "help", "-h", "-help", "--help":
			fmt.Fprintf(e.stderr, "Usage: scimd %s SUBCOMMAND [flags]\n\nSubcommands:\n", name)
			for _, s := range subs {
				fmt.Fprintf(e.stderr, "  %-9s %s\n", s.name, s.about)
			}
			fmt.Fprintf(e.stderr, "\nRun 'scimd %s SUBCOMMAND --help' for its flags.\n", name)
			return flag.ErrHelp
		}
		for _, s := range subs {
			if s.name == args[0] {
				return s.run(ctx, e, args[1:])
			}
		}
		return usageError("unknown %s subcommand %q: use %s", name, args[0], list)
	}
}

// openExisting is openStore for the commands that work on a database
// someone already has (tokens, connectors): for those, a missing SQLite
// file is a mistyped path or the wrong directory, so it is refused rather
// than created empty, where the token made would open nothing.
func openExisting(ctx context.Context, dsn string) (*store.DB, error) {
	if path, ok := store.SQLitePath(dsn); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: check --database-url (env SCIMD_DATABASE_URL), or create it with 'scimd migrate --database-url %s' (serve does too)", path, dsn)
		}
	}
	return openStore(ctx, dsn)
}

// openStore opens the database and brings its schema up to date.
func openStore(ctx context.Context, dsn string, opts ...store.Option) (*store.DB, error) {
	db, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
