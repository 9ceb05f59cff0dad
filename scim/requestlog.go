package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// RequestLog receives each authenticated SCIM request, once answered, for
// the connector's request log: reconcile's [reconcile.RequestLog], which
// writes in the background. Append must not block.
type RequestLog interface {
	Append(store.LoggedRequest) bool
}

// removed stands for a secret in a logged body.
const removed = "(removed)"

// loggedBody is the largest body kept in the log, before its marker.
const loggedBody = 64 << 10

// logged serves one authenticated request as p and hands it to the
// request log: method, path and query, the body without its passwords,
// the status, the latency, and the plans of its writes (reconcile.Record).
// No header is kept. A replay (a preview) is not logged again.
func (s *Server) logged(w http.ResponseWriter, r *http.Request, p store.Principal) {
	start := time.Now()
	ctx, rec := reconcile.Record(r.Context())
	lw := &loggedWriter{ResponseWriter: w}
	var body []byte
	s.serveAs(lw, r.WithContext(ctx), p, &body)
	kept, truncated := redact(body, loggedBody)
	entry := store.LoggedRequest{
		TenantID: p.TenantID, ConnectorID: p.ConnectorID, TokenID: p.TokenID, At: s.engine.Now(),
		Method: r.Method, Path: r.URL.RequestURI(), Body: kept, Truncated: truncated,
		Status: lw.code(), LatencyMicros: time.Since(start).Microseconds(),
		RequestID: clipID(r.Header.Get("X-Request-Id")),
	}
	if plans := rec.Plans(); len(plans) > 0 {
		j, _ := json.Marshal(secretFree(reconcile.Summaries(plans)))
		entry.Plans = string(j)
	}
	if entry.Status >= 400 {
		entry.Error = errorDetail(lw.body.Bytes())
	}
	s.cfg.RequestLog.Append(entry)
}

// Replay runs a logged request again as connector p, now, in a preview
// ([reconcile.Preview]): today's data and rules plan its writes, and
// nothing is written. It returns the status the request would get and the
// plans. Headers are not logged, so the replay carries none: no If-Match.
// A body the log truncated cannot be replayed.
func (s *Server) Replay(ctx context.Context, p store.Principal, lr store.LoggedRequest) (reconcile.Replayed, error) {
	if lr.Truncated {
		return reconcile.Replayed{}, &reconcile.StateError{Msg: "this request's body was cut to fit the log; it cannot be replayed"}
	}
	ctx, rec := reconcile.Preview(ctx)
	r, err := http.NewRequestWithContext(ctx, lr.Method, lr.Path, strings.NewReader(lr.Body))
	if err != nil {
		return reconcile.Replayed{}, &reconcile.InputError{Msg: "the logged request's path cannot be replayed: " + err.Error()}
	}
	r.RequestURI = lr.Path
	r.Header.Set("Content-Type", contentType)
	r.SetPathValue("tenant", p.TenantName)
	w := &replayWriter{header: http.Header{}}
	s.serveAs(w, r, p, nil)
	out := reconcile.Replayed{Status: w.code(), Plans: secretFree(reconcile.Summaries(rec.Plans()))}
	if out.Status >= 400 {
		out.Error = errorDetail(w.body.Bytes())
	}
	return out, nil
}

// failure keeps the start of an error response, for its detail.
type failure struct {
	status int
	body   bytes.Buffer
}

func (f *failure) note(code int) {
	if f.status == 0 {
		f.status = code
	}
}

func (f *failure) write(b []byte) {
	f.note(http.StatusOK)
	if f.status >= 400 && f.body.Len() < 4096 {
		f.body.Write(b[:min(len(b), 4096-f.body.Len())])
	}
}

func (f *failure) code() int {
	if f.status == 0 {
		return http.StatusOK
	}
	return f.status
}

// loggedWriter notes the status and an error's detail on their way out.
type loggedWriter struct {
	http.ResponseWriter
	failure
}

func (w *loggedWriter) WriteHeader(code int) {
	w.note(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *loggedWriter) Write(b []byte) (int, error) {
	w.write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *loggedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// replayWriter answers a replay: its status and an error's detail.
type replayWriter struct {
	header http.Header
	failure
}

func (w *replayWriter) Header() http.Header         { return w.header }
func (w *replayWriter) WriteHeader(code int)        { w.note(code) }
func (w *replayWriter) Write(b []byte) (int, error) { w.write(b); return len(b), nil }

// errorDetail is the detail of a SCIM error body, or "".
func errorDetail(body []byte) string {
	var e struct {
		Detail string `json:"detail"`
	}
	json.Unmarshal(body, &e)
	return e.Detail
}

// redact returns body as the log keeps it: every SCIM password removed,
// wherever it is (a User, a PATCH operation, a Bulk operation's data),
// cut to max bytes with a marker, and whether it was cut. A body that may
// hold a password but is not JSON is not kept at all.
func redact(body []byte, max int) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	// Most bodies name no password; an escape could spell one.
	if containsFold(body, "password") || bytes.Contains(body, []byte(`\u`)) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var doc any
		if dec.Decode(&doc) != nil || dec.More() {
			return "(not JSON, " + strconv.Itoa(len(body)) + " bytes; not kept, as it may hold a password)", false
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(scrub(doc))
		body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	if len(body) <= max {
		return string(body), false
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return string(body[:cut]) + "…(truncated: " + strconv.Itoa(len(body)) + " bytes)", true
}

// secretFree returns ss with the values of every change of a password
// removed: a PATCH's password reaches the plan's changes.
func secretFree(ss []reconcile.RecordedSummary) []reconcile.RecordedSummary {
	for i, rs := range ss {
		if rs.Plan == nil || !slices.ContainsFunc(rs.Plan.Changes, func(c reconcile.AttributeChange) bool { return isPassword(c.Attribute) }) {
			continue
		}
		sum := *rs.Plan
		sum.Changes = slices.Clone(sum.Changes)
		for j, c := range sum.Changes {
			if isPassword(c.Attribute) {
				if c.Before != nil {
					sum.Changes[j].Before = removed
				}
				if c.After != nil {
					sum.Changes[j].After = removed
				}
			}
		}
		ss[i].Plan = &sum
	}
	return ss
}

// scrub replaces, in place, every attribute named password (with or
// without its schema URN) and the value of every PATCH operation whose
// path is a password.
func scrub(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if isPassword(k) {
				v[k] = removed
				continue
			}
			v[k] = scrub(x)
		}
		if path, ok := v["path"].(string); ok && isPassword(path) {
			if _, has := v["value"]; has {
				v["value"] = removed
			}
		}
	case []any:
		for i := range v {
			v[i] = scrub(v[i])
		}
	}
	return v
}

// isPassword reports whether an attribute name or path names password:
// password, urn:…:User:password.
func isPassword(name string) bool {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(name), "password")
}

func containsFold(b []byte, word string) bool {
	for i := 0; i+len(word) <= len(b); i++ {
		if b[i]|0x20 == word[0] && strings.EqualFold(string(b[i:i+len(word)]), word) {
			return true
		}
	}
	return false
}

func clipID(s string) string {
	const n = 128
	if len(s) <= n {
		return s
	}
	return s[:n]
}
