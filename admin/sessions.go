package admin

import (
	"net/http"
	"time"

	"github.com/scimd/scimd/store"
)

// session is a sign-in session as the admin API lists it: never its
// secret nor its hash.
type session struct {
	ID            int64      `json:"id"`
	Connector     string     `json:"connector,omitempty"`
	Live          bool       `json:"live"`
	CreatedAt     time.Time  `json:"createdAt"`
	LastSeenAt    time.Time  `json:"lastSeenAt"`
	IdleExpiresAt time.Time  `json:"idleExpiresAt"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	EndedAt       *time.Time `json:"endedAt,omitempty"`
	EndReason     string     `json:"endReason,omitempty"`
}

// sessions is GET /admin/v1/{tenant}/users/{id}/sessions: the user's
// sign-in sessions, newest first, live and ended (the last 100).
func (a *api) sessions(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.visibleUser(r, p)
	if err != nil {
		return err
	}
	rows, err := a.db.UserSessions(r.Context(), p.TenantID, u.ID, 100)
	if err != nil {
		return err
	}
	names, err := a.db.ConnectorNames(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	now := time.Now()
	out := struct {
		Sessions []session `json:"sessions"`
	}{Sessions: []session{}}
	for _, s := range rows {
		out.Sessions = append(out.Sessions, session{ID: s.ID, Connector: names[s.ConnectorID],
			Live:      s.EndedAt == nil && now.Before(s.ExpiresAt) && now.Before(s.IdleExpiresAt),
			CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, IdleExpiresAt: s.IdleExpiresAt, ExpiresAt: s.ExpiresAt,
			EndedAt: s.EndedAt, EndReason: s.EndReason})
	}
	return writeJSON(w, out)
}

// endSessions is DELETE /admin/v1/{tenant}/users/{id}/sessions: every live
// session of the user ends at once (their next request must sign in
// again), with an audit event naming the administrator. It answers how
// many ended.
func (a *api) endSessions(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	n, err := a.engine.EndUserSessions(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]int{"ended": n})
}
