package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// RequestIDHeader carries a request's id, taken from the request when it
// is sane (see [Middleware]) and echoed in the response.
const RequestIDHeader = "X-Request-Id"

// info is what the middleware learns of a request while it is served:
// who it acts as, once the handler has authenticated it.
type info struct {
	mu                sync.Mutex
	tenant, connector string
}

type infoKey struct{}

// SetPrincipal tells the middleware serving ctx's request whom the
// request acts as, for its log line and metrics; cmd/scimd calls it when
// the engine authenticates a request. Without the middleware it does
// nothing.
func SetPrincipal(ctx context.Context, tenant, connector string) {
	if in, ok := ctx.Value(infoKey{}).(*info); ok {
		in.mu.Lock()
		in.tenant, in.connector = tenant, connector
		in.mu.Unlock()
	}
}

type requestIDKey struct{}

// RequestID returns the id of ctx's request ("" outside the middleware).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Middleware logs one line per request to log (its id, tenant,
// connector, route, method, status, bytes written and latency) and counts
// it in m (nil: no metrics). It never logs the path, the query or any
// header: a path may hold an activation token, a query an authorization
// code, headers tokens and cookies. The route is the pattern of the
// ServeMux that served the request (/scim/v2/{tenant}/Users/{id}, …),
// so that its values are few.
//
// A request's id is its X-Request-Id when that is 1 to 64 letters,
// digits and "-_.:", else a new random one; the response carries it.
func Middleware(log *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !saneID(id) {
			id = newID()
		}
		w.Header().Set(RequestIDHeader, id)
		in := &info{}
		ctx := context.WithValue(context.WithValue(r.Context(), infoKey{}, in), requestIDKey{}, id)
		r = r.WithContext(ctx)
		rw := &recorder{ResponseWriter: w, status: http.StatusOK}
		if m != nil {
			m.inFlight.Inc()
			defer m.inFlight.Dec()
		}
		next.ServeHTTP(rw, r)
		took := time.Since(start)
		route := Route(r)
		in.mu.Lock()
		tenant, connector := in.tenant, in.connector
		in.mu.Unlock()
		if m != nil {
			m.request(route, r.Method, rw.status, connector, took)
		}
		span := trace.SpanFromContext(ctx)
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.written),
			slog.Float64("latency_ms", float64(took.Microseconds())/1000),
		}
		if tenant != "" {
			attrs = append(attrs, slog.String("tenant", tenant), slog.String("connector", connector))
		}
		if sc := span.SpanContext(); sc.IsValid() {
			attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
			span.SetName(r.Method + " " + route)
		}
		level := slog.LevelInfo
		if rw.status >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(ctx, level, "request", attrs...)
	})
}

// scimRoutes are the SCIM endpoints below a tenant, by their first path
// segment: the route label of a SCIM request names one of them.
var scimRoutes = map[string]bool{"Users": true, "Groups": true, "Bulk": true, "Me": true, "Schemas": true,
	"ResourceTypes": true, "ServiceProviderConfig": true, ".search": true}

// Route is the route of a request that a ServeMux served: its pattern
// without the method ("/admin/v1/{tenant}/users/{id}"), and for SCIM the
// endpoint below the tenant ("/scim/v2/{tenant}/Users/{id}"); "other"
// when no pattern matched.
func Route(r *http.Request) string {
	p := r.Pattern
	if _, path, ok := strings.Cut(p, " "); ok {
		p = path
	}
	if p == "" {
		return Other
	}
	if strings.HasPrefix(p, "/scim/v2/") {
		return scimRoute(r.URL.Path)
	}
	return p
}

// scimRoute is the route of a SCIM request's path.
func scimRoute(path string) string {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/scim/v2/"), "/"), "/")
	if len(parts) < 2 {
		return "/scim/v2/{tenant}"
	}
	if !scimRoutes[parts[1]] {
		return "/scim/v2/{tenant}/" + Other
	}
	route := "/scim/v2/{tenant}/" + parts[1]
	switch {
	case len(parts) == 2:
		return route
	case len(parts) == 3 && parts[2] == ".search":
		return route + "/.search"
	case len(parts) == 3 && parts[1] != "Bulk" && parts[1] != "Me":
		return route + "/{id}"
	}
	return "/scim/v2/{tenant}/" + Other
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recorder notes a response's status and size.
type recorder struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Flush passes a flush on: some handlers stream.
func (w *recorder) Flush() {
	w.wroteHeader = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
