package admin

import (
	"net/http"
	"strconv"

	"github.com/scimd/scimd/store"
)

// held is GET /admin/v1/{tenant}/connectors/{connector}/held: the writes
// the connector's deletion guard held, in the order held (?state=pending,
// approved or rejected; all by default), 500 a page after ?after=ID.
func (a *api) held(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	state := r.URL.Query().Get("state")
	switch state {
	case "", store.HeldPending, store.HeldApproved, store.HeldRejected:
	default:
		return &Error{http.StatusBadRequest, "state is pending, approved or rejected"}
	}
	hs, err := a.engine.HeldWrites(r.Context(), p, r.PathValue("connector"), state, after, 500)
	if err != nil {
		return err
	}
	out := struct {
		Held []store.HeldWrite `json:"held"`
		Next *int64            `json:"next,omitempty"`
	}{Held: append([]store.HeldWrite{}, hs...)}
	if len(hs) == 500 {
		out.Next = &hs[len(hs)-1].ID
	}
	return writeJSON(w, out)
}

// decideHeld is POST …/held/approve and …/held/reject, with a body
// {"ids": [3, 4]} or none (all pending): each decided write is audited,
// naming the administrator; approved ones are applied in order.
func (a *api) decideHeld(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p store.Principal) error {
		var body struct {
			IDs []int64 `json:"ids"`
		}
		if r.ContentLength != 0 {
			if err := a.readJSON(w, r, &body, `{"ids": [held write ids]}`); err != nil {
				return err
			}
		}
		decide := a.engine.RejectHeld
		if approve {
			decide = a.engine.ApproveHeld
		}
		d, err := decide(r.Context(), p, r.PathValue("connector"), body.IDs)
		if err != nil {
			return err
		}
		return writeJSON(w, d)
	}
}
