package admin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Importer validates and loads CSV files for the import jobs: cmd/scimd
// implements it with csvio, which admin does not import.
type Importer interface {
	// Prepare checks an import's options and finds (or creates) its csv
	// connector, as by; its errors are the request's (400, 403, 409).
	Prepare(ctx context.Context, by store.Principal, req ImportRequest) (ImportRun, error)
}

// ImportRequest is what POST /imports asks for.
type ImportRequest struct {
	Connector string
	DryRun    bool
	// Accept is the accept= parameter: all, none, or line numbers.
	Accept string
	// ApproveDeletions is approveDeletions=true: the administrator
	// approves the file's deactivations and deletions beyond the
	// connector's deletion guard.
	ApproveDeletions bool
}

// ImportRun is an import ready to run.
type ImportRun struct {
	ConnectorID int64
	// Run reads the file from r, calling progress now and then with the
	// state (validating, loading) and the rows done.
	Run func(ctx context.Context, r io.Reader, progress func(state string, rows int)) (ImportResult, error)
}

// ImportResult is how an import ended.
type ImportResult struct {
	// Report is stored as the job's report, as JSON.
	Report any
	Rows   int
	// OK is a file validated (a dry run) or loaded; false when it had
	// problems or rows waiting for a decision, and nothing was written.
	OK bool
	// Loadable is a dry run whose file could load (no problems; rows
	// waiting for a decision, or a deletion guard to approve, are not
	// problems): the API holds its file for POST /imports/{id}/load.
	Loadable bool
}

// importJobs are the jobs this process runs: their progress as it is now,
// ahead of what the database has (on SQLite a load's transaction holds
// the one writer, so the job's row moves on when the load ends).
type importJobs struct {
	mu   sync.Mutex
	live map[string]*liveJob
	// held are the files of validated dry runs kept for a load, by the
	// dry run's job ID; keep is how long, maxHeld how many at most.
	held    map[string]*heldFile
	keep    time.Duration
	maxHeld int
}

// heldFile is a validated dry run's file, kept on this process's disk
// until it loads, until it expires, or until newer ones push it out. It
// is held open and has no name left (see spool): a process that stops
// leaves no file behind.
type heldFile struct {
	file    *os.File
	expires time.Time
	// busy is a load of the file running: it is neither lent again nor
	// removed until that load ends.
	busy bool
}

// hold keeps f as dry run id's file until keep has passed, dropping the
// oldest idle files past maxHeld.
func (js *importJobs) hold(id string, f *os.File) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.held[id] = &heldFile{file: f, expires: time.Now().Add(js.keep)}
	time.AfterFunc(js.keep, js.sweep)
	js.sweepLocked()
}

// sweep removes the expired idle files and, past maxHeld, the oldest.
func (js *importJobs) sweep() {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.sweepLocked()
}

func (js *importJobs) sweepLocked() {
	now := time.Now()
	for id, h := range js.held {
		if !h.busy && !now.Before(h.expires) {
			discard(h.file)
			delete(js.held, id)
		}
	}
	// Past the bound (a file lent to a load counts), the oldest idle
	// files go.
	for len(js.held) > js.maxHeld {
		oldest := ""
		for id, h := range js.held {
			if !h.busy && (oldest == "" || h.expires.Before(js.held[oldest].expires)) {
				oldest = id
			}
		}
		if oldest == "" {
			return
		}
		discard(js.held[oldest].file)
		delete(js.held, oldest)
	}
}

// heldUntil is when dry run id's file expires; zero when this process
// holds none, or a load of it runs.
func (js *importJobs) heldUntil(id string) time.Time {
	js.mu.Lock()
	defer js.mu.Unlock()
	if h := js.held[id]; h != nil && !h.busy && time.Now().Before(h.expires) {
		return h.expires
	}
	return time.Time{}
}

