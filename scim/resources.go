package scim

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
)

// maxFilterLen bounds a filter before it reaches the parser, which
// allocates about 9 KB per input byte on hostile input.
const maxFilterLen = 1024

// serveList answers GET /Users and GET /Groups (RFC 7644 §3.4.2): filter,
// startIndex and count, evaluated in the database.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, rt scimlib.ResourceType) {
	q, e := s.listQuery(r)
	if e != nil {
		writeError(w, e)
		return
	}
	base := s.baseURL(r)
	var (
		total     int
		resources = []map[string]any{} // never null: Entra's Test Connection needs []
		err       error
	)
	switch rt.Name {
	case "User":
		var page store.Page[store.User]
		if page, err = s.db.Users(r.Context(), q); err == nil {
			total = page.Total
			var groups map[int64][]store.GroupRef
			if groups, err = s.db.UserGroups(r.Context(), userPKs(page.Items)); err == nil {
				for _, u := range page.Items {
					resources = append(resources, render(rt, userResource(u, groups[u.PK], base), base))
				}
			}
		}
	case "Group":
		var page store.Page[store.Group]
		if page, err = s.db.Groups(r.Context(), q); err == nil {
			total = page.Total
			for _, g := range page.Items {
				res, err := s.groupResource(r, g, base)
				if err != nil {
					writeError(w, s.toSCIM(r.Context(), err))
					return
				}
				resources = append(resources, render(rt, res, base))
			}
		}
	}
	if err != nil {
		writeError(w, s.toSCIM(r.Context(), err))
		return
	}
	writeJSON(w, map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"startIndex":   max(q.StartIndex, 1),
		"Resources":    resources,
	})
}

func (s *Server) listQuery(r *http.Request) (store.Query, *Error) {
	p := principal(r.Context())
	q := store.Query{TenantID: p.TenantID, ConnectorID: p.ConnectorID, StartIndex: 1, Count: s.cfg.MaxResults}
	params := r.URL.Query()
	for name, dst := range map[string]*int{"startIndex": &q.StartIndex, "count": &q.Count} {
		if v := params.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return q, badRequest(scimerr.ScimTypeInvalidValue, "%s must be an integer, not %q", name, v)
			}
			*dst = n
		}
	}
	// RFC 7644 §3.4.2.4: startIndex below 1 means 1, a negative count 0.
	q.StartIndex = max(q.StartIndex, 1)
	q.Count = min(max(q.Count, 0), s.cfg.MaxResults)
	if raw := strings.TrimSpace(params.Get("filter")); raw != "" {
		f, e := parseFilter(raw)
		if e != nil {
			return q, e
		}
		q.Filter = f
	}
	return q, nil
}

// parseFilter parses a SCIM filter after cheap checks of its size and
// nesting, so hostile input is refused before the parser sees it.
func parseFilter(raw string) (filter.Expression, *Error) {
	if len(raw) > maxFilterLen {
		return nil, badRequest(scimerr.ScimTypeInvalidFilter, "the filter is %d bytes long; the limit is %d", len(raw), maxFilterLen)
	}
	f, err := filter.ParseFilterNumber([]byte(raw))
	if err != nil {
		return nil, badRequest(scimerr.ScimTypeInvalidFilter,
			`the filter %q is not valid SCIM filter syntax (RFC 7644 §3.4.2.2), e.g. userName eq "bjensen"`, raw)
	}
	return f, nil
}

// serveGet answers GET /Users/{id} and GET /Groups/{id}.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, rt scimlib.ResourceType, id string) {
	var (
		res scimlib.Resource
		err error
	)
	if rt.Name == "User" {
		res, err = userHandler{s}.Get(r, id)
	} else {
		res, err = groupHandler{s}.Get(r, id)
	}
	if err != nil {
		writeError(w, s.toSCIM(r.Context(), err))
		return
	}
	base := s.baseURL(r)
	w.Header().Set("ETag", res.Meta.Version)
	writeJSON(w, render(rt, res, base))
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
	schemaIDs := []string{rt.Schema.ID}
	for _, ext := range rt.SchemaExtensions {
		schemaIDs = append(schemaIDs, ext.Schema.ID)
	}
	out["schemas"] = schemaIDs
	out["meta"] = map[string]any{
		"resourceType": rt.Name,
		"created":      res.Meta.Created.Format(time.RFC3339),
		"lastModified": res.Meta.LastModified.Format(time.RFC3339),
		"location":     location(base, rt.Endpoint, res.ID),
		"version":      res.Meta.Version,
	}
	return out
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

func userPKs(users []store.User) []int64 {
	pks := make([]int64, len(users))
	for i, u := range users {
		pks[i] = u.PK
	}
	return pks
}
