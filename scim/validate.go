package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

// checkBody checks a POST or PUT body before the library validates it, to
// say which attribute is wrong: the library's own errors name none. The
// checks are the library's (each attribute is validated by its schema code,
// one at a time), so a body that passes here passes there. It reads what
// identity providers send tolerantly (see normalize) and returns the body
// as the library is to see it, with the extensions it carries.
func checkBody(body []byte, rt scimlib.ResourceType) ([]byte, []scimlib.SchemaExtension, *Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, badRequest(scimerr.ScimTypeInvalidSyntax, "the request body is not valid JSON: %s", jsonErr(err, body))
	}
	if dec.More() {
		return nil, nil, badRequest(scimerr.ScimTypeInvalidSyntax, "the request body holds more than one JSON value")
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, badRequest(scimerr.ScimTypeInvalidSyntax, "the request body must be a JSON object, a %s resource", rt.Name)
	}
	if e := checkSchemas(m, rt); e != nil {
		return nil, nil, e
	}
	normalize(m, rt.Schema.Attributes)
	if e := checkAttributes(m, rt.Schema.Attributes, ""); e != nil {
		return nil, nil, e
	}
	var carried []scimlib.SchemaExtension
	for _, ext := range rt.SchemaExtensions {
		v, ok := lookup(m, ext.Schema.ID)
		if (!ok || v == nil) && declares(m, ext.Schema.ID) {
			// Declared in "schemas" with nothing assigned: kept as an
			// empty object, so the resource goes on declaring it.
			v, ok = map[string]any{}, true
			m[ext.Schema.ID] = v
		}
		if !ok || v == nil {
			if ext.Required {
				return nil, nil, badRequest(scimerr.ScimTypeInvalidValue, "the %s extension is required", ext.Schema.ID)
			}
			continue
		}
		em, ok := v.(map[string]any)
		if !ok {
			return nil, nil, badRequest(scimerr.ScimTypeInvalidSyntax, "%s must be an object of extension attributes", ext.Schema.ID)
		}
		normalize(em, ext.Schema.Attributes)
		if e := checkAttributes(em, ext.Schema.Attributes, ext.Schema.ID+":"); e != nil {
			return nil, nil, e
		}
		carried = append(carried, ext)
	}
	out, err := marshal(m)
	if err != nil {
		return nil, nil, badRequest(scimerr.ScimTypeInvalidSyntax, "the request body cannot be re-encoded: %v", err)
	}
	return out, carried, nil
}

// declares reports whether the document's "schemas" lists urn.
func declares(m map[string]any, urn string) bool {
	list, _ := m["schemas"].([]any)
	for _, v := range list {
		if s, ok := v.(string); ok && strings.EqualFold(s, urn) {
			return true
		}
	}
	return false
}

// normalize rewrites, in place, what identity providers send beyond the
// schema's types into what it says (IDP-QUIRKS §2.5): booleans as
// "True"/"False" strings (Entra), a complex value with a "value"
// sub-attribute as a bare string (Entra's manager), null sub-attributes
// such as "$ref": null (Entra's members).
func normalize(m map[string]any, attrs schema.Attributes) {
	for key, v := range m {
		a, ok := attrs.ContainsAttribute(key)
		if !ok {
			continue
		}
		switch {
		case a.AttributeType() == "boolean" && !a.MultiValued():
			if s, ok := v.(string); ok {
				switch strings.ToLower(s) {
				case "true":
					m[key] = true
				case "false":
					m[key] = false
				}
			}
		case a.AttributeType() == "complex" && !a.MultiValued():
			if s, ok := v.(string); ok {
				if _, hasValue := a.SubAttributes().ContainsAttribute("value"); hasValue {
					m[key] = map[string]any{"value": s}
				}
			} else if obj, ok := v.(map[string]any); ok {
				dropNulls(obj)
				normalize(obj, a.SubAttributes())
			}
		case a.AttributeType() == "complex":
			if list, ok := v.([]any); ok {
				for _, item := range list {
					if obj, ok := item.(map[string]any); ok {
						dropNulls(obj)
						normalize(obj, a.SubAttributes())
					}
				}
			}
		}
	}
}

func dropNulls(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
}

func checkSchemas(m map[string]any, rt scimlib.ResourceType) *Error {
	v, ok := lookup(m, "schemas")
	list, isList := v.([]any)
	if !ok || !isList || !slices.Contains(list, any(rt.Schema.ID)) {
		return badRequest(scimerr.ScimTypeInvalidSyntax, `"schemas" must be a list that includes %q`, rt.Schema.ID)
	}
	return nil
}

// checkAttributes checks each attribute of attrs that m holds, and that
// the required ones are there. Keys match case-insensitively, as the
// library matches them; two keys that differ only in case are refused.
func checkAttributes(m map[string]any, attrs schema.Attributes, prefix string) *Error {
	for _, a := range attrs {
		var (
			value any
			seen  bool
		)
		for k, v := range m {
			if !strings.EqualFold(k, a.Name()) {
				continue
			}
			if seen {
				return badRequest(scimerr.ScimTypeInvalidSyntax, "%s%s appears twice (keys that differ only in case name the same attribute)", prefix, a.Name())
			}
			value, seen = v, true
		}
		if a.Mutability() == "readOnly" {
			continue // ignored on input, whatever it holds (RFC 7643 §2.2)
		}
		if value == nil {
			if a.Required() {
				return badRequest(scimerr.ScimTypeInvalidValue, "%s%s is required", prefix, a.Name())
			}
			continue
		}
		one := schema.Schema{Attributes: schema.Attributes{a}}
		if _, err := one.ValidateExtension(map[string]any{a.Name(): value}); err != nil {
			return badRequest(err.ScimType, "%s%s: %s", prefix, a.Name(), expected(a))
		}
	}
	return nil
}

// expected describes the value an attribute takes.
func expected(a schema.CoreAttribute) string {
	what := a.AttributeType()
	if what == "complex" {
		var subs []string
		for _, s := range a.SubAttributes() {
			subs = append(subs, s.Name())
		}
		what = "an object with " + strings.Join(subs, ", ")
	} else {
		what = "a " + what
	}
	if a.MultiValued() {
		return "expected a list, each item " + what
	}
	if vals := a.CanonicalValues(); len(vals) > 0 && a.AttributeType() == "string" {
		return fmt.Sprintf("expected %s (one of %s)", what, strings.Join(vals, ", "))
	}
	return "expected " + what
}

func lookup(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// jsonErr says where JSON broke, by byte offset, line and column.
func jsonErr(err error, body []byte) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	offset := int64(-1)
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 {
		if len(bytes.TrimSpace(body)) == 0 {
			return "the body is empty"
		}
		return err.Error()
	}
	before := body[:min(int(offset), len(body))]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%s (line %d, column %d)", err, line, col-1)
}
