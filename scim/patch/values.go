package patch

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// coerce turns what a client sent into the value an attribute holds, as a
// tolerant reader: booleans also as "True"/"False" strings (Entra), a
// complex value with a "value" sub-attribute also as a bare string (Entra's
// manager), a multi-valued attribute also as a single element, names of
// sub-attributes in any case (stored in the schema's). nil is nil: clear.
func coerce(a schema.CoreAttribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.MultiValued() {
		items, ok := v.([]any)
		if !ok {
			items = []any{v}
		}
		out := make([]any, 0, len(items))
		for _, item := range items {
			var (
				c   any
				err error
			)
			if a.AttributeType() == "complex" {
				c, err = coerceElement(a, item)
			} else {
				c, err = coerceSimple(a, item)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	if a.AttributeType() == "complex" {
		return coerceElement(a, v)
	}
	return coerceSimple(a, v)
}

// coerceElement reads one complex value (an object of sub-attributes).
func coerceElement(a schema.CoreAttribute, v any) (map[string]any, error) {
	if s, ok := v.(string); ok {
		if _, hasValue := a.SubAttributes().ContainsAttribute("value"); hasValue {
			v = map[string]any{"value": s}
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf("invalidValue", "%s takes an object of its sub-attributes", a.Name())
	}
	out := make(map[string]any, len(m))
	for k, sv := range m {
		sub, ok := a.SubAttributes().ContainsAttribute(k)
		if !ok || sv == nil {
			continue // unknown sub-attributes ($ref: null, displayName) are dropped, as on POST
		}
		c, err := coerceSimple(sub, sv)
		if err != nil {
			return nil, err
		}
		out[sub.Name()] = c
	}
	return out, nil
}

func coerceSimple(a schema.CoreAttribute, v any) (any, error) {
	switch a.AttributeType() {
	case "boolean":
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			switch strings.ToLower(b) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, errorf("invalidValue", "%s takes true or false, not %s", a.Name(), show(v))
	case "integer", "decimal":
		switch n := v.(type) {
		case json.Number:
			return n, nil
		case float64, int:
			return n, nil
		case string:
			if _, err := json.Number(n).Float64(); err == nil {
				return json.Number(n), nil
			}
		}
		return nil, errorf("invalidValue", "%s takes a number, not %s", a.Name(), show(v))
	case "dateTime":
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			return nil, errorf("invalidValue", "%s takes a dateTime such as \"2026-01-31T12:00:00Z\", not %s", a.Name(), show(v))
		}
		return s, nil
	case "complex":
		return nil, errorf("invalidValue", "%s is complex: it cannot be nested here", a.Name())
	}
	s, ok := v.(string)
	if !ok {
		return nil, errorf("invalidValue", "%s takes a string, not %s", a.Name(), show(v))
	}
	return s, nil
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// anyPrimary reports whether one of the values of a multi-valued
// attribute is primary.
func anyPrimary[T any](list []T) bool {
	for _, item := range list {
		if m, ok := any(item).(map[string]any); ok && lookup(m, "primary") == true {
			return true
		}
	}
	return false
}

// clearPrimary sets primary to false on the values of list that are not
// in keep, for at most one value is primary (RFC 7643 §2.4).
func clearPrimary(list []any, keep []map[string]any) {
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok || lookup(m, "primary") != true || slices.ContainsFunc(keep, func(k map[string]any) bool { return sameMap(k, m) }) {
			continue
		}
		setKey(m, "primary", false)
	}
}

// sameMap reports whether a and b are the same map, not equal ones.
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// containsValue reports whether list holds an element equal to v.
func containsValue(list []any, v any) bool {
	for _, item := range list {
		if reflect.DeepEqual(item, v) {
			return true
		}
	}
	return false
}

// matches evaluates a value filter (the part in brackets) on one element
// of the multi-valued attribute a.
func matches(f filter.Expression, el map[string]any, a schema.CoreAttribute) bool {
	switch f := f.(type) {
	case *filter.LogicalExpression:
		if f.Operator == filter.OR {
			return matches(f.Left, el, a) || matches(f.Right, el, a)
		}
		return matches(f.Left, el, a) && matches(f.Right, el, a)
	case *filter.NotExpression:
		return !matches(f.Expression, el, a)
	case *filter.AttributeExpression:
		sub, ok := a.SubAttributes().ContainsAttribute(f.AttributePath.AttributeName)
		if !ok {
			return false
		}
		return compare(lookup(el, sub.Name()), f.Operator, f.CompareValue, sub)
	}
	return false
}

func compare(have any, op filter.CompareOperator, want any, a schema.CoreAttribute) bool {
	if op == filter.PR {
		return have != nil && have != ""
	}
	if have == nil {
		return op == filter.NE
	}
	switch h := have.(type) {
	case bool:
		w, err := coerceSimple(a, want)
		return err == nil && (op == filter.EQ && w == h || op == filter.NE && w != h)
	case string:
		w, ok := want.(string)
		if !ok {
			return false
		}
		if !a.CaseExact() {
			h, w = strings.ToLower(h), strings.ToLower(w)
		}
		switch op {
		case filter.EQ:
			return h == w
		case filter.NE:
			return h != w
		case filter.CO:
			return strings.Contains(h, w)
		case filter.SW:
			return strings.HasPrefix(h, w)
		case filter.EW:
			return strings.HasSuffix(h, w)
		case filter.GT:
			return h > w
		case filter.GE:
			return h >= w
		case filter.LT:
			return h < w
		case filter.LE:
			return h <= w
		}
	}
	eq := fmt.Sprint(have) == fmt.Sprint(want)
	return op == filter.EQ && eq || op == filter.NE && !eq
}

// seed is the element a value filter describes: its eq comparisons joined
// by and, e.g. {"type": "work"} for [type eq "work"].
func seed(f filter.Expression, a schema.CoreAttribute) map[string]any {
	el := map[string]any{}
	var walk func(filter.Expression)
	walk = func(f filter.Expression) {
		switch f := f.(type) {
		case *filter.LogicalExpression:
			if f.Operator == filter.AND {
				walk(f.Left)
				walk(f.Right)
			}
		case *filter.AttributeExpression:
			if f.Operator != filter.EQ {
				return
			}
			if sub, ok := a.SubAttributes().ContainsAttribute(f.AttributePath.AttributeName); ok {
				if v, err := coerceSimple(sub, f.CompareValue); err == nil {
					el[sub.Name()] = v
				}
			}
		}
	}
	walk(f)
	return el
}
