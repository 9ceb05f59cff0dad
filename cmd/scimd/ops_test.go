package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scimd/scimd/jit/oidctest"
	"github.com/scimd/scimd/ops"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// scrape GETs url and returns its body, failing on any status but 200.
func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return string(b)
}

// series returns the value of the metric sample whose name and labels are
// exactly these (labels in Prometheus's sorted order), or "" when the
// exposition has none.
func series(exposition, name, labels string) string {
	prefix := name + "{" + labels + "} "
	if labels == "" {
		prefix = name + " "
	}
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return ""
}

// TestOperationsListener: a serve with --ops-addr answers /metrics,
// /healthz and /readyz there; after a few SCIM requests the metrics count
// them by route pattern (never the raw path: no user id in a label),
// status and connector, and count the engine's writes and plan outcomes;
// the pools, the outbox and the import jobs have their series. Each
// request has a JSON log line with its id, which the response echoes.
func TestOperationsListener(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		okta := newToken(t, dsn, "acme", "okta")
		addr, opsAddr := freeAddr(t), freeAddr(t)
		base := "http://" + addr
		stop, logs := serveLogging(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_OPS_ADDR": opsAddr})
		defer stop()

		status, body := call(t, "POST", base+"/scim/v2/acme/Users", okta,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com"}`)
		if status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		var user struct{ ID string }
		json.Unmarshal([]byte(body), &user)
		for range 2 {
			if status, body := call(t, "GET", base+"/scim/v2/acme/Users/"+user.ID, okta, ""); status != 200 {
				t.Fatalf("GET: %d %s", status, body)
			}
		}
		if status, _ := call(t, "GET", base+"/scim/v2/acme/Users?filter=userName%20eq%20%22nobody%22", okta, ""); status != 200 {
			t.Fatalf("list: %d", status)
		}
		if status, _ := call(t, "GET", base+"/scim/v2/acme/Users", "scimd_not-a-token", ""); status != 401 {
			t.Fatalf("bad token: %d", status)
		}
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
		req.Header.Set("X-Request-Id", "probe-42")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("X-Request-Id"); got != "probe-42" {
			t.Errorf("X-Request-Id echoed %q, want probe-42", got)
		}
		req.Header.Set("X-Request-Id", "no spaces, no commas, ({[<>]})"+strings.Repeat("x", 60))
		if res, err = client.Do(req); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got) {
			t.Errorf("an insane X-Request-Id replaced by %q, want a new one", got)
		}

		ops := "http://" + opsAddr
		for _, p := range []string{"/healthz", "/readyz"} {
			if got := scrape(t, ops+p); got != "ok\n" {
				t.Errorf("ops %s: %q", p, got)
			}
		}
		if res, err := client.Get(ops + "/debug/pprof/"); err != nil || res.StatusCode != 404 {
			t.Errorf("pprof without --pprof: %v %v", res.StatusCode, err)
		}
		m := scrape(t, ops+"/metrics")
		for _, c := range []struct{ name, labels, want string }{
			{"scimd_http_requests_total", `connector="okta",method="POST",route="/scim/v2/{tenant}/Users",status="201"`, "1"},
			{"scimd_http_requests_total", `connector="okta",method="GET",route="/scim/v2/{tenant}/Users/{id}",status="200"`, "2"},
			{"scimd_http_requests_total", `connector="okta",method="GET",route="/scim/v2/{tenant}/Users",status="200"`, "1"},
			{"scimd_http_requests_total", `connector="",method="GET",route="/scim/v2/{tenant}/Users",status="401"`, "1"},
			{"scimd_http_requests_total", `connector="",method="GET",route="/healthz",status="200"`, "2"},
			{"scimd_http_request_duration_seconds_count", `method="GET",route="/scim/v2/{tenant}/Users/{id}"`, "2"},
			{"scimd_provisioning_operations_total", `kind="User",op="create",source="scim"`, "1"},
			{"scimd_reconcile_plans_total", `mode="live",outcome="create",source="scim"`, "1"},
			{"scimd_outbox_pending_messages", ``, "0"},
			{"scimd_outbox_lag_seconds", ``, "0"},
			{"scimd_import_jobs", `state="done"`, "0"},
			{"scimd_store_scrape_errors", `metric="outbox"`, "0"},
		} {
			if got := series(m, c.name, c.labels); got != c.want {
				t.Errorf("%s{%s} = %q, want %s", c.name, c.labels, got, c.want)
			}
		}
		for _, name := range []string{"go_sql_max_open_connections", "go_sql_open_connections", "go_sql_wait_count_total",
			"scimd_http_requests_in_flight", "go_goroutines", "process_resident_memory_bytes"} {
			if !strings.Contains(m, "\n"+name) {
				t.Errorf("no %s series", name)
			}
		}
		if strings.Contains(m, user.ID) {
			t.Errorf("a user id in the metrics: labels must be patterns")
		}

		var lines []map[string]any
		sc := bufio.NewScanner(strings.NewReader(logs()))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("a log line that is not JSON: %q", sc.Text())
			}
			if line["msg"] == "request" {
				lines = append(lines, line)
			}
		}
		found := false
		for _, l := range lines {
			if l["route"] == "/scim/v2/{tenant}/Users" && l["method"] == "POST" {
				found = true
				if l["tenant"] != "acme" || l["connector"] != "okta" || l["status"] != 201.0 || l["request_id"] == "" || l["latency_ms"] == nil {
					t.Errorf("the POST's log line: %v", l)
				}
			}
			if l["request_id"] == "probe-42" && l["route"] != "/healthz" {
				t.Errorf("probe's line: %v", l)
			}
		}
		if !found || len(lines) < 7 {
			t.Errorf("%d request lines, POST found %v:\n%s", len(lines), found, logs())
		}
	})
}

