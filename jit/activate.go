package jit

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Activation serves the one-time links of activation messages:
//
//	GET  /activate/{token}   a page naming the account, with a button
//	POST /activate/{token}   activates it (once), through the engine
//
// GET writes nothing, so that a mail scanner that fetches the link does
// not use it. The token never reaches a log: errors are logged with an
// error ID, not the path, and the pages tell no referrer.
type Activation struct {
	engine *reconcile.Engine
	log    *slog.Logger
}

// NewActivation returns the handler of activation links; a nil log
// discards.
func NewActivation(engine *reconcile.Engine, log *slog.Logger) *Activation {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Activation{engine: engine, log: log}
}

var activationTemplate = template.Must(template.New("activate").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1>
<p>{{.Detail}}</p>
{{if .Form}}<form method="post"><button type="submit">Activate my account</button></form>{{end}}
</body></html>
`))

func (a *Activation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		u, err := a.engine.CheckActivation(r.Context(), token)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.page(w, http.StatusOK, "Activate your account", "Account "+u.UserName+" is ready: activate it to sign in.", true)
	case http.MethodPost:
		u, err := a.engine.Activate(r.Context(), token)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.page(w, http.StatusOK, "Account activated", "Account "+u.UserName+" is active: you can sign in now.", false)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		a.page(w, http.StatusMethodNotAllowed, "Not allowed", "Open the link from your message in a browser.", false)
	}
}

func (a *Activation) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *reconcile.ActivationError
	var se *reconcile.StateError
	switch {
	case errors.As(err, &ae) && ae.Reason == "unknown":
		a.page(w, http.StatusNotFound, "Link not valid", ae.Error(), false)
	case errors.As(err, &ae):
		a.page(w, http.StatusGone, "Link no longer valid", ae.Error(), false)
	case errors.As(err, &se):
		a.page(w, http.StatusConflict, "Account not activated", se.Error(), false)
	case errors.Is(err, store.ErrUnavailable):
		w.Header().Set("Retry-After", store.RetryAfter)
		a.page(w, http.StatusServiceUnavailable, "Unavailable", "The service is unavailable; try the link again shortly.", false)
	default:
		id := reconcile.ErrorID()
		a.log.ErrorContext(r.Context(), "activation", "errorId", id, "err", err)
		a.page(w, http.StatusInternalServerError, "Activation failed", "Internal error; quote error ID "+id+" to your IT team.", false)
	}
}

// page answers with a page that runs no script, is framed by no one and
// sends no referrer (the URL holds the token).
func (a *Activation) page(w http.ResponseWriter, status int, title, detail string, form bool) {
	pageHeaders(w.Header(), "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	activationTemplate.Execute(w, struct {
		Title, Detail string
		Form          bool
	}{title, detail, form})
}
