package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// shadowPage bounds a page of a shadow log: ?count= asks for fewer.
const shadowPage = 100

// shadowReport is GET /admin/v1/{tenant}/connectors/{connector}/shadow:
// what the connector would have done in shadow mode, and one page of the
// plans (?after=ID&count=N; next is the after of the next page, 0 at the end).
type shadowReport struct {
	reconcile.ShadowSummary
	Entries []shadowEntry `json:"entries"`
	Next    int64         `json:"next,omitempty"`
}

// shadowEntry is one plan of a shadow log.
type shadowEntry struct {
	ID         int64           `json:"id"`
	At         string          `json:"at"`
	Kind       string          `json:"kind"`
	Op         string          `json:"op"`
	Action     string          `json:"action"`
	ResourceID string          `json:"resourceId,omitempty"`
	Conflict   string          `json:"conflict,omitempty"`
	Error      string          `json:"error,omitempty"`
	Plan       json.RawMessage `json:"plan,omitempty"`
}

func (a *api) shadow(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	name := r.PathValue("connector")
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	count, err := queryInt(r, "count", shadowPage)
	if err != nil {
		return err
	}
	sum, err := a.engine.ShadowSummary(r.Context(), p.TenantName, name)
	if err != nil {
		return err
	}
	plans, err := a.engine.ShadowPlans(r.Context(), p.TenantName, name, after, int(min(max(count, 1), shadowPage)))
	if err != nil {
		return err
	}
	out := shadowReport{ShadowSummary: sum, Entries: make([]shadowEntry, len(plans))}
	for i, sp := range plans {
		out.Entries[i] = shadowEntry{ID: sp.ID, At: sp.At.UTC().Format("2006-01-02T15:04:05.000000Z"), Kind: sp.Kind, Op: sp.Op,
			Action: sp.Action, ResourceID: sp.ResourceID, Conflict: sp.Conflict, Error: sp.Error, Plan: sp.Summary}
	}
	if len(plans) > 0 && int64(len(plans)) == min(max(count, 1), shadowPage) {
		out.Next = plans[len(plans)-1].ID
	}
	return writeJSON(w, out)
}

// queryInt reads a non-negative integer query parameter, def when absent.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &reconcile.InputError{Attribute: name, Msg: fmt.Sprintf("%s must be a non-negative integer, not %q", name, v)}
	}
	return n, nil
}
