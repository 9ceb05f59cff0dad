package admin

import (
	"net/http"
	"strconv"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// The lifecycle of a user in an administrator's hands (000 and 004
// seeds), each through the engine, which audits it and checks the
// administrator's scope: a user outside an org unit's administrator's unit
// is 404 to them.
//
//	POST   /admin/v1/{tenant}/users/{id}/disable   disabled: active false, sessions end
//	POST   /admin/v1/{tenant}/users/{id}/enable    active again; ?force=true enables a user pending activation
//	DELETE /admin/v1/{tenant}/users/{id}           deleted softly, as a SCIM DELETE (204)
//	POST   /admin/v1/{tenant}/users/{id}/restore   back, disabled and without grants
//	PUT    /admin/v1/{tenant}/users/{id}/grants    {"roles": [...], "groups": [...]}: the manual ones
//	POST   /admin/v1/{tenant}/users/{id}/activation   a new activation link (the old ones stop working); 409 unless pending
func (a *api) lifecycleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/v1/{tenant}/users/{id}/disable", a.auth(a.disable))
	mux.HandleFunc("POST /admin/v1/{tenant}/users/{id}/enable", a.auth(a.enable))
	mux.HandleFunc("DELETE /admin/v1/{tenant}/users/{id}", a.auth(a.deleteUser))
	mux.HandleFunc("POST /admin/v1/{tenant}/users/{id}/restore", a.auth(a.restore))
	mux.HandleFunc("PUT /admin/v1/{tenant}/users/{id}/grants", a.auth(a.setGrants))
	mux.HandleFunc("POST /admin/v1/{tenant}/users/{id}/activation", a.auth(a.resendActivation))
	a.localRoutes(mux)
}

// stateDoc is a user's state after a lifecycle change, with what it
// means for the administrator when something is left to do.
type stateDoc struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Status   string `json:"status"`
	Note     string `json:"note,omitempty"`
}

func (a *api) disable(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.engine.DisableUser(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, stateDoc{ID: u.ID, UserName: u.UserName, Status: u.Status})
}

func (a *api) enable(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	force, _ := strconv.ParseBool(r.URL.Query().Get("force"))
	u, err := a.engine.EnableUser(r.Context(), p, r.PathValue("id"), force)
	if err != nil {
		return err
	}
	return writeJSON(w, stateDoc{ID: u.ID, UserName: u.UserName, Status: u.Status})
}

func (a *api) deleteUser(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if err := a.engine.DeleteUser(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) restore(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.engine.RestoreUser(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, stateDoc{ID: u.ID, UserName: u.UserName, Status: u.Status, Note: RestoredNote})
}

// RestoredNote is what a restore leaves to the administrator.
const RestoredNote = "restored without their roles and groups, and disabled: reassign them to a group and role, then enable them"

// setGrants sets a user's manual roles and groups (an administrator's,
// beside what connectors' rules grant, which no rule revokes) and answers
// the user as GET does.
func (a *api) setGrants(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var want reconcile.Grants
	if err := a.readJSON(w, r, &want, `{"roles": [...], "groups": [...]}`); err != nil {
		return err
	}
	if _, err := a.engine.SetUserGrants(r.Context(), p, r.PathValue("id"), want); err != nil {
		return err
	}
	return a.user(w, r, p)
}

// resendActivation queues a new activation message for a user pending
// activation (004 seed: resend the activation link).
func (a *api) resendActivation(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	u, err := a.engine.ResendActivation(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeStatus(w, http.StatusAccepted, stateDoc{ID: u.ID, UserName: u.UserName, Status: u.Status, Note: "a new activation link is queued; the links sent before no longer work"})
}
