package scim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/dialect"
)

// checkBody checks a POST or PUT body before the library validates it, to
// say which attribute is wrong: the library's own errors name none. The
// checks are the library's (each attribute is validated by its schema code,
// one at a time), so a body that passes here passes there. It reads what
// identity providers send tolerantly (see normalize) and returns the body
// as the library is to see it, with the extensions it carries.
func checkBody(body []byte, rt scimlib.ResourceType, p dialect.Profile) ([]byte, []scimlib.SchemaExtension, *Error) {
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
	if e := checkAttributes(m, nil, rt.Schema.Attributes, "", p); e != nil {
		return nil, nil, e
	}
	if v, _ := lookup(m, "externalId"); v != nil {
		if e := checkExternalID(v); e != nil {
			return nil, nil, e
		}
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
		if e := checkAttributes(em, nil, ext.Schema.Attributes, ext.Schema.ID+":", p); e != nil {
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
// such as "$ref": null (Entra's members), and a single value where the
// schema says multi-valued ("emails": {...}), read as a list of one. In a
// multi-valued attribute, values of the same type and value are one
// (RFC 7643 §2.4), and keep the primary flag any of them had.
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
			if obj, ok := v.(map[string]any); ok {
				v = []any{obj}
			}
			if list, ok := v.([]any); ok {
				for _, item := range list {
					if obj, ok := item.(map[string]any); ok {
						dropNulls(obj)
						normalize(obj, a.SubAttributes())
					}
				}
				m[key] = collapse(list, a)
			}
		case a.MultiValued():
			if _, ok := v.([]any); !ok && v != nil {
				m[key] = []any{v}
			}
		}
	}
}

// collapse merges the values of a multi-valued complex attribute that
// have the same type and value (compared as the schema says: without
// regard to case unless caseExact) into the first of them.
func collapse(list []any, a schema.CoreAttribute) []any {
	sub, ok := a.SubAttributes().ContainsAttribute("value")
	if !ok {
		return list
	}
	key := func(obj map[string]any) (string, bool) {
		v, _ := lookup(obj, "value")
		s, ok := v.(string)
		if !ok {
			return "", false
		}
		t, _ := lookup(obj, "type")
		typ, _ := t.(string)
		if !sub.CaseExact() {
			s = strings.ToLower(s)
		}
		return strings.ToLower(typ) + "\x00" + s, true
	}
	out := list[:0:0]
	first := map[string]map[string]any{}
	for _, item := range list {
		obj, ok := item.(map[string]any)
		k, keyed := key(obj)
		if !ok || !keyed {
			out = append(out, item)
			continue
		}
		kept, dup := first[k]
		if !dup {
			first[k] = obj
			out = append(out, obj)
			continue
		}
		if isPrimary(obj) {
			setKey(kept, "primary", true)
		}
	}
	return out
}

// isPrimary says whether a value of a multi-valued attribute is primary.
func isPrimary(obj map[string]any) bool {
	v, _ := lookup(obj, "primary")
	return v == true
}

