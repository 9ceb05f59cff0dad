package admin

import (
	"net/http"

	"github.com/scimd/scimd/store"
)

// erase is POST /admin/v1/{tenant}/users/{id}/erase: the person's right to
// erasure ([reconcile.Engine.EraseUser]), which a SCIM DELETE is not. It
// answers 204; the user is gone and their audit events keep no values.
// An administrator of an org unit may erase the users they can see.
func (a *api) erase(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if err := a.engine.EraseUser(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
