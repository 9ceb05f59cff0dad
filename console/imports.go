package console

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func init() {
	routes = append(routes, func(c *console, mux *http.ServeMux) {
		mux.HandleFunc("GET /console/{tenant}/imports", c.signedIn(c.imports))
		mux.HandleFunc("POST /console/{tenant}/imports", c.signedInUpload(c.upload))
		mux.HandleFunc("GET /console/{tenant}/imports/{id}", c.signedIn(c.importJob))
		mux.HandleFunc("POST /console/{tenant}/imports/{id}/load", c.signedIn(c.load))
		mux.HandleFunc("GET /console/{tenant}/export", c.signedIn(c.export))
	})
}

// importJob is an import job as the admin API shows it.
type importJob struct {
	ID            string        `json:"id"`
	State         string        `json:"state"`
	DryRun        bool          `json:"dryRun"`
	Connector     string        `json:"connector"`
	RowsDone      int64         `json:"rowsDone"`
	RowsTotal     int64         `json:"rowsTotal"`
	CreatedBy     string        `json:"createdBy"`
	CreatedAt     time.Time     `json:"createdAt"`
	FinishedAt    *time.Time    `json:"finishedAt"`
	LoadableUntil *time.Time    `json:"loadableUntil"`
	Report        *importReport `json:"report"`
}

// Running is a job not ended: its page polls.
func (j importJob) Running() bool {
	return j.FinishedAt == nil && j.State != "done" && j.State != "failed"
}

// Badge is the job's state as the console names it: a dry run whose
// file is held for its load is ready to load, whatever its state (a
// dry run with rows to confirm has "failed", as nothing would load
// without a decision).
func (j importJob) Badge() string {
	if j.DryRun && j.LoadableUntil != nil && !j.Running() {
		return "ready to load"
	}
	return j.State
}

// BadgeClass is the class of the job's badge.
func (j importJob) BadgeClass() string {
	if b := j.Badge(); b != j.State {
		return "ready"
	}
	return j.State
}

// importReport is csvio's report of an import, as the API stores it.
type importReport struct {
	DryRun        bool       `json:"dryRun"`
	Empty         bool       `json:"empty"`
	Committed     bool       `json:"committed"`
	Held          bool       `json:"held"`
	Guard         string     `json:"guard"`
	Rows          int        `json:"rows"`
	Added         int        `json:"added"`
	Updated       int        `json:"updated"`
	Deleted       int        `json:"deleted"`
	Unchanged     int        `json:"unchanged"`
	Skipped       int        `json:"skipped"`
	RolesAdded    int        `json:"rolesAdded"`
	GroupsAdded   int        `json:"groupsAdded"`
	Errors        []problem  `json:"errors"`
	ErrorCount    int        `json:"errorCount"`
	Decisions     []decision `json:"decisions"`
	DecisionCount int        `json:"decisionCount"`
	Created       []struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
		Email    string `json:"email"`
	} `json:"created"`
	Summary string `json:"summary"`
}

// MoreErrors and MoreDecisions count what the report counted but did
// not list.
func (r importReport) MoreErrors() int    { return r.ErrorCount - len(r.Errors) }
func (r importReport) MoreDecisions() int { return r.DecisionCount - len(r.Decisions) }

type problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Header  string `json:"header"`
	Message string `json:"message"`
}

type decision struct {
	Line     int    `json:"line"`
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	Grants   []struct {
		Op   string `json:"op"`
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"grants"`
}

type importsView struct {
	Jobs []importJob
	// MaxMiB is the largest file an import takes, in MiB.
	MaxMiB int64
}

// imports is the import page: the upload form, the export, and the
// tenant's recent jobs (one call of the admin API).
func (c *console) imports(w http.ResponseWriter, r *http.Request, s session) {
	var out struct {
		Imports []importJob `json:"imports"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, "/imports", nil, &out); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.page(w, r, http.StatusOK, "imports", view{Title: "Import", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Data: importsView{Jobs: out.Imports, MaxMiB: c.maxImport() >> 20}})
}

// maxUploadSlack is what an upload's body may hold beyond the file: the
// multipart boundaries and the few small fields before it.
const maxUploadSlack = 64 << 10

// maxFieldBytes bounds each small field of an upload.
const maxFieldBytes = 1 << 10

// signedInUpload is signedIn for a CSV upload, the one console POST past
// maxFormBytes (a reviewed exception: the file is streamed to the admin
// API, never held, and the API bounds it at its import limit). The body
// is multipart/form-data of at most MaxImportBytes and maxUploadSlack,
// whose first part must be the csrf field: it is read, at most
// maxFieldBytes, and checked before any byte of the file. h gets the
// multipart reader past it.
func (c *console) signedInUpload(h func(w http.ResponseWriter, r *http.Request, s session, mr *multipart.Reader)) http.HandlerFunc {
	limit := c.maxImport()
	return func(w http.ResponseWriter, r *http.Request) {
		var mr *multipart.Reader
		csrf := func(w http.ResponseWriter, r *http.Request) (string, error) {
			r.Body = http.MaxBytesReader(w, r.Body, limit+maxUploadSlack)
			var err error
			if mr, err = r.MultipartReader(); err != nil {
				return "", nil
			}
			part, err := mr.NextPart()
			if err != nil || part.FormName() != "csrf" {
				return "", nil
			}
			token, err := field(part)
			if err != nil {
				return "", nil
			}
			return token, nil
		}
		c.authorized(func(w http.ResponseWriter, r *http.Request, s session) { h(w, r, s, mr) }, csrf)(w, r)
	}
}

