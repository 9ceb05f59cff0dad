package scim

import (
	"errors"
	"net/http"
	"time"

	scimlib "github.com/elimity-com/scim"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// userHandler serves /Users for the library: it turns requests into
// reconcile inputs and rows into resources.
type userHandler struct {
	servedBeforeLibrary
	s *Server
}

var _ scimlib.ResourceHandler = userHandler{}

func (h userHandler) Create(r *http.Request, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return h.write(r, reconcile.Create, "", attrs)
}

func (h userHandler) Replace(r *http.Request, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return h.write(r, reconcile.Replace, id, attrs)
}

func (h userHandler) write(r *http.Request, op reconcile.Op, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	p := principal(r.Context())
	ifMatch, e := ifMatch(r)
	if e != nil {
		return scimlib.Resource{}, libError(e)
	}
	doc, ext := document(attrs)
	plan, err := h.s.engine.Apply(r.Context(), reconcile.Input{
		Source: reconcile.SourceSCIM, Principal: p,
		Kind: reconcile.KindUser, Op: op, ID: id, IfMatch: ifMatch,
		Attrs: doc, ExternalID: ext,
	})
	if err != nil {
		return scimlib.Resource{}, libError(h.s.writeError(r, ifMatch, err))
	}
	u := *plan.User
	var groups []store.GroupRef
	if op == reconcile.Replace {
		byUser, err := h.s.db.UserGroups(r.Context(), []int64{u.PK})
		if err != nil {
			return scimlib.Resource{}, libError(h.s.toSCIM(r.Context(), err))
		}
		groups = byUser[u.PK]
	}
	res := userResource(u, groups, h.s.baseURL(r), h.s.engine.Now())
	// The library lists the extensions in "schemas" (see route).
	dropEmptyExtensions(h.s.types(r.Context())[0], res.Attributes)
	return h.s.project(r, res, 0)
}

func (h userHandler) Delete(r *http.Request, id string) error {
	return h.s.delete(r, reconcile.KindUser, id)
}

func userResource(u store.User, groups []store.GroupRef, base string, now time.Time) scimlib.Resource {
	attrs := make(scimlib.ResourceAttributes, len(u.Attrs)+2)
	for k, v := range u.Attrs {
		attrs[k] = v
	}
	if !u.ActiveAt(now) {
		// Disabled, pending activation or outside the access window:
		// inactive, whatever the source sent (store.User.ActiveAt).
		attrs["active"] = false
	}
	if len(groups) > 0 {
		list := make([]map[string]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{
				"value":   g.ID,
				"display": g.DisplayName,
				"$ref":    location(base, "/Groups", g.ID),
				"type":    "direct",
			}
		}
		attrs["groups"] = list
	}
	return scimlib.Resource{
		ID:         u.ID,
		ExternalID: externalID(u.ExternalID),
		Attributes: attrs,
		Meta:       meta(u.Version, u.CreatedAt, u.UpdatedAt),
	}
}

// document splits what the library validated into the SCIM document we
// store and the connector's external ID. It drops password: scimd does
// not authenticate users with passwords and never keeps one.
func document(attrs scimlib.ResourceAttributes) (map[string]any, string) {
	doc := make(map[string]any, len(attrs))
	var ext string
	for k, v := range attrs {
		switch k {
		case "externalId":
			ext, _ = v.(string)
		case "password", "members", "groups", "id", "meta", "schemas":
		default:
			doc[k] = v
		}
	}
	return doc, ext
}

// delete removes a user or group.
func (s *Server) delete(r *http.Request, kind reconcile.Kind, id string) error {
	p := principal(r.Context())
	ifMatch, e := ifMatch(r)
	if e != nil {
		return libError(e)
	}
	_, err := s.engine.Apply(r.Context(), reconcile.Input{
		Source: reconcile.SourceSCIM, Principal: p,
		Kind: kind, Op: reconcile.Delete, ID: id, IfMatch: ifMatch,
	})
	if err != nil {
		return libError(s.writeError(r, ifMatch, err))
	}
	return nil
}

// writeError maps a write's error; a lost race under If-Match is 412.
func (s *Server) writeError(r *http.Request, ifMatch int64, err error) *Error {
	if ifMatch != 0 && errors.Is(err, store.ErrStale) {
		err = errPreconditionFailed
	}
	return s.toSCIM(r.Context(), err)
}
