package csvio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Options says how [Import] runs.
type Options struct {
	// DryRun validates the file: every row planned, nothing written.
	DryRun bool
	// Accept decides the rows that change an existing user's groups or
	// roles (a revised record). Its zero value decides none: such rows
	// are listed and nothing loads.
	Accept Accept
	// ApproveDeletions lets the file through the connector's deletion
	// guard: an administrator approved its deactivations and deletions.
	ApproveDeletions bool
	// Progress, when set, is called now and then with the state
	// ([store.ImportValidating] or [store.ImportLoading]) and the rows done.
	Progress func(state string, rows int)
}

// Accept is the admin's decision on the rows that change an existing
// user's groups or roles: all of them, none (they are skipped and the
// rest loads), or the rows of the listed lines. The zero value has not
// decided.
type Accept struct {
	decided, all bool
	lines        map[int]bool
}

// ParseAccept reads a decision as the CLI (--accept) and the API
// (accept=) write it: all, none, or line numbers separated by commas.
func ParseAccept(s string) (Accept, error) {
	switch s = strings.TrimSpace(s); strings.ToLower(s) {
	case "all":
		return Accept{decided: true, all: true}, nil
	case "none":
		return Accept{decided: true}, nil
	}
	a := Accept{decided: true, lines: map[int]bool{}}
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return Accept{}, fmt.Errorf("accept %q: write all, none, or the line numbers of the rows to accept (4,7)", s)
		}
		a.lines[n] = true
	}
	return a, nil
}

// Problem is a row that cannot load: its line and, when one cell is to
// blame, its column (1-based) and header.
type Problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Header  string `json:"header,omitempty"`
	Message string `json:"message"`
}

func (p Problem) Error() string {
	return (&RowError{Line: p.Line, Column: p.Column, Header: p.Header, Msg: p.Message}).Error()
}

// Created is a user an import created.
type Created struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Email    string `json:"email,omitempty"`
}

// Report is what an import did, or would do (a dry run).
type Report struct {
	DryRun bool `json:"dryRun"`
	// Empty is a file with no header line: nothing loads.
	Empty bool `json:"empty,omitempty"`
	// Committed says the rows were written; false for a dry run, a file
	// with errors, or rows waiting for a decision.
	Committed bool `json:"committed"`
	// Held is a load that rows needing a decision stopped (Accept not
	// given): nothing written, the decisions listed.
	Held bool `json:"held,omitempty"`
	// Guard, when not empty, is the connector's deletion guard stopping
	// the file (nothing written), or in a dry run what would stop it, and
	// how to approve it.
	Guard       string `json:"guard,omitempty"`
	Rows        int    `json:"rows"`
	Added       int    `json:"added"`
	Updated     int    `json:"updated"`
	Deleted     int    `json:"deleted"`
	Unchanged   int    `json:"unchanged"`
	Skipped     int    `json:"skipped"`
	RolesAdded  int    `json:"rolesAdded"`
	GroupsAdded int    `json:"groupsAdded"`
	// Errors are the first 1,000 problems; ErrorCount counts all.
	Errors     []Problem `json:"errors"`
	ErrorCount int       `json:"errorCount"`
	// Decisions are the rows that change an existing user's groups or
	// roles (the first 10,000; DecisionCount counts all).
	Decisions     []reconcile.Decision `json:"decisions"`
	DecisionCount int                  `json:"decisionCount"`
	// Created are the users created (the first 10,000).
	Created []Created `json:"created"`
	// Summary is the line an admin reads, as the 002 seed words it.
	Summary string `json:"summary"`
}

// maxProblems is how many problems a report lists in full.
const maxProblems = 1000

