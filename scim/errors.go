package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Error is a SCIM error response (RFC 7644 §3.12). It is elimity's type, so
// errors our handlers return pass through the library unchanged.
type Error = scimerr.ScimError

func newError(status int, scimType scimerr.ScimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func badRequest(scimType scimerr.ScimType, format string, args ...any) *Error {
	return newError(http.StatusBadRequest, scimType, format, args...)
}

// writeError writes e as a SCIM error response. It is the one place our own
// handlers put errors on the wire; the library's handlers write the same
// body for errors we return to them.
func writeError(w http.ResponseWriter, e *Error) {
	body, _ := json.Marshal(e) // a struct of strings always marshals
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(e.Status)
	w.Write(body)
}

// libError hands an error to elimity-com/scim, which recognises only
// ScimError values (not pointers) and otherwise shows err.Error().
func libError(e *Error) error { return *e }

// toSCIM turns any error from the layers below into a SCIM error. An error
// it does not know is logged with an ID and answered as a 500 that carries
// only that ID: internals never reach the client. In a request handed to
// elimity-com/scim it also notes the answer for passAnswers.
func (s *Server) toSCIM(ctx context.Context, err error) *Error {
	e := s.scimError(ctx, err)
	if slot, ok := ctx.Value(libAnswerKey{}).(**Error); ok {
		*slot = e
	}
	return e
}

// libAnswerKey holds, in the context of a request handed to
// elimity-com/scim, the error our handler answered it with.
type libAnswerKey struct{}

// passAnswers serves r with elimity-com/scim's handler h, whose error
// answers hold only the statuses RFC 7644 §3.12 lists for the method: any
// other, a 503 above all (a write the deletion guard held, a database
// outage: the IdP is to retry), it turns into a 500 saying "not
// applicable". Where it does, the answer our handler gave is written
// instead, Retry-After and all.
func passAnswers(h http.Handler, w http.ResponseWriter, r *http.Request) {
	slot := new(*Error)
	r = r.WithContext(context.WithValue(r.Context(), libAnswerKey{}, slot))
	h.ServeHTTP(&answerWriter{ResponseWriter: w, slot: slot}, r)
}

// answerWriter writes the handler's own error for the library's 500.
type answerWriter struct {
	http.ResponseWriter
	slot     **Error
	replaced bool
}

func (w *answerWriter) WriteHeader(code int) {
	if e := *w.slot; code == http.StatusInternalServerError && e != nil && e.Status != code {
		w.replaced = true
		writeError(w.ResponseWriter, e)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *answerWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scimError is toSCIM's mapping.
func (s *Server) scimError(ctx context.Context, err error) *Error {
	var (
		se       *Error
		sv       Error
		conflict *store.ConflictError
		unknown  *store.UnknownMembersError
		filterE  *store.FilterError
		inputE   *reconcile.InputError
		matchE   *reconcile.MatchError
		authE    *reconcile.AuthError
		localE   *reconcile.LocalUserError
		heldE    *reconcile.HeldError
		rejected *reconcile.RejectedError
	)
	if pe, ok := patchError(err); ok {
		return pe
	}
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &sv):
		return &sv
	case errors.Is(err, store.ErrUnavailable):
		return s.unavailable(ctx, err)
	case errors.Is(err, store.ErrNotFound):
		return newError(http.StatusNotFound, "", "no such resource")
	case errors.Is(err, errPreconditionFailed):
		return newError(http.StatusPreconditionFailed, "", "the resource has changed since the version in If-Match; read it again and retry")
	case errors.Is(err, store.ErrStale):
		return newError(http.StatusConflict, "", "the resource was changed by another writer at the same time; retry")
	case errors.As(err, &conflict):
		return newError(http.StatusConflict, scimerr.ScimTypeUniqueness, "%s is already in use in this tenant (compared without regard to case)", conflict.Attribute)
	case errors.As(err, &unknown):
		return badRequest(scimerr.ScimTypeInvalidValue, "members: no user or group with id %s in this tenant", strings.Join(unknown.IDs, ", "))
	case errors.As(err, &filterE):
		return badRequest(scimerr.ScimTypeInvalidFilter, "%s", filterE.Msg)
	case errors.As(err, &localE):
		// 403: the operation is not permitted (RFC 7644 §3.12); IdPs
		// show the detail and do not retry it, as they would a 409.
		return newError(http.StatusForbidden, "", "%s", localE.Error())
	case errors.As(err, &matchE):
		return newError(http.StatusConflict, scimerr.ScimTypeUniqueness, "%s", matchE.Msg)
	case errors.As(err, &authE):
		return newError(http.StatusUnauthorized, "", "%s", authE.Msg)
	case errors.As(err, &inputE):
		return badRequest(scimerr.ScimTypeInvalidValue, "%s", inputE.Msg)
	case errors.As(err, &heldE): // a 503 with Retry-After (withOutage): the IdP retries
		setRetryAfter(ctx, heldE.RetryAfter)
		return newError(http.StatusServiceUnavailable, "", "%s", heldE.Error())
	case errors.As(err, &rejected): // not retried: the IdP logs it
		return newError(http.StatusForbidden, "", "%s", rejected.Error())
	case errors.Is(err, reconcile.ErrHeldBack): // runBulk applies it again
		return newError(http.StatusServiceUnavailable, "", "retry")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusServiceUnavailable, "", "the request was cancelled or timed out")
	}
	id := reconcile.ErrorID()
	s.log.ErrorContext(ctx, "internal error", "error_id", id, "err", err)
	return newError(http.StatusInternalServerError, "", "internal error; the server log has the details under error_id %s", id)
}

// errPreconditionFailed is an If-Match that names an older version.
var errPreconditionFailed = errors.New("precondition failed")
