package store

import (
	"encoding/json"
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// FilterError is a filter the store cannot evaluate: an unknown attribute,
// or an operator or value that does not fit the attribute's type. Its
// message is meant for the client.
type FilterError struct {
	Msg string
}

func (e *FilterError) Error() string { return e.Msg }

type kind int

const (
	kindString kind = iota
	kindBool
	kindID
)

// attribute is a filterable attribute: the trusted SQL expression that holds
// it and how to compare it. Only these expressions ever reach SQL text;
// values always travel as arguments.
type attribute struct {
	kind kind
	expr string
	// folded means expr holds [Fold]ed values, so a caseExact=false
	// comparison folds the value, not the column, and stays index-backed.
	folded bool
}

// The attribute registries, keyed by lower-cased attribute path without the
// core schema URN.
var (
	userAttrs = map[string]attribute{
		"id":         {kind: kindID, expr: "u.id"},
		"externalid": {kind: kindString, expr: "x.value"},
		"username":   {kind: kindString, expr: "u.user_name_folded", folded: true},
		"active":     {kind: kindBool, expr: "u.active"},
	}
	groupAttrs = map[string]attribute{
		"id":          {kind: kindID, expr: "g.id"},
		"externalid":  {kind: kindString, expr: "x.value"},
		"displayname": {kind: kindString, expr: "g.display_name_folded", folded: true},
	}
)

const (
	coreUserURN  = "urn:ietf:params:scim:schemas:core:2.0:user"
	coreGroupURN = "urn:ietf:params:scim:schemas:core:2.0:group"
)

// translate turns q.Filter into a WHERE fragment with ? placeholders.
func (r reader) translate(attrs map[string]attribute, q Query) (string, []any, error) {
	if q.Filter == nil {
		return "", nil, nil
	}
	t := translator{attrs: attrs}
	if err := t.expr(q.Filter); err != nil {
		return "", nil, err
	}
	return t.sql.String(), t.args, nil
}

type translator struct {
	attrs map[string]attribute
	sql   strings.Builder
	args  []any
}

func (t *translator) expr(e filter.Expression) error {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		t.sql.WriteString("(")
		if err := t.expr(e.Left); err != nil {
			return err
		}
		if e.Operator == filter.OR {
			t.sql.WriteString(" OR ")
		} else {
			t.sql.WriteString(" AND ")
		}
		if err := t.expr(e.Right); err != nil {
			return err
		}
		t.sql.WriteString(")")
		return nil
	case *filter.NotExpression:
		t.sql.WriteString("NOT ")
		return t.expr(e.Expression)
	case *filter.AttributeExpression:
		return t.compare(e)
	case *filter.ValuePath:
		return &FilterError{Msg: fmt.Sprintf("filtering on %s[...] is not supported yet", e.AttributePath.AttributeName)}
	default:
		return &FilterError{Msg: fmt.Sprintf("unsupported filter expression %T", e)}
	}
}

func (t *translator) lookup(p filter.AttributePath) (attribute, error) {
	name := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		name += "." + strings.ToLower(*p.SubAttribute)
	}
	if p.URIPrefix != nil {
		uri := strings.ToLower(*p.URIPrefix)
		if uri != coreUserURN && uri != coreGroupURN {
			name = uri + ":" + name
		}
	}
	a, ok := t.attrs[name]
	if !ok {
		return attribute{}, &FilterError{Msg: fmt.Sprintf("cannot filter on %q: unknown or unsupported attribute", p.String())}
	}
	return a, nil
}

