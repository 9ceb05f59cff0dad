package store

import (
	"maps"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// attr is one attribute as the filter translator sees it: where its value
// sits in the stored SCIM document and how to compare it. The registry is
// built from the schemas scimd serves, so every attribute /Schemas lists can
// be filtered and sorted on, and nothing else can.
type attr struct {
	name      string   // canonical name, e.g. "emails"
	path      []string // JSON path from the document root, e.g. ["name", "givenName"]
	typ       string   // "string", "boolean", "dateTime", "decimal", "integer", "reference", "binary", "complex"
	caseExact bool
	multi     bool
	never     bool // returned "never" (password): not even filterable
	subs      map[string]*attr
}

// registry maps lower-cased attribute names (extension attributes prefixed
// by their lower-cased schema URN and a colon) to attributes.
type registry map[string]*attr

var (
	userRegistry  = newRegistry(schema.CoreUserSchema(), schema.ExtensionEnterpriseUser())
	groupRegistry = newRegistry(schema.CoreGroupSchema())
)

func newRegistry(core schema.Schema, extensions ...schema.Schema) registry {
	r := registry{}
	for _, a := range core.Attributes {
		r[strings.ToLower(a.Name())] = newAttr(a, nil)
	}
	r.add(extensions...)
	return r
}

// add registers the attributes of extension schemas, under their URNs.
func (r registry) add(extensions ...schema.Schema) {
	for _, ext := range extensions {
		for _, a := range ext.Attributes {
			r[strings.ToLower(ext.ID+":"+a.Name())] = newAttr(a, []string{ext.ID})
		}
	}
}

// with returns res whose registry also holds extensions' attributes.
func (res resource) with(extensions []schema.Schema) resource {
	if len(extensions) == 0 {
		return res
	}
	res.reg = maps.Clone(res.reg)
	res.reg.add(extensions...)
	return res
}

func newAttr(a schema.CoreAttribute, parent []string) *attr {
	out := &attr{
		name:      a.Name(),
		path:      append(append([]string(nil), parent...), a.Name()),
		typ:       a.AttributeType(),
		caseExact: a.CaseExact(),
		multi:     a.MultiValued(),
		never:     a.Returned() == "never",
	}
	if subs := a.SubAttributes(); len(subs) > 0 {
		out.subs = map[string]*attr{}
		for _, s := range subs {
			// A sub-attribute's path is relative to its parent's value
			// (the object, or each element of a multi-valued attribute).
			sub := newAttr(s, nil)
			if !out.multi {
				sub.path = append(append([]string(nil), out.path...), s.Name())
			}
			out.subs[strings.ToLower(s.Name())] = sub
		}
	}
	return out
}

// sub returns the named sub-attribute; a multi-valued attribute without
// sub-attributes is its own "value" (RFC 7644 §3.4.2.2).
func (a *attr) sub(name string) *attr {
	if a.subs == nil {
		return nil
	}
	return a.subs[strings.ToLower(name)]
}