// setKey sets key, replacing keys that differ from it only in case.
func setKey(m map[string]any, key string, v any) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
	m[key] = v
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
// Each simple value is checked by the library's schema code, then against
// scimd's limits (schemas.MaxLen); errors name the value at fault, as
// emails[1].value, never the Go types the library decodes into.
//
// For a PATCH, before is the document it started from: a value it leaves
// as it was is not checked again, so that a row stored before a limit
// existed can still be disabled or deleted.
func checkAttributes(m, before map[string]any, attrs schema.Attributes, prefix string, p dialect.Profile) *Error {
	for _, a := range attrs {
		value, e := only(m, a, prefix)
		if e != nil {
			return e
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
		if old, _ := lookup(before, a.Name()); before != nil && reflect.DeepEqual(old, value) {
			continue
		}
		if e := checkValue(a, value, prefix+a.Name(), p); e != nil {
			return e
		}
	}
	return nil
}

// only returns the value of a in m, refusing two keys that name it.
func only(m map[string]any, a schema.CoreAttribute, prefix string) (any, *Error) {
	var (
		value any
		seen  bool
	)
	for k, v := range m {
		if !strings.EqualFold(k, a.Name()) {
			continue
		}
		if seen {
			return nil, badRequest(scimerr.ScimTypeInvalidSyntax, "%s%s appears twice (keys that differ only in case name the same attribute)", prefix, a.Name())
		}
		value, seen = v, true
	}
	return value, nil
}

// checkValue checks the value v of attribute a, at path.
func checkValue(a schema.CoreAttribute, v any, path string, p dialect.Profile) *Error {
	if !a.MultiValued() {
		return checkSingle(a, v, path, p)
	}
	list, ok := v.([]any)
	if !ok {
		return badRequest(scimerr.ScimTypeInvalidSyntax, "%s: %s", path, expected(a))
	}
	primaries := 0
	for i, item := range list {
		if e := checkSingle(a, item, fmt.Sprintf("%s[%d]", path, i), p); e != nil {
			return e
		}
		if obj, ok := item.(map[string]any); ok && isPrimary(obj) {
			primaries++
		}
	}
	if primaries > 1 {
		return badRequest(scimerr.ScimTypeInvalidValue, "%s: %d values are primary; at most one may be (RFC 7643 §2.4)", path, primaries)
	}
	return nil
}

// checkSingle checks one value of a: the attribute's, or one item of its list.
func checkSingle(a schema.CoreAttribute, v any, path string, p dialect.Profile) *Error {
	if a.AttributeType() == "complex" {
		obj, ok := v.(map[string]any)
		if !ok {
			return badRequest(scimerr.ScimTypeInvalidValue, "%s: expected %s", path, what(a))
		}
		for _, sub := range a.SubAttributes() {
			sv, e := only(obj, sub, path+".")
			if e != nil {
				return e
			}
			switch {
			case sub.Mutability() == "readOnly":
			case sv == nil && sub.Required():
				return badRequest(scimerr.ScimTypeInvalidValue, "%s.%s is required", path, sub.Name())
			case sv != nil:
				if e := checkSingle(sub, sv, path+"."+sub.Name(), p); e != nil {
					return e
				}
			}
		}
		return nil
	}
	if _, err := a.ValidateSingular(v); err != nil {
		if a.AttributeType() == "binary" {
			if _, ok := v.(string); ok {
				return badRequest(scimerr.ScimTypeInvalidValue, "%s is not valid base64 (RFC 4648 §4, with = padding), as a binary attribute's value must be", path)
			}
		}
		return badRequest(err.ScimType, "%s: expected %s", path, what(a))
	}
	str, ok := v.(string)
	if !ok {
		return nil
	}
	field := path[strings.LastIndexByte(path, ':')+1:] // an extension's attribute by its name
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i] + field[strings.IndexByte(field, ']')+1:] // emails[0].value → emails.value
	}
	if limit := schemas.MaxLen(field, a.AttributeType()); utf8.RuneCountInString(str) > limit {
		return badRequest(scimerr.ScimTypeInvalidValue, "%s is %d characters long; the limit is %d", path, utf8.RuneCountInString(str), limit)
	}
	if strings.EqualFold(field, "emails.value") && !p.LooseEmails && !isAddress(str) {
		return badRequest(scimerr.ScimTypeInvalidValue, "%s %s is not an email address (local@domain, RFC 5321)", path, clip(str))
	}
	return nil
}

// isAddress is a lenient check of an RFC 5321 mailbox: something, an @,
// a domain, and no spaces or control characters anywhere.
func isAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	domain := s[at+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// clip quotes what a client sent, shortened, for an error detail.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		s = string([]rune(s)[:64]) + "…"
	}
	return strconv.Quote(s)
}

// checkExternalID checks the common attribute externalId (RFC 7643 §3.1),
// which no schema's attribute list holds.
func checkExternalID(v any) *Error {
	s, ok := v.(string)
	switch {
	case v == nil:
	case !ok:
		return badRequest(scimerr.ScimTypeInvalidValue, "externalId: expected a string")
	case utf8.RuneCountInString(s) > schemas.MaxName:
		return badRequest(scimerr.ScimTypeInvalidValue, "externalId is %d characters long; the limit is %d", utf8.RuneCountInString(s), schemas.MaxName)
	}
	return nil
}

// expected describes the value an attribute takes.
func expected(a schema.CoreAttribute) string {
	if a.MultiValued() {
		return "expected a list, each item " + what(a)
	}
	return "expected " + what(a)
}

// what describes one value of an attribute.
func what(a schema.CoreAttribute) string {
	switch typ := a.AttributeType(); {
	case typ == "complex":
		var subs []string
		for _, s := range a.SubAttributes() {
			subs = append(subs, s.Name())
		}
		return "an object with " + strings.Join(subs, ", ")
	case typ == "binary":
		return "a base64 string"
	case typ == "dateTime":
		return `a dateTime such as "2026-01-31T12:00:00Z"`
	case len(a.CanonicalValues()) > 0 && typ == "string":
		return fmt.Sprintf("a string (one of %s)", strings.Join(a.CanonicalValues(), ", "))
	default:
		return "a " + typ
	}
}

func lookup(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// jsonErr says where JSON broke, by byte offset, line and column, in
// JSON's terms: a value of the wrong type is named by its key path and
// the JSON type it takes, never by the Go type it decodes into.
func jsonErr(err error, body []byte) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	offset := int64(-1)
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
		msg = fmt.Sprintf("%s must be %s, not a JSON %s", cmp.Or(typ.Field, "the body"), jsonType(typ.Type), typ.Value)
	}
	if offset < 0 {
		if len(bytes.TrimSpace(body)) == 0 {
			return "the body is empty"
		}
		return msg
	}
	before := body[:min(int(offset), len(body))]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%s (line %d, column %d)", msg, line, col-1)
}

// jsonType names the JSON a Go type decodes from.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "a JSON value"
}