// compare writes one comparison. Every comparison is two-valued, so NOT of
// a comparison on a missing value is TRUE, as a client reading RFC 7644
// expects, not SQL's NULL; and each stays sargable: "(e IS NOT NULL AND
// e = ?)" uses e's index where "COALESCE(e = ?, FALSE)" would not.
func (t *translator) compare(e *filter.AttributeExpression) error {
	a, err := t.lookup(e.AttributePath)
	if err != nil {
		return err
	}
	op := e.Operator
	if op == filter.PR {
		switch a.kind {
		case kindString:
			fmt.Fprintf(&t.sql, "(%[1]s IS NOT NULL AND %[1]s <> '')", a.expr)
		default:
			fmt.Fprintf(&t.sql, "(%s IS NOT NULL)", a.expr)
		}
		return nil
	}
	switch a.kind {
	case kindBool:
		b, ok := boolValue(e.CompareValue)
		if !ok || (op != filter.EQ && op != filter.NE) {
			return &FilterError{Msg: fmt.Sprintf("%s is a boolean: use eq or ne with true or false", e.AttributePath)}
		}
		if op == filter.EQ {
			fmt.Fprintf(&t.sql, "(%[1]s IS NOT NULL AND %[1]s = ?)", a.expr)
		} else {
			fmt.Fprintf(&t.sql, "(%[1]s IS NULL OR %[1]s <> ?)", a.expr)
		}
		t.args = append(t.args, b)
		return nil
	case kindID:
		s, err := stringValue(e)
		if err != nil {
			return err
		}
		switch op {
		case filter.EQ:
			if !ValidID(s) {
				t.sql.WriteString("1 = 0")
				return nil
			}
			fmt.Fprintf(&t.sql, "%s = ?", a.expr)
			t.args = append(t.args, s)
			return nil
		case filter.NE:
			if !ValidID(s) {
				t.sql.WriteString("1 = 1")
				return nil
			}
			fmt.Fprintf(&t.sql, "%s <> ?", a.expr)
			t.args = append(t.args, s)
			return nil
		}
		return t.stringOp(op, "CAST("+a.expr+" AS text)", strings.ToLower(s))
	default:
		s, err := stringValue(e)
		if err != nil {
			return err
		}
		if a.folded {
			s = Fold(s)
		}
		return t.stringOp(op, a.expr, s)
	}
}

func (t *translator) stringOp(op filter.CompareOperator, expr, s string) error {
	switch op {
	case filter.EQ:
		fmt.Fprintf(&t.sql, "(%[1]s IS NOT NULL AND %[1]s = ?)", expr)
	case filter.NE:
		fmt.Fprintf(&t.sql, "(%[1]s IS NULL OR %[1]s <> ?)", expr)
	case filter.CO:
		fmt.Fprintf(&t.sql, `(%[1]s IS NOT NULL AND %[1]s LIKE ? ESCAPE '\')`, expr)
		s = "%" + escapeLike(s) + "%"
	case filter.SW:
		fmt.Fprintf(&t.sql, `(%[1]s IS NOT NULL AND %[1]s LIKE ? ESCAPE '\')`, expr)
		s = escapeLike(s) + "%"
	case filter.EW:
		fmt.Fprintf(&t.sql, `(%[1]s IS NOT NULL AND %[1]s LIKE ? ESCAPE '\')`, expr)
		s = "%" + escapeLike(s)
	case filter.GT, filter.GE, filter.LT, filter.LE:
		fmt.Fprintf(&t.sql, "(%[1]s IS NOT NULL AND %[1]s %[2]s ?)", expr, sqlOps[op])
	default:
		return &FilterError{Msg: fmt.Sprintf("unknown operator %q", op)}
	}
	t.args = append(t.args, s)
	return nil
}

var sqlOps = map[filter.CompareOperator]string{
	filter.GT: ">", filter.GE: ">=", filter.LT: "<", filter.LE: "<=",
}

// escapeLike makes s match itself literally in LIKE ... ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// stringValue returns a comparison's string value with its JSON escapes
// decoded (the parser hands them over raw).
func stringValue(e *filter.AttributeExpression) (string, error) {
	raw, ok := e.CompareValue.(string)
	if !ok {
		return "", &FilterError{Msg: fmt.Sprintf("%s takes a string value", e.AttributePath)}
	}
	if !strings.Contains(raw, `\`) {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &s); err != nil {
		return "", &FilterError{Msg: fmt.Sprintf("bad escape in the value for %s", e.AttributePath)}
	}
	return s, nil
}

func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string: // Entra sends "True" and "False"
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}
