package scim

import (
	"errors"
	"net/http"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim/dialect"
	"github.com/scimd/scimd/scim/patch"
)

// servePatch answers PATCH /Users/{id} and /Groups/{id} (RFC 7644 §3.5.2).
// scimd parses and applies PATCH itself: elimity-com/scim never applies
// one, and its validator refuses what Entra sends (an empty Operations
// list, a manager as a bare id) while letting read-only targets through.
// The operations run inside the write transaction on the current
// document, so concurrent PATCHes never lose each other's changes; a
// group's members change by set operations in SQL, never by loading them.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, rt scimlib.ResourceType, id string, body []byte) {
	ctx, pr := r.Context(), principal(r.Context())
	profile, err := dialect.Lookup(pr.Profile)
	if err != nil {
		writeError(w, s.toSCIM(ctx, err))
		return
	}
	ops, err := patch.Parse(body)
	if err != nil {
		writeError(w, s.toSCIM(ctx, err))
		return
	}
	if len(ops) > patch.MaxOperations {
		writeError(w, newError(http.StatusRequestEntityTooLarge, "",
			"the PATCH request has %d operations; the limit is %d: send the rest in another request", len(ops), patch.MaxOperations))
		return
	}
	if rt.Name == "Group" {
		if n := patch.Members(ops, "members"); n > s.cfg.MaxPatchMembers {
			writeError(w, newError(http.StatusRequestEntityTooLarge, "",
				"the PATCH request lists %d members; the limit is %d a request: send the rest in another request", n, s.cfg.MaxPatchMembers))
			return
		}
	}
	ifMatch, e := ifMatch(r)
	if e != nil {
		writeError(w, e)
		return
	}
	target := patch.Target{Schema: rt.Schema, ID: id}
	for _, ext := range rt.SchemaExtensions {
		target.Extensions = append(target.Extensions, ext.Schema)
	}
	kind := reconcile.KindUser
	if rt.Name == "Group" {
		kind, target.Members = reconcile.KindGroup, "members"
	}
	edit := func(cur reconcile.Doc) (reconcile.Doc, []reconcile.MemberEdit, error) {
		doc := make(map[string]any, len(cur.Attrs)+1)
		for k, v := range cur.Attrs {
			doc[k] = v
		}
		if cur.ExternalID != "" {
			doc["externalId"] = cur.ExternalID
		}
		out, memberOps, err := patch.Apply(doc, ops, target, profile.Patch)
		if err != nil {
			return reconcile.Doc{}, nil, err
		}
		// As a PUT's or a POST's (document): scimd never keeps a password.
		delete(out, "password")
		ext, _ := out["externalId"].(string)
		if ext != cur.ExternalID {
			if e := checkExternalID(out["externalId"]); e != nil {
				return reconcile.Doc{}, nil, e
			}
		}
		delete(out, "externalId")
		// What the PATCH changed must be valid, as a PUT body must.
		normalize(out, rt.Schema.Attributes)
		if e := checkAttributes(out, cur.Attrs, rt.Schema.Attributes, "", profile); e != nil {
			return reconcile.Doc{}, nil, e
		}
		for _, x := range rt.SchemaExtensions {
			if em, ok := out[x.Schema.ID].(map[string]any); ok {
				normalize(em, x.Schema.Attributes)
				was, _ := cur.Attrs[x.Schema.ID].(map[string]any)
				if was == nil {
					was = map[string]any{}
				}
				if e := checkAttributes(em, was, x.Schema.Attributes, x.Schema.ID+":", profile); e != nil {
					return reconcile.Doc{}, nil, e
				}
			}
		}
		edits := make([]reconcile.MemberEdit, len(memberOps))
		for i, m := range memberOps {
			edits[i] = reconcile.MemberEdit{Op: m.Op, IDs: m.IDs, All: m.All}
		}
		return reconcile.Doc{Attrs: out, ExternalID: ext}, edits, nil
	}
	plan, err := s.engine.Apply(ctx, reconcile.Input{
		Source: reconcile.SourceSCIM, Principal: pr,
		Kind: kind, Op: reconcile.Patch, ID: id, IfMatch: ifMatch, Edit: edit,
		IgnoreUnknownMembers: profile.IgnoreUnknownMembers,
	})
	if err != nil {
		writeError(w, s.writeError(r, ifMatch, err))
		return
	}
	// 200 with the resource, or 204 (RFC 7644 §3.5.2): groups answer 204
	// unless attributes are asked for, so that a PATCH of a 100k-member
	// group never sends the members back.
	asked := r.URL.Query().Has("attributes") || r.URL.Query().Has("excludedAttributes")
	if kind == reconcile.KindGroup && !asked || kind == reconcile.KindUser && profile.UserPatchNoContent && !asked {
		if plan.User != nil {
			w.Header().Set("ETag", etag(plan.User.Version))
		} else {
			w.Header().Set("ETag", etag(plan.Group.Version))
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.serveGet(w, r, rt, id)
}

// patchError is how the engine's refusals reach the client.
func patchError(err error) (*Error, bool) {
	var pe *patch.Error
	if !errors.As(err, &pe) {
		return nil, false
	}
	return badRequest(scimerr.ScimType(pe.ScimType), "%s", pe.Detail), true
}