// TestPprofOnOpsListener: --pprof serves the profiler on the operations
// listener only.
func TestPprofOnOpsListener(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	addr, opsAddr := freeAddr(t), freeAddr(t)
	stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_OPS_ADDR": opsAddr, "SCIMD_PPROF": "true"})
	defer stop()
	if got := scrape(t, "http://"+opsAddr+"/debug/pprof/"); !strings.Contains(got, "goroutine") {
		t.Errorf("pprof index: %.200s", got)
	}
	if res, err := client.Get("http://" + addr + "/debug/pprof/"); err != nil || res.StatusCode != 404 {
		t.Errorf("pprof on the main listener: %v %v", res, err)
	}
}

// TestNoSecretsInLogs drives requests that carry every kind of secret a
// client sends (a connector's bearer token, a password in a SCIM body, a
// session and a login cookie, a Basic Authorization header, an unknown
// token, an activation token in a path, an authorization code and state
// in a query, an ID token in a body) and a failing login, then reads the
// whole log: no secret is in it, while every request has its line.
func TestNoSecretsInLogs(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		op := oidctest.Mock(t)
		t.Setenv("SCIMD_TEST_SSO_SECRET", op.ClientSecret) // read from the process's environment
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		os.WriteFile(config, []byte(fmt.Sprintf(`
tenants:
  - name: acme
    connectors:
      - name: sso
        kind: oidc
        oidc: {issuer: %s, clientId: %s, clientSecretEnv: SCIMD_TEST_SSO_SECRET}
        emailDomains: [example.com]
`, op.Issuer(), op.ClientID)), 0o600)
		okta := newToken(t, dsn, "acme", "okta")
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		addr := freeAddr(t)
		base := "http://" + addr
		stop, logs := serveLogging(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_OPS_ADDR": "off",
			"SCIMD_CONFIG": config})
		defer stop()

		const (
			password    = "Pa55word-Do-Not-Log-7f3a"
			cookie      = "session-cookie-do-not-log-91be"
			loginCookie = "login-cookie-do-not-log-c0de"
			basic       = "YmFzaWMtZG8tbm90LWxvZzpzZWNyZXQ="
			activation  = "activation-token-do-not-log-5e1f"
			code        = "auth-code-do-not-log-aa11"
			state       = "state-do-not-log-bb22"
			idToken     = "eyJhbGciOiJSUzI1NiJ9.id-token-do-not-log.sig"
		)
		unknown := "scimd_" + strings.Repeat("Z", 49) // well formed, never issued
		do := func(method, path, body string, header ...string) int {
			t.Helper()
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		scimJSON := "application/scim+json"
		requests := []struct {
			status             int
			method, path, body string
			header             []string
		}{
			{201, "POST", "/scim/v2/acme/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bo@example.com","password":"` + password + `"}`,
				[]string{"Authorization", "Bearer " + okta, "Content-Type", scimJSON}},
			{400, "POST", "/scim/v2/acme/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"password":"` + password + `"}`,
				[]string{"Authorization", "Bearer " + okta, "Content-Type", scimJSON}},
			{200, "GET", "/admin/v1/acme/users", "", []string{"Authorization", "Bearer " + admin}},
			{401, "GET", "/scim/v2/acme/Users", "", []string{"Authorization", "Bearer " + unknown}}, // a failing login
			{401, "GET", "/admin/v1/acme/users", "", []string{"Authorization", "Basic " + basic}},
			{401, "GET", "/scim/v2/acme/Me", "", []string{"Cookie", "scimd_session=" + cookie}},
			{0, "GET", "/auth/acme/okta/callback?code=" + code + "&state=" + state, "", []string{"Cookie", "scimd_login=" + loginCookie}},
			{0, "GET", "/activate/" + activation, "", nil},
			{0, "POST", "/activate/" + activation, "password=" + password, []string{"Content-Type", "application/x-www-form-urlencoded"}},
			{0, "POST", "/jit/acme/okta", `{"id_token":"` + idToken + `"}`, []string{"Authorization", "Bearer " + okta, "Content-Type", "application/json"}},
		}
		for _, r := range requests {
			if got := do(r.method, r.path, r.body, r.header...); r.status != 0 && got != r.status {
				t.Errorf("%s %s: %d, want %d", r.method, r.path, got, r.status)
			}
		}

		// A failing browser login: the OP's state and login cookie are
		// real, the code is not, so the token exchange fails.
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := noRedirect.Get(base + "/auth/acme/sso/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		to, err := url.Parse(res.Header.Get("Location"))
		if err != nil || res.StatusCode != http.StatusFound || len(res.Cookies()) == 0 {
			t.Fatalf("login: %d %v %v", res.StatusCode, to, err)
		}
		realState, realCookie := to.Query().Get("state"), res.Cookies()[0]
		req, _ := http.NewRequest("GET", base+"/auth/acme/sso/callback?code="+code+"&state="+url.QueryEscape(realState), nil)
		req.AddCookie(realCookie)
		if res, err = noRedirect.Do(req); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest { // the OP refused the code
			t.Errorf("a callback with a bogus code: %d", res.StatusCode)
		}
		stop() // all written
		out := logs()
		for _, secret := range []string{okta, admin, unknown, password, cookie, loginCookie, basic, activation, code, state, idToken,
			op.ClientSecret, realState, realCookie.Value} {
			if strings.Contains(out, secret) {
				t.Errorf("the log holds the secret %q:\n%s", secret, out)
			}
		}
		for _, s := range []string{"Authorization", "Bearer", "Cookie", "scimd_session", "scimd_login"} {
			if strings.Contains(out, s) {
				t.Errorf("the log names %q:\n%s", s, out)
			}
		}
		if !strings.Contains(out, `"route":"/auth/{tenant}/{connector}/callback","status":400`) {
			t.Errorf("the failing login left no line:\n%s", out)
		}
		if n := strings.Count(out, `"msg":"request"`); n < len(requests)+2 {
			t.Errorf("%d request lines for %d requests: the test proves nothing\n%s", n, len(requests), out)
		}
		for _, route := range []string{"/activate/{token}", "/auth/{tenant}/{connector}/callback", "/jit/{tenant}/{connector}", "/scim/v2/{tenant}/Me"} {
			if !strings.Contains(out, `"route":"`+route+`"`) {
				t.Errorf("no line for %s:\n%s", route, out)
			}
		}
	})
}

