package admin

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/scimd/scimd/store"
)

// Exporter writes users as a CSV file: cmd/scimd gives csvio's (admin
// does not import csvio, see DESIGN.md).
type Exporter interface {
	// Export writes the live users of c's tenant to w in the CSV layout
	// of connector c (the default layout when c.ConnectorName is ""), with
	// c's external IDs, only those of c.OrgUnit and below it when set. It
	// writes nothing to w before it knows it can answer: an error before
	// the first write is the whole answer.
	Export(ctx context.Context, w io.Writer, c store.Principal) error
}

// export answers GET /admin/v1/{tenant}/export[?connector=C]: the users
// the administrator may see as a CSV file (text/csv, an attachment) in
// connector C's layout with its external IDs, or the default layout
// without external IDs. It streams: the file is sent as it is written,
// a page of users at a time. A failure after the first bytes cuts the
// connection, so that a partial file never looks complete.
func (a *api) export(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if a.exporter == nil {
		return &Error{http.StatusNotImplemented, "this server exports no CSV files"}
	}
	c := store.Principal{TenantID: p.TenantID, TenantName: p.TenantName}
	if name := r.URL.Query().Get("connector"); name != "" {
		var err error
		if c, err = a.db.ConnectorPrincipal(r.Context(), p.TenantName, name); err != nil {
			return err
		}
	}
	c.OrgUnit = p.OrgUnit
	out := &attachment{w: w, name: "users-" + p.TenantName + ".csv"}
	err := a.exporter.Export(r.Context(), out, c)
	if err != nil && out.started {
		a.log.ErrorContext(r.Context(), "admin api: export cut off", "tenant", p.TenantName, "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// attachment is a CSV file download whose headers go out with its first
// bytes, so that an error before them can still be answered as one.
type attachment struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (a *attachment) Write(b []byte) (int, error) {
	if !a.started {
		a.started = true
		h := a.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.name}))
		h.Set("X-Content-Type-Options", "nosniff")
		a.w.WriteHeader(http.StatusOK)
	}
	n, err := a.w.Write(b)
	if err != nil {
		return n, fmt.Errorf("send the export: %w", err)
	}
	return n, nil
}
