package admin

import (
	"net/http"

	"github.com/scimd/scimd/store"
)

// Local (break-glass) users, marked and unmarked by an administrator
// through the engine, which audits it ("local", "unlocal"):
//
//	POST /admin/v1/{tenant}/users/{id}/local   {"local": true}: no connector may match, change, disable or delete them
func (a *api) localRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/v1/{tenant}/users/{id}/local", a.auth(a.setLocal))
}

// localDoc is a user's local flag after a change.
type localDoc struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Local    bool   `json:"local"`
}

func (a *api) setLocal(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var body struct {
		Local *bool `json:"local"`
	}
	if err := a.readJSON(w, r, &body, `{"local": true}`); err != nil {
		return err
	}
	if body.Local == nil {
		return &Error{http.StatusBadRequest, `say {"local": true} or {"local": false}`}
	}
	u, err := a.engine.SetUserLocal(r.Context(), p, r.PathValue("id"), *body.Local)
	if err != nil {
		return err
	}
	return writeJSON(w, localDoc{ID: u.ID, UserName: u.UserName, Local: u.Local})
}
