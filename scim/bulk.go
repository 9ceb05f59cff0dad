package scim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"

	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/reconcile"
)

// maxBulkOperations bounds the operations of one bulk request (RFC 7644 §3.7).
const maxBulkOperations = 1000

const (
	bulkRequestSchema  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	// bulkRefPrefix starts a string that stands for the id of the resource
	// a POST of the same request creates (RFC 7644 §3.7.2).
	bulkRefPrefix = "bulkId:"
)

// bulkRequest is the body of POST /Bulk. encoding/json matches keys
// without regard to case, which accepts Entra's capitalisation.
type bulkRequest struct {
	Schemas      []string
	FailOnErrors int
	Operations   []bulkOp

	posted map[string]bool // the bulkIds of the POST operations
}

// bulkOp is one operation of a bulk request.
type bulkOp struct {
	Method  string
	Path    string
	BulkID  string `json:"bulkId"`
	Version string
	Data    json.RawMessage

	refs []string // the bulkIds that Path and Data reference
}

// bulkResult is one operation of the bulk response.
type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Location string          `json:"location,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

// serveBulk answers POST /Bulk (RFC 7644 §3.7). Each operation goes through
// route like a request of its own, so it is validated, applied and answered
// exactly as it would be alone, but all of them run in one transaction
// (reconcile's Batch), each in a savepoint: a failed operation rolls back
// alone, and the request commits once, at the end. A request that does not
// reach the end (the client gone, the server stopped, the commit failed)
// leaves nothing behind, so the identity provider can send it again.
func (s *Server) serveBulk(w http.ResponseWriter, r *http.Request, body []byte) {
	req, e := parseBulk(body)
	if e != nil {
		writeError(w, e)
		return
	}
	var results []bulkResult
	err := s.engine.Batch(r.Context(), func(ctx context.Context) error {
		ctx, held := s.engine.Defer(ctx)
		results = s.runBulk(r.WithContext(ctx), req, held)
		return ctx.Err() // a request cut short commits nothing
	})
	if err != nil {
		writeError(w, s.toSCIM(r.Context(), err))
		return
	}
	writeJSON(w, struct {
		Schemas    []string     `json:"schemas"`
		Operations []bulkResult `json:"Operations"`
	}{[]string{bulkResponseSchema}, results})
}

// parseBulk decodes and checks a bulk request. A request that is wrong as
// a whole runs no operation at all, so nothing is half applied.
func parseBulk(body []byte) (bulkRequest, *Error) {
	var req bulkRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return req, badRequest(scimerr.ScimTypeInvalidSyntax, "the request body is not a valid bulk request: %s", jsonErr(err, body))
	}
	if dec.More() {
		return req, badRequest(scimerr.ScimTypeInvalidSyntax, "the request body holds more than one JSON value")
	}
	switch n := len(req.Operations); {
	case !slices.Contains(req.Schemas, bulkRequestSchema):
		return req, badRequest(scimerr.ScimTypeInvalidSyntax, `"schemas" must be a list that includes %q`, bulkRequestSchema)
	case n > maxBulkOperations: // RFC 7644 §3.7.4
		return req, newError(http.StatusRequestEntityTooLarge, "",
			"the bulk request has %d operations; this server accepts at most %d per request (bulk.maxOperations): split it", n, maxBulkOperations)
	case n == 0:
		return req, badRequest(scimerr.ScimTypeInvalidSyntax, "Operations must hold at least one operation")
	case req.FailOnErrors < 0:
		return req, badRequest(scimerr.ScimTypeInvalidValue, "failOnErrors must be a positive number of errors, or 0 for none")
	}
	req.posted = map[string]bool{}
	for i := range req.Operations {
		op := &req.Operations[i]
		op.Method = strings.ToUpper(op.Method)
		switch op.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return req, badRequest(scimerr.ScimTypeInvalidValue, "Operations[%d].method must be POST, PUT, PATCH or DELETE, not %q", i, op.Method)
		}
		if !strings.HasPrefix(op.Path, "/") {
			return req, badRequest(scimerr.ScimTypeInvalidValue, "Operations[%d].path must start with /, as in /Users or /Groups/{id}, not %q", i, op.Path)
		}
		if op.Method == http.MethodPost {
			// Without a bulkId, the client could not tell which result is
			// which resource (RFC 7644 §3.7: REQUIRED for POST).
			if op.BulkID == "" {
				return req, badRequest(scimerr.ScimTypeInvalidValue, "Operations[%d].bulkId is required for POST", i)
			}
			if req.posted[op.BulkID] {
				return req, badRequest(scimerr.ScimTypeInvalidValue, "Operations[%d].bulkId %q is used by an earlier POST; each must be unique", i, op.BulkID)
			}
			req.posted[op.BulkID] = true
		}
		collect := func(id string) string { op.refs = append(op.refs, id); return bulkRefPrefix + id }
		path, _, _ := strings.Cut(op.Path, "?")
		rewritePath(path, collect)
		rewrite(decodeData(op.Data), collect)
	}
	return req, nil
}

// runBulk runs the operations and returns their results in request order.
// An operation that references a bulkId whose POST has not run yet waits
// for a later pass, so references may point forward; passes repeat while
// some operation runs. What still waits then is in a cycle and fails.
//
// A POST /Users without references may be held back by d (see
// reconcile's Defer), its answer given but its user not yet written; the
// users held back are written together before any other operation runs
// and at the end of a pass. Should some not be written (a userName taken),
// runBulk goes back to the first of those, as though nothing had run
// from there on, and runs it as it would run alone: the results, the
// order of the writes and failOnErrors are as without holding back.
func (s *Server) runBulk(r *http.Request, req bulkRequest, d *reconcile.Deferred) []bulkResult {
	ops := req.Operations
	// Results stay in request order; those of operations never run keep
	// Status "" and are dropped at the end.
	results := make([]bulkResult, len(ops))
	ran := map[string]bool{}       // bulkIds whose POST has run
	created := map[string]string{} // bulkId → id of the resource its POST created
	pending := make([]int, len(ops))
	for i := range pending {
		pending[i] = i
	}
	errs, stop := 0, false
	for final := false; len(pending) > 0 && !stop; {
		var waiting []int
		// held are the operations held back in this pass: where each ran
		// (its position in pending), and the state before it.
		type mark struct{ pos, waiting, errs int }
		var held []mark
		// flush writes what is held back, and returns the position to go
		// back to if it did not write all of it.
		flush := func(at int) (int, bool) {
			if len(held) == 0 {
				return 0, false
			}
			n, h := d.Flush(r.Context()), held
			held = nil
			if n == len(h) {
				return 0, false
			}
			back := h[n]
			for _, i := range pending[back.pos:at] {
				if op := &ops[i]; op.Method == http.MethodPost {
					delete(ran, op.BulkID)
					delete(created, op.BulkID)
				}
				results[i] = bulkResult{}
			}
			waiting, errs = waiting[:back.waiting], back.errs
			d.ApplyNextAtOnce()
			return back.pos, true
		}
		for j := 0; ; j++ {
			if j == len(pending) || r.Context().Err() != nil || req.FailOnErrors > 0 && errs >= req.FailOnErrors {
				if pos, back := flush(j); back {
					j = pos - 1
					continue
				}
				stop = j < len(pending)
				break
			}
			i := pending[j]
			op, res := &ops[i], &results[i]
			switch ref, wait, why := unresolved(op.refs, req.posted, ran, created, final); {
			case wait:
				waiting = append(waiting, i)
				continue
			case why == "":
				if !mayHold(op) {
					if pos, back := flush(j); back {
						j = pos - 1
						continue
					}
				}
				before := d.Len()
				*res = s.runOp(r, op, created)
				if d.MustFlush() {
					if pos, back := flush(j); back {
						j = pos - 1
						continue
					}
					*res = s.runOp(r, op, created)
				} else if d.Len() > before {
					held = append(held, mark{pos: j, waiting: len(waiting), errs: errs})
				}
			default:
				*res = bulkResult{Method: op.Method, BulkID: op.BulkID}
				res.fail(newError(http.StatusConflict, scimerr.ScimTypeInvalidValue, "bulkId:%s cannot be resolved: %s", ref, why))
			}
			if op.Method == http.MethodPost {
				ran[op.BulkID] = true
			}
			if res.Response != nil {
				errs++
			}
		}
		// A pass in which nothing ran leaves only cycles: fail them next.
		final = len(waiting) == len(pending)
		pending = waiting
	}
	return slices.DeleteFunc(results, func(res bulkResult) bool { return res.Status == "" })
}

// mayHold reports whether op may be held back: a POST /Users that
// references no other operation, so that nothing it reads is written by
// one held back before it.
func mayHold(op *bulkOp) bool {
	return op.Method == http.MethodPost && len(op.refs) == 0 && strings.EqualFold(strings.TrimRight(op.Path, "/"), "/Users")
}

// unresolved finds a bulkId of refs that names no resource yet. wait says
// its POST is still to run; otherwise why says it never will. A ref that
// can never resolve wins over one that waits: the operation fails now.
func unresolved(refs []string, posted, ran map[string]bool, created map[string]string, final bool) (ref string, wait bool, why string) {
	for _, id := range refs {
		switch _, ok := created[id]; {
		case ok:
		case !posted[id]:
			return id, false, "no POST operation of this request has that bulkId"
		case ran[id]:
			return id, false, "the POST with that bulkId failed"
		case final:
			return id, false, "its POST waits, directly or not, on itself (a circular reference)"
		default:
			ref, wait = id, true
		}
	}
	return ref, wait, ""
}

// runOp runs one operation, its references resolved, through route.
func (s *Server) runOp(r *http.Request, op *bulkOp, created map[string]string) bulkResult {
	res := bulkResult{Method: op.Method, BulkID: op.BulkID}
	resolve := func(id string) string { return created[id] }
	// The path is read as serveSCIM reads a request's: unescaped, without
	// a trailing slash. Checked after that, /Bulk cannot sneak in escaped.
	p, query, _ := strings.Cut(op.Path, "?")
	path, err := url.PathUnescape(strings.TrimRight(rewritePath(p, resolve), "/"))
	endpoint, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case err != nil:
		res.fail(badRequest(scimerr.ScimTypeInvalidValue, "path %q is malformed", op.Path))
		return res
	case strings.EqualFold(endpoint, "Bulk"):
		res.fail(badRequest(scimerr.ScimTypeInvalidValue, "path %s: a bulk operation cannot be another /Bulk", op.Path))
		return res
	}
	body := []byte(op.Data)
	if len(op.refs) > 0 && len(op.Data) > 0 {
		// Decoded afresh: the batch may run the request again.
		body, _ = json.Marshal(rewrite(decodeData(op.Data), resolve)) // decoded JSON always marshals
	}
	// Only an invalid method or URL fails, and neither is possible here.
	sub, _ := http.NewRequestWithContext(r.Context(), op.Method, "/", bytes.NewReader(body))
	sub.URL.Path, sub.URL.RawQuery = cmp.Or(path, "/"), query
	// The sub-request is the bulk request's own as far as the handlers can
	// tell: same principal (in the context), host and TLS, so the same base URL.
	sub.Host, sub.TLS, sub.RemoteAddr = r.Host, r.TLS, r.RemoteAddr
	sub.Header.Set("Content-Type", contentType)
	if op.Version != "" {
		sub.Header.Set("If-Match", op.Version)
	}
	rec := httptest.NewRecorder()
	s.route(rec, sub, body)

	res.Status = strconv.Itoa(rec.Code)
	res.Version = rec.Header().Get("ETag")
	res.Location = rec.Header().Get("Location")
	if res.Location == "" && op.Method != http.MethodPost {
		res.Location = s.baseURL(r) + sub.URL.EscapedPath()
	}
	if rec.Code >= http.StatusBadRequest {
		res.Response = rec.Body.Bytes()
		if !json.Valid(res.Response) { // would break the whole response
			res.fail(newError(rec.Code, "", "%s", strings.TrimSpace(rec.Body.String())))
		}
		return res
	}
	if op.Method == http.MethodPost {
		var made struct{ ID string }
		if json.Unmarshal(rec.Body.Bytes(), &made) == nil && made.ID != "" {
			created[op.BulkID] = made.ID
		}
	}
	return res
}

// decodeData decodes an operation's data, which decoded once already with
// the request; numbers stay exactly as sent when marshalled again.
func decodeData(data json.RawMessage) any {
	var doc any
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		dec.Decode(&doc) // cannot fail: the request decoded
	}
	return doc
}

// fail makes res the failure e.
func (res *bulkResult) fail(e *Error) {
	res.Status = strconv.Itoa(e.Status)
	res.Response, _ = json.Marshal(e) // a struct of strings always marshals
}

// rewrite replaces each string "bulkId:x" in v, a decoded JSON value, by
// f("x"), in place, and returns v.
func rewrite(v any, f func(bulkID string) string) any {
	switch v := v.(type) {
	case string:
		if id, ok := strings.CutPrefix(v, bulkRefPrefix); ok {
			return f(id)
		}
	case map[string]any:
		for k, x := range v {
			v[k] = rewrite(x, f)
		}
	case []any:
		for i, x := range v {
			v[i] = rewrite(x, f)
		}
	}
	return v
}

// rewritePath is rewrite for the segments of an operation's path without
// its query, such as /Groups/bulkId:g1.
func rewritePath(path string, f func(bulkID string) string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if id, ok := strings.CutPrefix(seg, bulkRefPrefix); ok {
			segs[i] = f(id)
		}
	}
	return strings.Join(segs, "/")
}
