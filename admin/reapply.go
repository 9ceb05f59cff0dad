package admin

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// The impact of a configuration and the re-apply job:
//
//	POST /admin/v1/{tenant}/config/impact   body: the YAML → what it would change for the existing users
//	PUT  /admin/v1/{tenant}/config          saves, and answers with the impact of what it saved
//	POST /admin/v1/{tenant}/reapply         applies the saved configuration to the existing users (202)
//	GET  /admin/v1/{tenant}/reapply/{id}    the job's progress
//
// A job whose process stopped is resumed by the next POST /reapply (it
// answers with the same job), after the last batch it committed.

// reapplyRuns are the re-apply jobs this process runs, by id, so that a
// second POST does not start a second runner of the same job.
type reapplyRuns struct {
	mu  sync.Mutex
	ids map[string]bool
}

// claim reports whether id was not running here, and marks it running.
func (r *reapplyRuns) claim(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids[id] {
		return false
	}
	r.ids[id] = true
	return true
}

func (r *reapplyRuns) release(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ids, id)
}

func (a *api) impact(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	raw, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	rep, err := a.engine.Impact(r.Context(), p, string(raw), nil)
	if err != nil {
		return err
	}
	return writeJSON(w, rep)
}

// reapplyDoc is a re-apply job as the API shows it.
type reapplyDoc struct {
	ID            string     `json:"id"`
	State         string     `json:"state"`
	ConfigVersion int64      `json:"configVersion"`
	UsersDone     int64      `json:"usersDone"`
	UsersTotal    int64      `json:"usersTotal"`
	UsersChanged  int64      `json:"usersChanged"`
	UsersFailed   int64      `json:"usersFailed"`
	Resumed       bool       `json:"resumed,omitempty"`
	CreatedBy     string     `json:"createdBy"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
}

func reapplyOf(j store.ReapplyJob) reapplyDoc {
	return reapplyDoc{ID: j.ID, State: j.State, ConfigVersion: j.ConfigVersion, UsersDone: j.UsersDone, UsersTotal: j.UsersTotal,
		UsersChanged: j.UsersChanged, UsersFailed: j.UsersFailed, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt,
		UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt}
}

// postReapply starts the tenant's re-apply job, or resumes the one not
// finished, in the background.
func (a *api) postReapply(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	j, resumed, err := a.engine.StartReapply(r.Context(), p)
	if err != nil {
		return err
	}
	if a.reapplies.claim(j.ID) {
		go func(ctx context.Context) {
			defer a.reapplies.release(j.ID)
			if _, err := a.engine.RunReapply(ctx, p, j.ID, nil); err != nil {
				a.log.Error("re-apply job", slog.String("tenant", p.TenantName), slog.String("job", j.ID), slog.Any("error", err))
			}
		}(context.WithoutCancel(r.Context()))
	}
	doc := reapplyOf(j)
	doc.Resumed = resumed
	return writeStatus(w, http.StatusAccepted, doc)
}

func (a *api) reapplyJob(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	j, err := a.engine.ReapplyJob(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, reapplyOf(j))
}

// savedImpact is PUT /config's answer: the configuration saved and what it
// changes for the existing users (the re-apply job makes it so).
type savedImpact struct {
	configuration
	Impact *reconcile.ImpactReport `json:"impact,omitempty"`
}
