package scim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"

	"github.com/scimd/scimd/store"
)

const (
	listResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	searchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// listParams is a query (RFC 7644 §3.4.2), from a GET's URL or a
// .search body.
type listParams struct {
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
	Filter             string   `json:"filter"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	// Cursor is RFC 9865's: nil for index paging, "" for the first page.
	Cursor *string `json:"cursor"`
}

func paramsFromURL(r *http.Request) (listParams, *Error) {
	// r.URL.Query() drops what it cannot decode: a filter with a bare %
	// (filter=userName eq "50%") would vanish and the request list every
	// user, which an IdP's lookup takes for a match.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return listParams{}, badRequest(scimerr.ScimTypeInvalidValue, "the query string is not URL-encoded (%v): write %% as %%25", err)
	}
	p := listParams{Filter: q.Get("filter"), SortBy: q.Get("sortBy"), SortOrder: q.Get("sortOrder")}
	if v := q.Get("attributes"); v != "" {
		p.Attributes = []string{v}
	}
	if v := q.Get("excludedAttributes"); v != "" {
		p.ExcludedAttributes = []string{v}
	}
	if q.Has("cursor") {
		c := q.Get("cursor")
		p.Cursor = &c
	}
	for name, dst := range map[string]**int{"startIndex": &p.StartIndex, "count": &p.Count} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return p, badRequest(scimerr.ScimTypeInvalidValue, "%s must be an integer, not %q", name, v)
			}
			*dst = &n
		}
	}
	return p, p.check()
}

// paramsFromSearch reads a SearchRequest (RFC 7644 §3.4.3).
func paramsFromSearch(body []byte) (listParams, *Error) {
	var req struct {
		Schemas []string `json:"schemas"`
		listParams
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return listParams{}, badRequest(scimerr.ScimTypeInvalidSyntax, "the search request is not valid: %s", jsonErr(err, body))
	}
	found := false
	for _, s := range req.Schemas {
		found = found || s == searchRequestURN
	}
	if !found {
		return listParams{}, badRequest(scimerr.ScimTypeInvalidSyntax, `"schemas" must be [%q]`, searchRequestURN)
	}
	return req.listParams, req.listParams.check()
}

// serveList answers GET /Users, GET /Groups, their POST .search, and the
// root endpoint over both (rts holds every type asked for). Filtering,
// sorting and paging happen in the database; members are streamed.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, rts []scimlib.ResourceType, p listParams) {
	q, e := s.query(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	if p.Cursor != nil && len(rts) > 1 {
		writeError(w, badRequest(scimerr.ScimTypeInvalidValue, "cursor paging is offered per resource type (/Users, /Groups), not at the root"))
		return
	}
	var (
		out          []listed
		total        int
		next, prev   string
		filterErrors int
		lastErr      error
	)
	for _, rt := range rts {
		proj, e := parseProjection(rt, p.Attributes, p.ExcludedAttributes)
		if e != nil {
			writeError(w, e)
			return
		}
		tq := q
		if p.Cursor != nil {
			if e := s.applyCursor(&tq, rt, p); e != nil {
				writeError(w, e)
				return
			}
		} else if len(rts) > 1 {
			// The root lists users, then groups, as one sequence.
			tq.StartIndex = max(q.StartIndex-total, 1)
			tq.Count = max(q.Count-len(out), 0)
		}
		page, err := s.listType(r.Context(), rt, tq, proj, s.baseURL(r))
		var fe *store.FilterError
		if len(rts) > 1 && errors.As(err, &fe) {
			// The filter names an attribute of another type: here it is
			// absent. If no type knows it, the filter is wrong (below).
			filterErrors, lastErr = filterErrors+1, err
			tq.Lenient = true
			page, err = s.listType(r.Context(), rt, tq, proj, s.baseURL(r))
		}
		if err != nil {
			writeError(w, s.toSCIM(r.Context(), err))
			return
		}
		total += page.total
		out = append(out, page.items...)
		if p.Cursor != nil {
			next, prev = s.cursors(rt, p, page)
		}
	}
	if filterErrors == len(rts) {
		writeError(w, s.toSCIM(r.Context(), lastErr))
		return
	}
	head := map[string]any{
		"schemas":      []string{listResponseURN},
		"totalResults": total,
		"itemsPerPage": len(out),
	}
	if p.Cursor == nil {
		head["startIndex"] = q.StartIndex
	}
	if next != "" {
		head["nextCursor"] = next
	}
	if prev != "" {
		head["previousCursor"] = prev
	}
	s.writeList(w, r, head, out)
}

// query turns list parameters into a store query, clamping count to
// MaxResults (RFC 7644 §3.4.2.4: startIndex below 1 means 1).
func (s *Server) query(r *http.Request, p listParams) (store.Query, *Error) {
	pr := principal(r.Context())
	q := store.Query{TenantID: pr.TenantID, ConnectorID: pr.ConnectorID, StartIndex: 1, Count: s.cfg.MaxResults,
		Extensions: s.userExtensions(r.Context())}
	if p.StartIndex != nil {
		if p.Cursor != nil {
			return q, badRequest(scimerr.ScimTypeInvalidValue, "use either startIndex (index paging) or cursor (cursor paging), not both")
		}
		q.StartIndex = max(*p.StartIndex, 1)
	}
	if p.Count != nil {
		q.Count = min(max(*p.Count, 0), s.cfg.MaxResults)
	}
	if raw := strings.TrimSpace(p.Filter); raw != "" {
		f, e := parseFilter(raw)
		if e != nil {
			return q, e
		}
		q.Filter = f
	}
	q.SortBy = strings.TrimSpace(p.SortBy)
	switch strings.ToLower(p.SortOrder) {
	case "", "ascending":
	case "descending":
		q.Descending = true
	default:
		return q, badRequest(scimerr.ScimTypeInvalidValue, "sortOrder must be ascending or descending, not %q", p.SortOrder)
	}
	return q, nil
}

// listed is one resource of a list response, ready to write: its document
// and, for a group whose members are returned, the group to stream them from.
type listed struct {
	doc map[string]any
	// raw, when set, is the document's JSON, written as it is instead of doc.
	raw   []byte
	group *store.Group
	// members, when not nil, are the group's members to write instead of
	// streaming them (a shadow group's: shadow.go).
	members []store.Member
	proj    projection
	rt      scimlib.ResourceType
}

type typePage struct {
	total            int
	items            []listed
	first, last      store.Position
	hasPrev, hasNext bool
}

func (s *Server) listType(ctx context.Context, rt scimlib.ResourceType, q store.Query, proj projection, base string) (typePage, error) {
	var tp typePage
	switch rt.Name {
	case "User":
		q.Groups = proj.wants("groups")
		if q.Now.IsZero() {
			q.Now = s.engine.Now() // filters and documents read access windows at one time
		}
		// Without projection the stored documents are copied, not decoded
		// and encoded again (spliceUser).
		q.RawAttrs = proj.include == nil && proj.exclude == nil
		sl, err := s.shadowList(ctx, principal(ctx), rt.Name, q)
		if err != nil {
			return tp, err
		}
		if sl != nil {
			q.RawAttrs = false
		}
		page, err := s.db.Users(ctx, sl.window(q))
		if err != nil {
			return tp, err
		}
		if sl != nil {
			pks := make([]int64, len(page.Items))
			for i, u := range page.Items {
				pks[i] = u.PK
			}
			if err := sl.unshadow(ctx, s.db, principal(ctx), rt.Name, pks); err != nil {
				return tp, err
			}
			page.Items = sl.users(page.Items, &page.Total, q)
		}
		buf := make([]byte, 0, 1536*len(page.Items)) // the page's spliced documents, one after the other
		for i := range page.Items {
			u := &page.Items[i]
			if q.RawAttrs {
				start := len(buf)
				var ok bool
				if buf, ok = spliceUser(buf, rt, u, base, q.Now); ok {
					tp.items = append(tp.items, listed{raw: buf[start:len(buf):len(buf)], rt: rt})
					continue
				}
				buf = buf[:start]
				if err := userDocument(u); err != nil {
					return tp, err
				}
			}
			res := userResource(*u, u.Groups, base, q.Now)
			proj.apply(rt, res.Attributes)
			tp.items = append(tp.items, listed{doc: render(rt, res, base), rt: rt})
		}
		tp.total, tp.first, tp.last, tp.hasPrev, tp.hasNext = page.Total, page.First, page.Last, page.HasPrev, page.HasNext
	case "Group":
		sl, err := s.shadowList(ctx, principal(ctx), rt.Name, q)
		if err != nil {
			return tp, err
		}
		page, err := s.db.Groups(ctx, sl.window(q))
		if err != nil {
			return tp, err
		}
		var shadowMembers map[int64][]store.Member
		if sl != nil {
			pks := make([]int64, len(page.Items))
			for i, g := range page.Items {
				pks[i] = g.PK
			}
			if err := sl.unshadow(ctx, s.db, principal(ctx), rt.Name, pks); err != nil {
				return tp, err
			}
			page.Items, shadowMembers = sl.groups(page.Items, &page.Total, q)
		}
		for i := range page.Items {
			g := &page.Items[i]
			res := groupResource(*g, nil, base)
			proj.apply(rt, res.Attributes)
			item := listed{doc: render(rt, res, base), proj: proj, rt: rt, members: shadowMembers[g.PK]}
			if proj.wants("members") {
				item.group = g
			}
			tp.items = append(tp.items, item)
		}
		tp.total, tp.first, tp.last, tp.hasPrev, tp.hasNext = page.Total, page.First, page.Last, page.HasPrev, page.HasNext
	}
	return tp, nil
}

// responseWriters are the 32 KiB buffers reads write their responses
// through, reused: allocating one per request was two thirds of the bytes a
// userName eq lookup allocated.
var responseWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// responseWriter returns a buffer writing to w, and the function that
// hands it back, to be called once it is flushed (or abandoned).
func responseWriter(w io.Writer) (*bufio.Writer, func()) {
	bw := responseWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	return bw, func() {
		bw.Reset(nil)
		responseWriters.Put(bw)
	}
}

// writeList writes a ListResponse, streaming each group's members from
// the database as it goes: no list of members is ever held in memory.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, head map[string]any, items []listed) {
	w.Header().Set("Content-Type", contentType)
	headJSON, _ := json.Marshal(head)
	bw, done := responseWriter(w)
	defer done()
	bw.Write(headJSON[:len(headJSON)-1])
	bw.WriteString(`,"Resources":[`)
	for i, item := range items {
		if i > 0 {
			bw.WriteString(",")
		}
		if err := s.writeResource(r.Context(), bw, item, s.baseURL(r)); err != nil {
			s.abort(r, err)
		}
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

// writeResource writes one resource document, then, for a group whose
// members are wanted, the members, read row by row.
func (s *Server) writeResource(ctx context.Context, w *bufio.Writer, item listed, base string) error {
	if item.raw != nil {
		w.Write(item.raw)
		return nil
	}
	doc, err := marshal(item.doc)
	if err != nil {
		return err
	}
	if item.group == nil {
		w.Write(doc)
		return nil
	}
	w.Write(doc[:len(doc)-1])
	n := 0
	each := func(fn func(store.Member) error) error { return s.db.EachMember(ctx, item.group.PK, fn) }
	if item.members != nil {
		each = func(fn func(store.Member) error) error {
			for _, m := range item.members {
				if err := fn(m); err != nil {
					return err
				}
			}
			return nil
		}
	}
	err = each(func(m store.Member) error {
		obj := memberJSON(m, base)
		item.proj.prune("members", obj)
		b, err := marshal(obj)
		if err != nil {
			return err
		}
		if n == 0 {
			w.WriteString(`,"members":[`)
		} else {
			w.WriteString(",")
		}
		n++
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		w.WriteString("]")
	}
	w.WriteString("}")
	return nil
}

// abort ends a response that failed after its status was sent: the
// client sees a broken connection, never a truncated document that parses.
func (s *Server) abort(r *http.Request, err error) {
	if !errors.Is(err, context.Canceled) {
		s.log.ErrorContext(r.Context(), "response aborted", "err", err)
	}
	panic(http.ErrAbortHandler)
}

// serveGet answers GET /Users/{id} and GET /Groups/{id}, with projection
// and If-None-Match (304).
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, rt scimlib.ResourceType, id string) {
	p, e := paramsFromURL(r)
	if e != nil {
		writeError(w, e)
		return
	}
	proj, e := parseProjection(rt, p.Attributes, p.ExcludedAttributes)
	if e != nil {
		writeError(w, e)
		return
	}
	ctx, pr, base := r.Context(), principal(r.Context()), s.baseURL(r)
	var item listed
	var version int64
	switch rt.Name {
	case "User":
		u, err := s.readUser(ctx, pr, id)
		if err != nil {
			writeError(w, s.toSCIM(ctx, err))
			return
		}
		if version = u.Version; notModified(w, r, version) {
			return
		}
		var groups map[int64][]store.GroupRef
		if proj.wants("groups") {
			if groups, err = s.db.UserGroups(ctx, []int64{u.PK}); err != nil {
				writeError(w, s.toSCIM(ctx, err))
				return
			}
		}
		res := userResource(u, groups[u.PK], base, s.engine.Now())
		proj.apply(rt, res.Attributes)
		item = listed{doc: render(rt, res, base), rt: rt}
	case "Group":
		g, members, err := s.readGroup(ctx, pr, id)
		if err != nil {
			writeError(w, s.toSCIM(ctx, err))
			return
		}
		if version = g.Version; notModified(w, r, version) {
			return
		}
		res := groupResource(g, nil, base)
		proj.apply(rt, res.Attributes)
		item = listed{doc: render(rt, res, base), proj: proj, rt: rt, members: members}
		if proj.wants("members") {
			item.group = &g
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("ETag", etag(version))
	bw, done := responseWriter(w)
	defer done()
	if err := s.writeResource(ctx, bw, item, base); err != nil {
		s.abort(r, err)
	}
	bw.WriteString("\n")
	bw.Flush()
}

// project applies a write request's attributes or excludedAttributes to
// the resource the library will render (resourceTypes[rt]).
func (s *Server) project(r *http.Request, res scimlib.Resource, rt int) (scimlib.Resource, error) {
	p, e := paramsFromURL(r)
	if e == nil {
		var proj projection
		types := s.types(r.Context())
		if proj, e = parseProjection(types[rt], p.Attributes, p.ExcludedAttributes); e == nil {
			proj.apply(types[rt], res.Attributes)
			return res, nil
		}
	}
	return scimlib.Resource{}, libError(e)
}

// notModified answers 304 when If-None-Match names the current version
// (RFC 7644 §3.14).
func notModified(w http.ResponseWriter, r *http.Request, version int64) bool {
	h := r.Header.Get("If-None-Match")
	if h == "" {
		return false
	}
	current := etag(version)
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == current || "W/"+tag == current {
			w.Header().Set("ETag", current)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// render is the JSON of a resource, exactly as the library renders the
// resources our handlers return from writes, so a POST and a later GET
// show the same document.
func render(rt scimlib.ResourceType, res scimlib.Resource, base string) map[string]any {
	out := make(map[string]any, len(res.Attributes)+4)
	for k, v := range res.Attributes {
		out[k] = v
	}
	out["id"] = res.ID
	if res.ExternalID.Present() {
		out["externalId"] = res.ExternalID.Value()
	}
	out["schemas"] = schemaURNs(rt, res.Attributes)
	dropEmptyExtensions(rt, out)
	out["meta"] = map[string]any{
		"resourceType": rt.Name,
		"created":      res.Meta.Created.Format(time.RFC3339),
		"lastModified": res.Meta.LastModified.Format(time.RFC3339),
		"location":     location(base, rt.Endpoint, res.ID),
		"version":      res.Meta.Version,
	}
	return out
}

// schemaURNs lists the schemas a resource's document uses (RFC 7643 §3):
// its resource type's, and each extension it carries or was declared with
// (kept as an empty object; see checkBody).
func schemaURNs(rt scimlib.ResourceType, doc map[string]any) []string {
	urns := []string{rt.Schema.ID}
	for _, ext := range rt.SchemaExtensions {
		if _, ok := doc[ext.Schema.ID].(map[string]any); ok {
			urns = append(urns, ext.Schema.ID)
		}
	}
	return urns
}

// dropEmptyExtensions removes the extensions doc only declares: they are
// listed in "schemas" and have no attribute to show.
func dropEmptyExtensions(rt scimlib.ResourceType, doc map[string]any) {
	for _, ext := range rt.SchemaExtensions {
		if m, ok := doc[ext.Schema.ID].(map[string]any); ok && len(m) == 0 {
			delete(doc, ext.Schema.ID)
		}
	}
}

func location(base, endpoint, id string) string {
	return base + endpoint + "/" + id
}

// meta is the library's view of a row's version and timestamps.
func meta(version int64, created, modified time.Time) scimlib.Meta {
	return scimlib.Meta{Created: &created, LastModified: &modified, Version: etag(version)}
}

// etag is a version as a weak entity tag: W/"3".
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func externalID(v string) optional.String {
	if v == "" {
		return optional.String{}
	}
	return optional.NewString(v)
}

// marshal is json.Marshal without HTML escaping, as the library writes.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
