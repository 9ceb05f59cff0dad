package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/csvio"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// rejectedError is a file that loaded nothing (problems, or rows waiting
// for a decision): exit code 3, its message the report's summary.
type rejectedError struct{ msg string }

func (e *rejectedError) Error() string { return e.msg }

func importUsers(ctx context.Context, e env, args []string) error {
	fs := flags(e, "import", "import --tenant T [--connector C] [--dry-run] [--accept all|none|LINE,LINE...] [--progress] [--config FILE] [--database-url URL] FILE.csv (- for stdin)\n       scimd import --sample [--tenant T --connector C]")
	tenant := fs.String("tenant", "", "tenant name, as in /scim/v2/{tenant}/")
	connector := fs.String("connector", "csv", "the csv connector the users come from (created if missing); its configuration's csv layout reads the file")
	approveDeletions := fs.Bool("approve-deletions", false, "an administrator approves the file's deactivations and deletions beyond the connector's deletion guard")
	dryRun := fs.Bool("dry-run", false, "validate the file: report every problem and what loading would do, writing nothing")
	accept := fs.String("accept", "", "rows that change an existing user's roles or groups: all, none (skip them), or their line numbers (4,7)")
	progress := fs.Bool("progress", false, "show progress on stderr even when it is not a terminal")
	sample := fs.Bool("sample", false, "print a sample file with every column of the layout, and exit")
	configPath := configFlag(fs, e)
	dsn := databaseFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *sample && *tenant == "" {
		return csvio.Sample(e.stdout, csvio.DefaultLayout(), "acme")
	}
	if *tenant == "" || (!*sample && fs.NArg() != 1) {
		return usageError("--tenant and one file (- for stdin) are required")
	}
	var opts csvio.Options
	if *accept != "" {
		a, err := csvio.ParseAccept(*accept)
		if err != nil {
			return usageError("%v", err)
		}
		opts.Accept = a
	}
	opts.DryRun, opts.ApproveDeletions = *dryRun, *approveDeletions
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	db, by, err := userTenant(ctx, *dsn, *tenant)
	if err != nil {
		return err
	}
	defer db.Close()
	engine := reconcile.New(db, cfg)
	if *sample {
		c, err := engine.Connector(ctx, by.TenantID, by.TenantName, *connector)
		if err != nil {
			return err
		}
		return csvio.Sample(e.stdout, csvio.LayoutOf(c.CSV), *tenant)
	}
	p, layout, err := engine.ImportAs(ctx, by, *connector)
	if err != nil {
		return err
	}
	in, total, err := openImport(e, fs.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	if *progress || isTerminal(e.stderr) {
		opts.Progress = progressBar(e.stderr, total)
	}
	rep, err := csvio.Import(ctx, engine, p, csvio.LayoutOf(layout), in, opts)
	if opts.Progress != nil {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	printReport(e.stdout, rep)
	switch {
	case rep.ErrorCount > 0, rep.Guard != "" && !rep.DryRun:
		return &rejectedError{rep.Summary}
	case rep.Held:
		return &rejectedError{fmt.Sprintf("%d row(s) change existing users' roles or groups (listed above): nothing loaded; pass --accept all, --accept none, or --accept with their line numbers", rep.DecisionCount)}
	}
	return nil
}

// openImport opens the file to import, - for stdin, with its line count
// when it is a file (a progress bar's total; 0 for stdin).
func openImport(e env, name string) (io.ReadCloser, int, error) {
	if name == "-" {
		return io.NopCloser(e.stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	lines, err := countLines(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, max(lines-1, 0), nil
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 256<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws an import's progress on one line of w: its state and
// rows done, of total when known (0: not).
func progressBar(w io.Writer, total int) func(state string, rows int) {
	return func(state string, rows int) {
		if total <= 0 {
			fmt.Fprintf(w, "\r%s: %d rows", state, rows)
			return
		}
		const width = 30
		filled := min(width, rows*width/total)
		fmt.Fprintf(w, "\r%s: [%s%s] %d/%d rows", state, strings.Repeat("#", filled), strings.Repeat(".", width-filled), rows, total)
	}
}

// printReport writes the problems and the decisions of rep, then its summary.
func printReport(w io.Writer, rep *csvio.Report) {
	for _, p := range rep.Errors {
		fmt.Fprintln(w, p.Error())
	}
	if more := rep.ErrorCount - len(rep.Errors); more > 0 {
		fmt.Fprintf(w, "... and %d more problem(s)\n", more)
	}
	if len(rep.Decisions) > 0 {
		fmt.Fprintln(w, "Rows that change an existing user's roles or groups:")
		for _, d := range rep.Decisions {
			var changes []string
			for _, g := range d.Grants {
				changes = append(changes, fmt.Sprintf("%s %s %s", g.Op, g.Kind, g.Name))
			}
			fmt.Fprintf(w, "  line %d: %s: %s\n", d.Line, d.UserName, strings.Join(changes, ", "))
		}
		if more := rep.DecisionCount - len(rep.Decisions); more > 0 {
			fmt.Fprintf(w, "  ... and %d more\n", more)
		}
	}
	fmt.Fprintln(w, rep.Summary)
}

// importer runs the admin API's import jobs with csvio (admin does not
// import csvio).
type importer struct{ engine *reconcile.Engine }

var _ admin.Importer = importer{}

func (i importer) Prepare(ctx context.Context, by store.Principal, req admin.ImportRequest) (admin.ImportRun, error) {
	opts := csvio.Options{DryRun: req.DryRun, ApproveDeletions: req.ApproveDeletions}
	if req.Accept != "" {
		a, err := csvio.ParseAccept(req.Accept)
		if err != nil {
			return admin.ImportRun{}, &reconcile.InputError{Attribute: "accept", Msg: err.Error()}
		}
		opts.Accept = a
	}
	p, layout, err := i.engine.ImportAs(ctx, by, req.Connector)
	if err != nil {
		return admin.ImportRun{}, err
	}
	run := func(ctx context.Context, r io.Reader, progress func(state string, rows int)) (admin.ImportResult, error) {
		opts.Progress = progress
		rep, err := csvio.Import(ctx, i.engine, p, csvio.LayoutOf(layout), r, opts)
		if err != nil {
			return admin.ImportResult{}, err
		}
		ok := rep.ErrorCount == 0 && !rep.Held && (rep.Committed || rep.DryRun || rep.Empty)
		loadable := rep.DryRun && rep.ErrorCount == 0 && !rep.Empty
		return admin.ImportResult{Report: rep, Rows: rep.Rows, OK: ok, Loadable: loadable}, nil
	}
	return admin.ImportRun{ConnectorID: p.ConnectorID, Run: run}, nil
}