// claim lends dry run id's file to a load: a reader of it from its
// start, or nil and why not.
func (js *importJobs) claim(id string) (io.Reader, string) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.sweepLocked()
	h := js.held[id]
	switch {
	case h == nil:
		return nil, "this server holds no file for that dry run: a file is kept " + js.keep.String() + " after a dry run that found no problem, by the server that validated it, until it loads; post the file again"
	case h.busy:
		return nil, "a load of that dry run's file is running: wait for it to end"
	}
	h.busy = true
	return io.NewSectionReader(h.file, 0, math.MaxInt64), ""
}

// release ends a load of dry run id's file: loaded, the file is removed;
// else it is held again, as long as it was, for another try.
func (js *importJobs) release(id string, loaded bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	h := js.held[id]
	if h == nil {
		return
	}
	h.busy = false
	if loaded {
		discard(h.file)
		delete(js.held, id)
	}
	js.sweepLocked()
}

type liveJob struct {
	state atomic.Value // string
	rows  atomic.Int64
}

func (js *importJobs) get(id string) *liveJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.live[id]
}

func (js *importJobs) put(id string, j *liveJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j == nil {
		delete(js.live, id)
	} else {
		js.live[id] = j
	}
}

// DefaultMaxImportBytes is [Config.MaxImportBytes]'s default, 100 MiB.
const DefaultMaxImportBytes = 100 << 20

// DefaultImportStale is [Config.ImportStale]'s default.
const DefaultImportStale = 30 * time.Second

// DefaultImportKeep is [Config.ImportKeep]'s default: how long a
// validated dry run's file is held for its load.
const DefaultImportKeep = time.Hour

// DefaultMaxHeldImports is [Config.MaxHeldImports]'s default.
const DefaultMaxHeldImports = 8

// InterruptedReport is the report of a job a stopped process left
// unfinished: scimd serve marks such jobs failed as it starts, and the
// API shows them failed once their rows are stale (Config.ImportStale).
const InterruptedReport = `{"summary":"scimd stopped while this job ran: nothing was written; post the file again"}`

