package scim

import (
	"context"
	"net/http"

	"github.com/scimd/scimd/store"
)

// unavailable is the answer to a request the database could not serve.
func (s *Server) unavailable(ctx context.Context, err error) *Error {
	s.outage.Begin(ctx, err)
	return newError(http.StatusServiceUnavailable, "", "the database is unavailable; retry after the seconds in Retry-After")
}

// withOutage gives every 503 the handler answers a Retry-After, whoever
// writes it (our handlers or elimity-com/scim), and ends a recorded
// outage when the handler answers anything else.
func (s *Server) withOutage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.status != http.StatusServiceUnavailable {
			s.outage.End(r.Context())
		}
	}
}

// statusWriter notes the status written and adds Retry-After to a 503.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", store.RetryAfter)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
