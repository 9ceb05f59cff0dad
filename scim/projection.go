package scim

import (
	"strings"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
)

// projection is a request's attributes or excludedAttributes (RFC 7644
// §3.4.2.5, §3.9): which attributes a response carries. Paths are kept
// lower-cased and, for extension attributes, prefixed by their schema URN.
type projection struct {
	include map[string]bool // nil: every attribute returned by default
	exclude map[string]bool
}

// alwaysReturned are returned whatever the client asks: the library adds
// them to every write response, and a GET answers the same.
var alwaysReturned = map[string]bool{"id": true, "schemas": true, "meta": true}

// parseProjection reads comma-separated attribute paths. Microsoft's test
// suite sends a value filter in them (emails[type eq "work"]): the filter
// is ignored and the attribute kept.
func parseProjection(rt scimlib.ResourceType, attributes, excluded []string) (projection, *Error) {
	var p projection
	var err *Error
	if p.include, err = projectionPaths(rt, attributes); err != nil {
		return p, err
	}
	p.exclude, err = projectionPaths(rt, excluded)
	return p, err
}

func projectionPaths(rt scimlib.ResourceType, lists []string) (map[string]bool, *Error) {
	var out map[string]bool
	for _, list := range lists {
		for _, path := range strings.Split(list, ",") {
			path = strings.TrimSpace(path)
			if path == "" {
				continue
			}
			if i := strings.IndexByte(path, '['); i >= 0 {
				path = path[:i]
			}
			path = strings.ToLower(strings.TrimPrefix(strings.ToLower(path), strings.ToLower(rt.Schema.ID)+":"))
			if len(path) > 256 {
				return nil, badRequest(scimerr.ScimTypeInvalidValue, "attribute path %.40q… is too long", path)
			}
			if out == nil {
				out = map[string]bool{}
			}
			out[path] = true
		}
	}
	return out, nil
}

// wants says whether the response carries the top-level attribute name
// (lower case): whether it is worth reading.
func (p projection) wants(name string) bool {
	if alwaysReturned[name] {
		return true
	}
	if p.exclude[name] {
		return false
	}
	if p.include == nil {
		return true
	}
	for path := range p.include {
		if path == name || strings.HasPrefix(path, name+".") {
			return true
		}
	}
	return false
}

// apply removes from doc what the response must not carry. Keys of doc
// are attribute names, or extension URNs holding objects of them; sub-
// attributes are pruned in objects and in lists of objects.
func (p projection) apply(rt scimlib.ResourceType, doc map[string]any) {
	if p.include == nil && p.exclude == nil {
		return
	}
	for key, v := range doc {
		k := strings.ToLower(key)
		switch {
		case alwaysReturned[k]:
			continue
		case p.exclude[k], p.include != nil && !p.include[k] && !p.includesBelow(k):
			delete(doc, key)
			continue
		}
		whole := p.include == nil || p.include[k]
		switch v := v.(type) {
		case map[string]any:
			if !p.prune(k, v) && !whole {
				delete(doc, key)
			}
		case []any:
			for _, item := range v {
				if obj, ok := item.(map[string]any); ok {
					p.prune(k, obj)
				}
			}
		}
	}
}

// prune keeps in obj, the value of the attribute or extension at prefix,
// what p allows, and reports whether anything is left.
func (p projection) prune(prefix string, obj map[string]any) bool {
	sep := "."
	if strings.HasPrefix(prefix, "urn:") {
		sep = ":"
	}
	whole := p.include == nil || p.include[prefix]
	for key := range obj {
		path := prefix + sep + strings.ToLower(key)
		if p.exclude[path] || !whole && !p.include[path] && !p.includesBelow(path) {
			delete(obj, key)
		}
	}
	return len(obj) > 0
}

func (p projection) includesBelow(path string) bool {
	for inc := range p.include {
		if strings.HasPrefix(inc, path+".") || strings.HasPrefix(inc, path+":") {
			return true
		}
	}
	return false
}
