package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Paging of GET /audit.
const (
	defaultAuditEvents = 50
	maxAuditEvents     = 500
)

// auditSources are the sources an event may have, for source=.
var auditSources = []reconcile.Source{reconcile.SourceSCIM, reconcile.SourceOIDC, reconcile.SourceCSV,
	reconcile.SourceAdmin, reconcile.SourceCLI, reconcile.SourceActivation}

// auditEvent is an event of the audit log as the admin API shows it.
type auditEvent struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"at"`
	Source       string    `json:"source"`
	Connector    string    `json:"connector,omitempty"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resourceType"`
	ResourceID   string    `json:"resourceId"`
	// UserName is the userName of the user the event is about, for the
	// events of a user that still exists (deleted ones too).
	UserName string         `json:"userName,omitempty"`
	Detail   map[string]any `json:"detail"`
}

// audit lists the tenant's audit log, newest first, limit (default 50, at
// most 500) at a time: next is the before= of the following page. user=
// (a user's id or userName), connector= (a name), source= and the time
// range since= (inclusive) and until= (exclusive; RFC 3339, or a date,
// UTC) narrow it; each reads an index (migration 0028).
//
// An administrator scoped to an org unit reads the log one user at a time,
// a user of their unit: user= is required. The rest of the log (other
// units' users, the configuration, tokens, connectors, groups) concerns
// the whole tenant, and a log filtered to a unit's users could not be read
// from an index: a small unit's events would be sought among all of them.
func (a *api) audit(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	ctx := r.Context()
	q := r.URL.Query()
	s := store.AuditSearch{TenantID: p.TenantID, Limit: defaultAuditEvents}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &Error{http.StatusBadRequest, "limit must be a positive number of events"}
		}
		s.Limit = min(n, maxAuditEvents)
	}
	if v := q.Get("before"); v != "" {
		at, id, ok := strings.Cut(v, "-")
		micros, err1 := strconv.ParseInt(at, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil || n < 1 {
			return &Error{http.StatusBadRequest, "before must be the next of the page before, as the API gave it"}
		}
		s.Before = store.AuditPosition{At: time.UnixMicro(micros).UTC(), ID: n}
	}
	var err error
	if s.Since, err = auditTime(q.Get("since"), "since"); err != nil {
		return err
	}
	if s.Until, err = auditTime(q.Get("until"), "until"); err != nil {
		return err
	}
	if v := q.Get("source"); v != "" {
		if !slices.Contains(auditSources, reconcile.Source(v)) {
			return &Error{http.StatusBadRequest, fmt.Sprintf("source %q: use one of %v", v, auditSources)}
		}
		s.Source = v
	}
	if v := q.Get("connector"); v != "" {
		c, err := a.db.ConnectorPrincipal(ctx, p.TenantName, v)
		if errors.Is(err, store.ErrNotFound) {
			return &Error{http.StatusNotFound, fmt.Sprintf("no connector named %q in this tenant", v)}
		}
		if err != nil {
			return err
		}
		s.ConnectorID = c.ConnectorID
	}
	if v := q.Get("user"); v != "" {
		if s.ResourceID, err = a.auditUser(r, p, v); err != nil {
			return err
		}
	} else if p.OrgUnit != "" {
		return &Error{http.StatusForbidden, fmt.Sprintf("administrators of org unit %s read the audit log of one user of their unit at a time (user=); the whole log takes a tenant-wide admin connector", p.OrgUnit)}
	}
	want := s.Limit
	s.Limit++
	evs, err := a.db.AuditLog(ctx, s)
	if err != nil {
		return err
	}
	out := struct {
		Events []auditEvent `json:"events"`
		Next   string       `json:"next,omitempty"`
	}{Events: []auditEvent{}}
	if len(evs) > want {
		evs = evs[:want]
		last := evs[want-1].Position()
		out.Next = strconv.FormatInt(last.At.UnixMicro(), 10) + "-" + strconv.FormatInt(last.ID, 10)
	}
	names, err := a.db.ConnectorNames(ctx, p.TenantID)
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range evs {
		if e.ResourceType == string(reconcile.KindUser) {
			ids = append(ids, e.ResourceID)
		}
	}
	userNames, err := a.db.UserNames(ctx, p.TenantID, ids)
	if err != nil {
		return err
	}
	for _, e := range evs {
		ev := auditEvent{ID: e.ID, At: e.At, Source: e.Source, Connector: names[e.ConnectorID], Action: e.Action,
			ResourceType: e.ResourceType, ResourceID: e.ResourceID, Detail: e.Detail}
		if ev.Detail == nil {
			ev.Detail = map[string]any{}
		}
		if e.ResourceType == string(reconcile.KindUser) {
			ev.UserName = userNames[e.ResourceID]
		}
		out.Events = append(out.Events, ev)
	}
	return writeJSON(w, out)
}

// auditUser is the id of the user v names (an id, else a userName), if
// the administrator may see them; an id names a deleted user too.
func (a *api) auditUser(r *http.Request, p store.Principal, v string) (string, error) {
	u, err := a.db.AnyUser(r.Context(), p.TenantID, 0, v)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.db.UserByUserName(r.Context(), p.TenantID, 0, v)
	}
	if err == nil && p.OrgUnit != "" {
		var in bool
		if in, err = a.db.UserInOrgUnit(r.Context(), u.PK, p.OrgUnit); err == nil && !in {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", &Error{http.StatusNotFound, fmt.Sprintf("no user with the id or userName %q in this tenant", v)}
	}
	return u.ID, err
}

// auditTime parses a time of the audit log's range: RFC 3339, or a date
// (its midnight, UTC).
func auditTime(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, &Error{http.StatusBadRequest, fmt.Sprintf("%s %q: give a time as RFC 3339 (2026-12-06T18:00:00Z) or a date (2026-12-06, UTC)", name, v)}
}