// maxImport is Config.MaxImportBytes, or its default.
func (c *console) maxImport() int64 {
	if c.cfg.MaxImportBytes > 0 {
		return c.cfg.MaxImportBytes
	}
	return 100 << 20
}

// field reads a small form field of an upload.
func field(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
	if err == nil && len(b) > maxFieldBytes {
		err = errors.New("form field too long")
	}
	return string(b), err
}

// upload takes the upload form: its fields (connector, dryRun), then
// the file, streamed to POST /imports as its body; the browser goes on
// (303) to the job's page.
func (c *console) upload(w http.ResponseWriter, r *http.Request, s session, mr *multipart.Reader) {
	bad := func(msg string) {
		c.page(w, r, http.StatusBadRequest, "error", view{Title: "Bad upload", Tenant: s.tenant, CSRF: s.csrf, Who: s.p.ConnectorName, Error: msg})
	}
	if mr == nil {
		bad("send the upload form of the import page")
		return
	}
	query := url.Values{"dryRun": {"false"}}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err != nil || n > 8 {
			bad("the form holds no file: choose the CSV file to import")
			return
		}
		if part.FormName() == "file" {
			if part.FileName() == "" {
				bad("no file chosen: choose the CSV file to import")
				return
			}
			var job importJob
			err := c.sendRaw(r.Context(), s, http.MethodPost, "/imports", query, part, "text/csv", &job)
			if err != nil {
				c.fail(w, r, s, err)
				return
			}
			http.Redirect(w, r, "/console/"+url.PathEscape(s.tenant)+"/imports/"+url.PathEscape(job.ID), http.StatusSeeOther)
			return
		}
		v, err := field(part)
		if err != nil {
			bad("a field of the form is too long")
			return
		}
		switch part.FormName() {
		case "connector":
			if v = strings.TrimSpace(v); v != "" {
				query.Set("connector", v)
			}
		case "dryRun":
			query.Set("dryRun", strconv.FormatBool(v != ""))
		}
	}
}

// importJobView is the job page: the job, and the lines of the rows the
// admin is asked to decide.
type importJobView struct {
	Job importJob
}

// importJob is a job's page; from htmx (HX-Request, every second while
// the job runs) its #job section alone, whose last copy, once the job has
// ended, asks no more.
func (c *console) importJob(w http.ResponseWriter, r *http.Request, s session) {
	var job importJob
	if err := c.call(r.Context(), s, http.MethodGet, "/imports/"+url.PathEscape(r.PathValue("id")), nil, &job); err != nil {
		c.fail(w, r, s, err)
		return
	}
	title := "Load"
	if job.DryRun {
		title = "Validation"
	}
	c.page(w, r, http.StatusOK, "import", view{Title: title + " of " + job.CreatedAt.UTC().Format("2006-01-02 15:04"), Tenant: s.tenant, CSRF: s.csrf,
		Who: s.p.ConnectorName, Data: importJobView{Job: job}})
}

// load loads the file a dry run validated (POST /imports/{id}/load), the
// rows to confirm decided by the form's checked lines (accept=), and
// sends the browser on (303) to the load's job.
func (c *console) load(w http.ResponseWriter, r *http.Request, s session) {
	query := url.Values{}
	if r.PostFormValue("decide") != "" {
		var lines []string
		for _, l := range r.PostForm["line"] {
			if n, err := strconv.Atoi(l); err == nil && n > 1 && !slices.Contains(lines, strconv.Itoa(n)) {
				lines = append(lines, strconv.Itoa(n))
			}
		}
		switch accept := strings.Join(lines, ","); {
		case r.PostFormValue("all") != "":
			query.Set("accept", "all")
		case accept == "":
			query.Set("accept", "none")
		default:
			query.Set("accept", accept)
		}
	}
	if r.PostFormValue("approveDeletions") != "" {
		query.Set("approveDeletions", "true")
	}
	var job importJob
	if err := c.call(r.Context(), s, http.MethodPost, "/imports/"+url.PathEscape(r.PathValue("id"))+"/load", query, &job); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/"+url.PathEscape(s.tenant)+"/imports/"+url.PathEscape(job.ID), http.StatusSeeOther)
}

// export streams GET /export (?connector=C) to the browser: a CSV
// download, sent as it is written.
func (c *console) export(w http.ResponseWriter, r *http.Request, s session) {
	query := url.Values{}
	if name := strings.TrimSpace(r.URL.Query().Get("connector")); name != "" {
		query.Set("connector", name)
	}
	c.stream(w, r, s, "/export", query)
}