// Import reads a CSV file from r by layout and loads it as by (a csv
// connector's principal, see [reconcile.Engine.ImportAs]), streaming it
// once. Every row is validated, with every problem reported by line and
// column; then, unless opts.DryRun, all rows are written in one
// transaction, or none when a row has a problem or needs a decision that
// opts.Accept does not give. The CLI and the admin API's jobs share it. A
// file that is not CSV, or whose header the layout cannot read, is a
// report with that problem; the error is the database's.
func Import(ctx context.Context, engine *reconcile.Engine, by store.Principal, layout *Layout, r io.Reader, opts Options) (*Report, error) {
	rep := &Report{DryRun: opts.DryRun, Errors: []Problem{}, Decisions: []reconcile.Decision{}, Created: []Created{}}
	f, err := Open(r, layout, by)
	var fe *FileError
	switch {
	case errors.Is(err, ErrEmpty):
		rep.Empty, rep.Summary = true, "Users file is empty"
		return rep, nil
	case errors.As(err, &fe):
		rep.Errors, rep.ErrorCount = append(rep.Errors, Problem{Line: max(fe.Line, 1), Message: fe.Msg}), 1
		rep.Summary = summary(rep)
		return rep, nil
	case err != nil:
		return nil, err
	}
	state := store.ImportLoading
	if opts.DryRun {
		state = store.ImportValidating
	}
	lo := reconcile.LoadOptions{DryRun: opts.DryRun, MaxErrors: maxProblems, HoldDecisions: !opts.Accept.decided,
		ApproveDeletions: opts.ApproveDeletions}
	if a := opts.Accept; !a.all {
		asked := map[int]bool{}
		lo.Accept = func(line int) bool { asked[line] = true; return a.lines[line] }
		// A line to accept that no row asked about is a typo or a stale
		// list: nothing loads, rather than a load the admin did not mean.
		lo.Settle = func() []reconcile.LoadError {
			var out []reconcile.LoadError
			for _, line := range slices.Sorted(maps.Keys(a.lines)) {
				if !asked[line] {
					out = append(out, reconcile.LoadError{Line: line, Err: &FileError{Line: line,
						Msg: fmt.Sprintf("accept names line %d, which is not a row waiting for a decision (one that changes an existing user's roles or groups): accept only the lines the validation listed", line)}})
				}
			}
			return out
		}
	}
	if opts.Progress != nil {
		opts.Progress(state, 0)
		lo.Progress = func(done int) { opts.Progress(state, done) }
	}
	res, err := engine.Load(ctx, by, f.All(), lo)
	if err != nil {
		return nil, err
	}
	rep.Committed, rep.Held, rep.Rows = res.Committed, res.Held, res.Rows
	rep.Guard = res.Guard
	rep.Added, rep.Updated, rep.Deleted, rep.Unchanged, rep.Skipped = res.Added, res.Updated, res.Deleted, res.Unchanged, res.Skipped
	rep.RolesAdded, rep.GroupsAdded = res.RolesAdded, res.GroupsAdded
	rep.Decisions = append(rep.Decisions, res.Decisions...)
	rep.DecisionCount = res.DecisionCount
	// A row's problems may be several (one per cell): the count is of
	// problems, as listed, plus the rows past the list.
	for _, le := range res.Errors {
		for _, p := range problems(f, le) {
			if len(rep.Errors) < maxProblems {
				rep.Errors = append(rep.Errors, p)
			}
			rep.ErrorCount++
		}
	}
	rep.ErrorCount += res.ErrorCount - len(res.Errors)
	if res.Committed {
		for _, c := range res.Created {
			rep.Created = append(rep.Created, Created{c.ID, c.UserName, c.Email})
		}
	}
	rep.Summary = summary(rep)
	return rep, nil
}

// summary is the report's line for a person.
func summary(rep *Report) string {
	counts := fmt.Sprintf("%d added, %d updated, %d deleted, %d roles added", rep.Added, rep.Updated, rep.Deleted, rep.RolesAdded)
	if rep.GroupsAdded > 0 {
		counts += fmt.Sprintf(", %d groups added", rep.GroupsAdded)
	}
	if rep.Skipped > 0 {
		counts += fmt.Sprintf(", %d skipped", rep.Skipped)
	}
	switch {
	case rep.ErrorCount == 1:
		return "Users file has 1 error: nothing loaded"
	case rep.ErrorCount > 0:
		return fmt.Sprintf("Users file has %d errors: nothing loaded", rep.ErrorCount)
	case rep.Guard != "" && rep.DryRun:
		return "Users file is valid, nothing written; loading it would give " + counts + ", but the deletion guard would stop it: " + rep.Guard
	case rep.Guard != "":
		return "Users file stopped by the deletion guard: " + rep.Guard
	case rep.Held:
		return fmt.Sprintf("%d row(s) change existing users' roles or groups: nothing loaded; accept all, none, or the lines to load", rep.DecisionCount)
	case rep.DryRun:
		return "Users file is valid, nothing written; loading it would give: " + counts
	}
	return "Users loaded: " + counts
}

// problems are a load error as the file's lines and columns name it.
func problems(f *File, le reconcile.LoadError) []Problem {
	var (
		es   RowErrors
		re   *RowError
		fe   *FileError
		in   *reconcile.InputError
		me   *reconcile.MatchError
		ce   *store.ConflictError
		dup  *reconcile.DuplicateRowError
		lu   *reconcile.LocalUserError
		attr string
	)
	switch {
	case errors.As(le.Err, &es):
		out := make([]Problem, len(es))
		for i, e := range es {
			out[i] = Problem{e.Line, e.Column, e.Header, e.Msg}
		}
		return out
	case errors.As(le.Err, &re):
		return []Problem{{re.Line, re.Column, re.Header, re.Msg}}
	case errors.As(le.Err, &fe):
		return []Problem{{Line: fe.Line, Message: fe.Msg}}
	case errors.As(le.Err, &in):
		attr = in.Attribute
	case errors.As(le.Err, &me):
		attr = string(me.Key)
	case errors.As(le.Err, &ce):
		attr = ce.Attribute
	case errors.As(le.Err, &dup):
		attr = dup.Key
	case errors.As(le.Err, &lu):
		attr = cmp.Or(string(lu.Key), "userName")
	}
	p := Problem{Line: le.Line, Message: le.Err.Error()}
	if attr != "" {
		p.Column, p.Header = f.Column(attr)
	}
	return []Problem{p}
}