// otlpReceiver is an OTLP/HTTP endpoint that counts the trace exports it
// receives.
type otlpReceiver struct {
	mu      sync.Mutex
	exports int
	bytes   int
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.Method == "POST" && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
		o.mu.Lock()
		o.exports++
		o.bytes += len(b)
		o.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (o *otlpReceiver) count() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.exports, o.bytes
}

// TestTracingExports: with SCIMD_OTLP_ENDPOINT serve sends its spans to
// the endpoint (at the latest when it stops), and the request's log line
// carries its trace id; without one it sends nothing and logs no trace id.
func TestTracingExports(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	okta := newToken(t, dsn, "acme", "okta")
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()

	for _, traced := range []bool{false, true} {
		addr := freeAddr(t)
		env := map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr, "SCIMD_OPS_ADDR": "off"}
		if traced {
			env["SCIMD_OTLP_ENDPOINT"] = collector.URL
		}
		stop, logs := serveLogging(t, env)
		if status, body := call(t, "GET", "http://"+addr+"/scim/v2/acme/Users", okta, ""); status != 200 {
			t.Fatalf("GET: %d %s", status, body)
		}
		stop()
		exports, size := recv.count()
		hasTrace := strings.Contains(logs(), `"trace_id":"`)
		switch {
		case !traced && (exports != 0 || hasTrace):
			t.Errorf("without an endpoint: %d exports, trace id logged %v", exports, hasTrace)
		case traced && (exports == 0 || size == 0 || !hasTrace):
			t.Errorf("with an endpoint: %d exports of %d bytes, trace id logged %v:\n%s", exports, size, hasTrace, logs())
		}
	}
}