// importJob is a job as the API shows it.
type importJob struct {
	ID         string     `json:"id"`
	State      string     `json:"state"`
	DryRun     bool       `json:"dryRun"`
	Connector  string     `json:"connector,omitempty"`
	RowsDone   int64      `json:"rowsDone"`
	RowsTotal  int64      `json:"rowsTotal"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// LoadableUntil is set on a dry run whose file this process holds
	// for POST /imports/{id}/load: until when.
	LoadableUntil *time.Time      `json:"loadableUntil,omitempty"`
	Report        json.RawMessage `json:"report,omitempty"`
}

func (a *api) jobOut(j store.ImportJob, names map[int64]string) importJob {
	out := importJob{ID: j.ID, State: j.State, DryRun: j.DryRun, Connector: names[j.ConnectorID], RowsDone: j.RowsDone,
		RowsTotal: j.RowsTotal, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	// A job this process still runs shows as running even once its row
	// has ended: its file is held (or dropped) only after that write, and
	// whoever sees it ended must see whether its file is held.
	if live := a.imports.get(j.ID); live != nil {
		out.State, out.RowsDone, out.FinishedAt = live.state.Load().(string), max(out.RowsDone, live.rows.Load()), nil
		return out
	}
	if j.Report != "" {
		out.Report = json.RawMessage(j.Report)
	}
	if j.FinishedAt != nil {
		if t := a.imports.heldUntil(j.ID); j.DryRun && !t.IsZero() {
			out.LoadableUntil = &t
		}
		return out
	}
	if time.Since(j.UpdatedAt) > a.importStale {
		// Its runner, in another process, stopped writing: that process
		// died, and the job's load (one transaction) wrote nothing.
		out.State, out.Report = store.ImportFailed, json.RawMessage(InterruptedReport)
	}
	return out
}

// postImport is POST /admin/v1/{tenant}/imports: the body is a CSV file
// (Content-Type text/csv), ?connector=C (default csv), dryRun=true,
// accept=all|none|4,7. The file is spooled to a temporary file, the job
// recorded queued, and the answer is 202 with the job and its Location;
// the job runs in the background.
func (a *api) postImport(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if a.importer == nil {
		return &Error{http.StatusNotImplemented, "this server runs no import jobs"}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		return &Error{http.StatusUnsupportedMediaType, "send the CSV file as the body, with Content-Type: text/csv"}
	}
	q := r.URL.Query()
	req := ImportRequest{Connector: q.Get("connector"), Accept: q.Get("accept")}
	if req.Connector == "" {
		req.Connector = "csv"
	}
	if v := q.Get("dryRun"); v != "" {
		var err error
		if req.DryRun, err = strconv.ParseBool(v); err != nil {
			return &Error{http.StatusBadRequest, fmt.Sprintf("dryRun %q: use true or false", v)}
		}
	}
	if v := q.Get("approveDeletions"); v != "" {
		var err error
		if req.ApproveDeletions, err = strconv.ParseBool(v); err != nil {
			return &Error{http.StatusBadRequest, fmt.Sprintf("approveDeletions %q: use true or false", v)}
		}
	}
	// The file first: a body refused (413, a broken upload) creates no
	// connector.
	file, lines, err := a.spool(w, r)
	if err != nil {
		return err
	}
	run, err := a.importer.Prepare(r.Context(), p, req)
	if err == nil {
		err = a.startImport(w, r, p, run, req.DryRun, max(lines-1, 0), file, func(id string, res ImportResult, err error) {
			if req.DryRun && err == nil && res.Loadable && a.imports.maxHeld > 0 {
				a.imports.hold(id, file)
			} else {
				discard(file)
			}
		})
	}
	if err != nil {
		discard(file)
	}
	return err
}

// startImport records a job of run reading body and starts it in the
// background, answering 202 with the job and its Location; done is told
// how the job ended, to keep or drop its file.
func (a *api) startImport(w http.ResponseWriter, r *http.Request, p store.Principal, run ImportRun, dryRun bool, rows int64, body io.Reader,
	done func(id string, res ImportResult, err error)) error {
	job, err := a.engine.StartImportJob(r.Context(), p, run.ConnectorID, dryRun, rows)
	if err != nil {
		return err
	}
	live := &liveJob{}
	live.state.Store(store.ImportQueued)
	a.imports.put(job.ID, live)
	// The job outlives the request: its context keeps the request's
	// values, not its end.
	go func() {
		res, err := a.runImport(context.WithoutCancel(r.Context()), job, body, run, live)
		done(job.ID, res, err)
		// Its file held before the job stops being live: whoever sees it
		// ended sees its file held.
		a.imports.put(job.ID, nil)
	}()
	w.Header().Set("Location", "/admin/v1/"+p.TenantName+"/imports/"+job.ID)
	return writeStatus(w, http.StatusAccepted, map[string]any{"id": job.ID, "state": job.State, "rowsDone": 0, "rowsTotal": job.RowsTotal})
}

// loadImport is POST /admin/v1/{tenant}/imports/{id}/load?accept=&approveDeletions=:
// load the file a dry run validated, held by this process since, without
// sending it again. The answer is a new job, as POST /imports gives; the
// file stays held until a load of it commits (a load refused, say for an
// accept that names a wrong line, may be tried again). 409 when the job
// is no finished dry run, or its file is not held here (expired, pushed
// out by newer ones, loaded, or validated by another replica or before
// a restart).
func (a *api) loadImport(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if a.importer == nil {
		return &Error{http.StatusNotImplemented, "this server runs no import jobs"}
	}
	id := r.PathValue("id")
	j, err := a.db.ImportJob(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	if !j.DryRun || j.FinishedAt == nil {
		return &Error{http.StatusConflict, "only a dry run that has ended can be loaded: post the file with dryRun=true first"}
	}
	q := r.URL.Query()
	names, err := a.db.ConnectorNames(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	req := ImportRequest{Connector: names[j.ConnectorID], Accept: q.Get("accept")}
	if v := q.Get("approveDeletions"); v != "" {
		if req.ApproveDeletions, err = strconv.ParseBool(v); err != nil {
			return &Error{http.StatusBadRequest, fmt.Sprintf("approveDeletions %q: use true or false", v)}
		}
	}
	if req.Connector == "" {
		return &Error{http.StatusConflict, "the dry run's connector is gone: post the file again"}
	}
	file, why := a.imports.claim(id)
	if file == nil {
		return &Error{http.StatusConflict, why}
	}
	run, err := a.importer.Prepare(r.Context(), p, req)
	if err == nil {
		err = a.startImport(w, r, p, run, false, j.RowsTotal, file, func(_ string, res ImportResult, err error) {
			a.imports.release(id, err == nil && res.OK)
		})
	}
	if err != nil {
		a.imports.release(id, false)
	}
	return err
}

// spool copies the request's body, up to the limit (413 past it), to a
// temporary file, positioned at its start, counting its lines. The file
// has no name by then (where the system allows: Linux, macOS): it goes
// with its last descriptor, when its job is done with it or when the
// process stops, and no other process can open it.
func (a *api) spool(w http.ResponseWriter, r *http.Request) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "scimd-import-*.csv")
	if err != nil {
		return nil, 0, err
	}
	os.Remove(f.Name()) // on Windows it fails, and discard removes it
	lines := &lineCounter{w: f}
	_, err = io.Copy(lines, http.MaxBytesReader(w, r.Body, a.maxImport))
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		discard(f)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, 0, &Error{http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than the %d bytes an import accepts: split it", tooLarge.Limit)}
		}
		return nil, 0, &Error{http.StatusBadRequest, "could not read the request body"}
	}
	return f, lines.n, nil
}

// discard closes a spooled file and removes it, if it still has a name.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

type lineCounter struct {
	w io.Writer
	n int64
}

func (c *lineCounter) Write(b []byte) (int, error) {
	c.n += int64(bytes.Count(b, []byte{'\n'}))
	return c.w.Write(b)
}

// progressEvery is how often a running job's progress is written to its row.
const progressEvery = time.Second

// runImport runs a job to its end, records how it ended, and returns it.
func (a *api) runImport(ctx context.Context, job store.ImportJob, file io.Reader, run ImportRun, live *liveJob) (ImportResult, error) {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := a.engine.ImportJobProgress(ctx, job.ID, live.state.Load().(string), live.rows.Load()); err != nil {
					a.log.WarnContext(ctx, "import job progress", "job", job.ID, "err", err)
				}
			}
		}
	}()
	res, err := run.Run(ctx, file, func(state string, rows int) {
		live.state.Store(state)
		live.rows.Store(int64(rows))
	})
	close(stop)
	state, report := store.ImportDone, []byte(nil)
	if err == nil {
		report, err = json.Marshal(res.Report)
	}
	if err != nil {
		id := reconcile.ErrorID()
		a.log.ErrorContext(ctx, "import job", "job", job.ID, "error_id", id, "err", err)
		state, report = store.ImportFailed, fmt.Appendf(nil, `{"summary":"the import failed, nothing was written: internal error; the server log has it under error_id %s"}`, id)
	} else if !res.OK {
		state = store.ImportFailed
	}
	if ferr := a.engine.FinishImportJob(ctx, job.ID, state, int64(res.Rows), string(report)); ferr != nil {
		a.log.ErrorContext(ctx, "import job end", "job", job.ID, "err", ferr)
		err = cmp.Or(err, ferr)
	}
	return res, err
}

// importJob is GET /admin/v1/{tenant}/imports/{id}: the job's state and
// progress and, once it has ended, its report. Another tenant's job is 404.
func (a *api) importJob(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	j, err := a.db.ImportJob(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	names, err := a.db.ConnectorNames(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return writeJSON(w, a.jobOut(j, names))
}

// importJobs is GET /admin/v1/{tenant}/imports: the tenant's last 100
// jobs, newest first, without their reports.
func (a *api) importJobs(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	js, err := a.db.ImportJobs(r.Context(), p.TenantID, 100)
	if err != nil {
		return err
	}
	names, err := a.db.ConnectorNames(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := struct {
		Imports []importJob `json:"imports"`
	}{Imports: []importJob{}}
	for _, j := range js {
		out.Imports = append(out.Imports, a.jobOut(j, names))
	}
	return writeJSON(w, out)
}
