package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/ops"
)

// TestRoutes: the route label is the pattern that served the request, the
// SCIM endpoint for SCIM, and "other" for what no pattern names, whatever
// the path holds.
func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) {}
	mux.HandleFunc("/scim/v2/", ok)
	mux.HandleFunc("GET /activate/{token}", ok)
	inner := http.NewServeMux() // a handler's own mux, as the admin API has
	inner.HandleFunc("GET /admin/v1/{tenant}/users/{id}", ok)
	mux.Handle("/admin/v1/", inner)
	var logs bytes.Buffer
	h := ops.Middleware(slog.New(slog.NewJSONHandler(&logs, nil)), nil, mux)
	for path, want := range map[string]string{
		"/scim/v2/acme/Users":                  "/scim/v2/{tenant}/Users",
		"/scim/v2/acme/Users/":                 "/scim/v2/{tenant}/Users",
		"/scim/v2/acme/Users/2819c223":         "/scim/v2/{tenant}/Users/{id}",
		"/scim/v2/acme/Groups/.search":         "/scim/v2/{tenant}/Groups/.search",
		"/scim/v2/acme/.search":                "/scim/v2/{tenant}/.search",
		"/scim/v2/acme/Bulk":                   "/scim/v2/{tenant}/Bulk",
		"/scim/v2/acme/Bulk/x":                 "/scim/v2/{tenant}/other",
		"/scim/v2/acme/Users/a/b":              "/scim/v2/{tenant}/other",
		"/scim/v2/acme/whatever-someone-sends": "/scim/v2/{tenant}/other",
		"/scim/v2/acme":                        "/scim/v2/{tenant}",
		"/activate/secret-token-value":         "/activate/{token}",
		"/admin/v1/acme/users/42":              "/admin/v1/{tenant}/users/{id}",
		"/nothing/here":                        "other",
	} {
		logs.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		var line struct{ Route string }
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line.Route != want {
			t.Errorf("%s: route %q (%v), want %q", path, line.Route, err, want)
		}
	}
}

// TestMetrics: requests are counted by route, status and a bounded
// connector label; the store's metrics are read at scrape time, and a
// failing read is a scrape error, not a failed scrape.
func TestMetrics(t *testing.T) {
	var outboxErr error
	queued := time.Now().Add(-90 * time.Second)
	m := ops.NewMetrics(ops.Stats{
		Outbox: func(context.Context) (int64, time.Time, error) { return 3, queued, outboxErr },
		ImportJobs: func(context.Context) (map[string]int, error) {
			return map[string]int{"done": 2, "loading": 1}, nil
		},
	}, "okta")
	var logs bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{tenant}/{connector}", func(w http.ResponseWriter, r *http.Request) {
		ops.SetPrincipal(r.Context(), r.PathValue("tenant"), r.PathValue("connector"))
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(ops.Middleware(slog.New(slog.NewJSONHandler(&logs, nil)), m, mux))
	defer srv.Close()
	get := func(path string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	get("/t/acme/okta")
	for i := range ops.MaxConnectors + 3 {
		get(fmt.Sprintf("/t/acme/c%d", i))
	}
	opsSrv := httptest.NewServer(ops.Handler(ops.HandlerConfig{Metrics: m}))
	defer opsSrv.Close()
	scrape := func() string {
		res, err := http.Get(opsSrv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("/metrics: %d %s", res.StatusCode, b)
		}
		return string(b)
	}
	out := scrape()
	for _, want := range []string{
		`scimd_http_requests_total{connector="okta",method="GET",route="/t/{tenant}/{connector}",status="418"} 1`,
		`scimd_http_requests_total{connector="c0",method="GET",route="/t/{tenant}/{connector}",status="418"} 1`,
		`scimd_http_requests_total{connector="other",method="GET",route="/t/{tenant}/{connector}",status="418"} 3`,
		`scimd_outbox_pending_messages 3`,
		`scimd_import_jobs{state="done"} 2`,
		`scimd_import_jobs{state="loading"} 1`,
		`scimd_import_jobs{state="queued"} 0`,
		`scimd_store_scrape_errors{metric="outbox"} 0`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, fmt.Sprintf(`connector="c%d"`, ops.MaxConnectors)) {
		t.Errorf("more than %d connectors have their own label", ops.MaxConnectors)
	}
	if !strings.Contains(out, "scimd_outbox_lag_seconds 9") { // 90.x s
		t.Errorf("outbox lag not about 90 s:\n%s", out)
	}
	if !strings.Contains(logs.String(), `"tenant":"acme","connector":"okta"`) {
		t.Errorf("the log line lacks the principal: %s", logs.String())
	}

	outboxErr = errors.New("database unavailable")
	out = scrape()
	if !strings.Contains(out, `scimd_store_scrape_errors{metric="outbox"} 1`) || strings.Contains(out, "scimd_outbox_pending_messages") {
		t.Errorf("a failing outbox read:\n%s", out)
	}
}

// TestHandler: /readyz follows Ready; pprof only when asked for.
func TestHandler(t *testing.T) {
	var ready error
	for _, pprof := range []bool{false, true} {
		h := ops.Handler(ops.HandlerConfig{Ready: func(context.Context) error { return ready }, Pprof: pprof})
		for _, c := range []struct {
			path  string
			ready error
			want  int
		}{{"/healthz", nil, 200}, {"/readyz", nil, 200}, {"/readyz", errors.New("ping: down"), 503}, {"/metrics", nil, 404}} {
			ready = c.ready
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
			if rec.Code != c.want {
				t.Errorf("pprof %v, %s (ready %v): %d, want %d", pprof, c.path, c.ready, rec.Code, c.want)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
		if (rec.Code == 200) != pprof {
			t.Errorf("pprof %v: /debug/pprof/ %d", pprof, rec.Code)
		}
	}
}

// BenchmarkMiddleware is what the middleware adds to a request: its log
// line (JSON, to io.Discard here) and its metrics.
func BenchmarkMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /scim/v2/{tenant}/", func(w http.ResponseWriter, r *http.Request) {
		ops.SetPrincipal(r.Context(), "acme", "okta")
		w.WriteHeader(200)
	})
	m := ops.NewMetrics(ops.Stats{}, "okta")
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", mux}, {"middleware", ops.Middleware(slog.New(slog.NewJSONHandler(io.Discard, nil)), m, mux)}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/scim/v2/acme/Users/2819c223", nil)
			for b.Loop() {
				c.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
