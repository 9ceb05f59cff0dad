package scim

import (
	"context"
	"net/http"
	"strconv"
	"time"

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
		h(sw, r.WithContext(context.WithValue(r.Context(), retryAfterKey{}, &sw.retryAfter)))
		if sw.status != http.StatusServiceUnavailable {
			s.outage.End(r.Context())
		}
	}
}

// statusWriter notes the status written and adds Retry-After to a 503:
// retryAfter when the answer set it (a held write, see setRetryAfter),
// else the database outage's.
type statusWriter struct {
	http.ResponseWriter
	status     int
	retryAfter string
}

type retryAfterKey struct{}

// setRetryAfter makes the 503 that ctx's request answers say to retry
// after d rather than after an outage's few seconds.
func setRetryAfter(ctx context.Context, d time.Duration) {
	if p, ok := ctx.Value(retryAfterKey{}).(*string); ok {
		*p = strconv.Itoa(int(d.Seconds()))
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
			after := store.RetryAfter
			if w.retryAfter != "" {
				after = w.retryAfter
			}
			w.Header().Set("Retry-After", after)
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