// TestTraceSpans: one SCIM request makes a server span named by its route,
// and the SQL it runs makes client spans below it (bunotel), on both
// databases; with no endpoint nothing is traced at all.
func TestTraceSpans(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		okta := newToken(t, dsn, "acme", "okta") // migrates
		exp := tracetest.NewInMemoryExporter()
		tp := ops.NewTracerProviderWith(sdktrace.NewSimpleSpanProcessor(exp), "test")
		off := "off"
		o := &observability{flags: &opsFlags{addr: &off}, log: slog.New(slog.DiscardHandler), tracer: tp}
		db, err := openStore(t.Context(), dsn, o.storeOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		engine := reconcile.New(db, nil)
		if err := o.start(db, engine, nil); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(o.handler(routes(db, engine, "", 1<<20, 0, o.log)))
		t.Cleanup(srv.Close)
		exp.Reset() // the migration's queries
		if status, body := call(t, "POST", srv.URL+"/scim/v2/acme/Users", okta,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cy@example.com"}`); status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		spans := exp.GetSpans()
		var server *tracetest.SpanStub
		byID := map[string]tracetest.SpanStub{}
		for i, s := range spans {
			byID[s.SpanContext.SpanID().String()] = s
			if s.SpanKind == trace.SpanKindServer {
				server = &spans[i]
			}
		}
		if server == nil || server.Name != "POST /scim/v2/{tenant}/Users" {
			t.Fatalf("no server span named by its route among %d spans: %+v", len(spans), server)
		}
		sql := 0
		for _, s := range spans {
			if s.SpanKind != trace.SpanKindClient || !hasAttr(s, "db.statement") {
				continue
			}
			for _, a := range s.Attributes {
				if a.Key == "db.statement" && strings.Contains(a.Value.AsString(), "cy@example.com") {
					t.Errorf("a statement with its values: %s", a.Value.AsString())
				}
			}
			// Up the parents to the server span.
			for p := s.Parent; p.IsValid(); p = byID[p.SpanID().String()].Parent {
				if p.SpanID() == server.SpanContext.SpanID() {
					sql++
					break
				}
			}
		}
		t.Logf("%d spans, %d SQL spans below the request's", len(spans), sql)
		if sql == 0 {
			t.Errorf("no SQL span below the request's among %d spans", len(spans))
		}

		// No endpoint: no tracer, no query hook, no span in the context.
		none, err := newObservability(t.Context(), &opsFlags{addr: &off, otlp: new(string)}, o.log)
		if err != nil || none.tracer != nil || none.storeOptions() != nil {
			t.Errorf("tracing set up without an endpoint: %v %v", none.tracer, err)
		}
		none.metrics = o.metrics
		traced := false
		h := none.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			traced = trace.SpanFromContext(r.Context()).SpanContext().IsValid()
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
		if traced {
			t.Error("a span without an endpoint")
		}
	})
}

func hasAttr(s tracetest.SpanStub, key string) bool {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return true
		}
	}
	return false
}

// TestOpsAddrTaken: an operations address given that cannot be listened on
// stops serve, saying which flag.
func TestOpsAddrTaken(t *testing.T) {
	taken := httptest.NewServer(http.NotFoundHandler())
	defer taken.Close()
	code, _, errOut := scimd(t, map[string]string{"SCIMD_DATABASE_URL": storetest.SQLiteDSN(t), "SCIMD_ADDR": freeAddr(t),
		"SCIMD_OPS_ADDR": taken.Listener.Addr().String()}, "serve")
	if code != exitError || !strings.Contains(errOut, "--ops-addr") {
		t.Errorf("serve with its ops address taken: exit %d, %s", code, errOut)
	}
}
