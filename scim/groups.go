package scim

import (
	"net/http"
	"strings"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim/dialect"
	"github.com/scimd/scimd/store"
)

// groupHandler serves /Groups for the library.
type groupHandler struct {
	servedBeforeLibrary
	s *Server
}

var _ scimlib.ResourceHandler = groupHandler{}

func (h groupHandler) Create(r *http.Request, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return h.write(r, reconcile.Create, "", attrs)
}

func (h groupHandler) Replace(r *http.Request, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return h.write(r, reconcile.Replace, id, attrs)
}

func (h groupHandler) write(r *http.Request, op reconcile.Op, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	p := principal(r.Context())
	ifMatch, e := ifMatch(r)
	if e != nil {
		return scimlib.Resource{}, libError(e)
	}
	members, e := memberRefs(attrs["members"])
	if e != nil {
		return scimlib.Resource{}, libError(e)
	}
	profile, err := dialect.Lookup(p.Profile)
	if err != nil {
		return scimlib.Resource{}, libError(h.s.toSCIM(r.Context(), err))
	}
	doc, ext := document(attrs)
	plan, err := h.s.engine.Apply(r.Context(), reconcile.Input{
		Source: reconcile.SourceSCIM, Principal: p,
		Kind: reconcile.KindGroup, Op: op, ID: id, IfMatch: ifMatch,
		Attrs: doc, ExternalID: ext, Members: members,
		IgnoreUnknownMembers: profile.IgnoreUnknownMembers,
	})
	if err != nil {
		return scimlib.Resource{}, libError(h.s.writeError(r, ifMatch, err))
	}
	return h.s.project(r, groupResource(*plan.Group, plan.Members, h.s.baseURL(r)), 1)
}

func (h groupHandler) Delete(r *http.Request, id string) error {
	return h.s.delete(r, reconcile.KindGroup, id)
}

func groupResource(g store.Group, members []store.Member, base string) scimlib.Resource {
	attrs := make(scimlib.ResourceAttributes, len(g.Attrs)+1)
	for k, v := range g.Attrs {
		attrs[k] = v
	}
	if len(members) > 0 {
		list := make([]any, len(members))
		for i, m := range members {
			list[i] = memberJSON(m, base)
		}
		attrs["members"] = list
	}
	return scimlib.Resource{
		ID:         g.ID,
		ExternalID: externalID(g.ExternalID),
		Attributes: attrs,
		Meta:       meta(g.Version, g.CreatedAt, g.UpdatedAt),
	}
}

// memberJSON is one element of a group's members.
func memberJSON(m store.Member, base string) map[string]any {
	return map[string]any{
		"value":   m.ID,
		"display": m.Display,
		"type":    m.Type,
		"$ref":    location(base, "/"+m.Type+"s", m.ID),
	}
}

// memberRefs reads members as the library validated them: a list of
// objects whose value is the member's id and whose optional type is User
// or Group.
func memberRefs(v any) ([]store.MemberRef, *Error) {
	list, _ := v.([]any)
	refs := make([]store.MemberRef, 0, len(list))
	for i, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["value"].(string)
		if id == "" {
			return nil, badRequest(scimerr.ScimTypeInvalidValue, "members[%d].value is required: the id of a user or group", i)
		}
		ref := store.MemberRef{ID: id}
		switch typ, _ := m["type"].(string); {
		case strings.EqualFold(typ, store.MemberUser):
			ref.Type = store.MemberUser
		case strings.EqualFold(typ, store.MemberGroup):
			ref.Type = store.MemberGroup
		}
		refs = append(refs, ref)
	}
	return refs, nil
}
