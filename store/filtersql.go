package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"
)

// FilterError is a filter the store cannot evaluate: an unknown attribute,
// or an operator or value that does not fit the attribute's type. Its
// message is meant for the client.
type FilterError struct {
	Msg string
}

func (e *FilterError) Error() string { return e.Msg }

func filterErr(format string, args ...any) error {
	return &FilterError{Msg: fmt.Sprintf(format, args...)}
}

// resource describes how one resource type is stored, for the translator.
type resource struct {
	name  string // "User" or "Group"
	alias string // the table alias of the row: u or g
	reg   registry
	// columns are attributes kept in columns of their own, by lower-cased
	// name; they win over the JSON document.
	columns map[string]column
}

// column is where a comparison reads an attribute: a real column, or a
// JSON expression.
type column struct {
	expr   string
	typ    string // as in attr.typ, plus "id"
	folded bool   // holds Fold()ed values: compare with the folded value
	json   bool   // expr reads the JSON document
}

var (
	usersTable = resource{name: "User", alias: "u", reg: userRegistry, columns: map[string]column{
		"id":                {expr: "u.id", typ: "id"},
		"externalid":        {expr: "x.value", typ: "string"},
		"username":          {expr: "u.user_name_folded", typ: "string", folded: true},
		"displayname":       {expr: "u.display_name_folded", typ: "string", folded: true},
		"active":            {expr: "u.active", typ: "boolean"},
		"meta.created":      {expr: "u.created_at", typ: "dateTime"},
		"meta.lastmodified": {expr: "u.updated_at", typ: "dateTime"},
	}}
	groupsTable = resource{name: "Group", alias: "g", reg: groupRegistry, columns: map[string]column{
		"id":                {expr: "g.id", typ: "id"},
		"externalid":        {expr: "x.value", typ: "string"},
		"displayname":       {expr: "g.display_name_folded", typ: "string", folded: true},
		"meta.created":      {expr: "g.created_at", typ: "dateTime"},
		"meta.lastmodified": {expr: "g.updated_at", typ: "dateTime"},
	}}
)

// coreURNs are the core schema prefixes a client may put before a core
// attribute name.
var coreURNs = map[string]bool{
	"urn:ietf:params:scim:schemas:core:2.0:user":  true,
	"urn:ietf:params:scim:schemas:core:2.0:group": true,
}

// translator turns a filter AST into a WHERE fragment with ? placeholders.
// Only trusted SQL (column names, JSON paths from the registry) is ever
// written into the text; every value travels as an argument.
type translator struct {
	d    Dialect
	res  resource
	sql  strings.Builder
	args []any
	// lenient treats attributes the resource type lacks as absent, for
	// queries that span resource types (Query.Lenient).
	lenient bool
	// now is the time an "active" comparison reads access windows at.
	now time.Time
}

// absent writes how a comparison with op comes out on an attribute that
// has no value: only "not equal" holds.
func (t *translator) absent(op filter.CompareOperator) error {
	if op == filter.NE {
		t.write("(1 = 1)")
	} else {
		t.write("(1 = 0)")
	}
	return nil
}

// translate turns q.Filter into a WHERE fragment.
func (r reader) translate(res resource, q Query) (string, []any, error) {
	if q.Filter == nil {
		return "", nil, nil
	}
	t := translator{d: r.dialect, res: res, lenient: q.Lenient, now: q.Now}
	if t.now.IsZero() {
		t.now = now()
	}
	if err := t.expr(q.Filter); err != nil {
		return "", nil, err
	}
	return t.sql.String(), t.args, nil
}

func (t *translator) write(format string, args ...any) { fmt.Fprintf(&t.sql, format, args...) }

func (t *translator) arg(v any) { t.args = append(t.args, v) }

func (t *translator) expr(e filter.Expression) error {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		t.write("(")
		if err := t.expr(e.Left); err != nil {
			return err
		}
		if e.Operator == filter.OR {
			t.write(" OR ")
		} else {
			t.write(" AND ")
		}
		if err := t.expr(e.Right); err != nil {
			return err
		}
		t.write(")")
		return nil
	case *filter.NotExpression:
		t.write("NOT (")
		if err := t.expr(e.Expression); err != nil {
			return err
		}
		t.write(")")
		return nil
	case *filter.AttributeExpression:
		return t.attrExpr(e)
	case *filter.ValuePath:
		return t.valuePath(e)
	}
	return filterErr("unsupported filter expression %T", e)
}

// name is the registry key of a path: lower case, without the core URN.
func name(p filter.AttributePath) (top, full string) {
	top = strings.ToLower(p.AttributeName)
	if p.URIPrefix != nil && !coreURNs[strings.ToLower(*p.URIPrefix)] {
		top = strings.ToLower(*p.URIPrefix) + ":" + top
	}
	full = top
	if p.SubAttribute != nil {
		full += "." + strings.ToLower(*p.SubAttribute)
	}
	return top, full
}

func (t *translator) attrExpr(e *filter.AttributeExpression) error {
	p := e.AttributePath
	top, full := name(p)
	if col, ok := t.res.columns[full]; ok {
		return t.compare(e, col, false)
	}
	if m, ok := t.membership(top); ok && (p.SubAttribute == nil || strings.EqualFold(*p.SubAttribute, "value")) {
		return t.member(m, e)
	}
	a := t.res.reg[top]
	if a == nil || a.never {
		if t.lenient && a == nil {
			return t.absent(e.Operator)
		}
		return filterErr("cannot filter on %q: no such %s attribute", p.String(), t.res.name)
	}
	if a.multi {
		// emails.value co "x", emails co "x": any element (RFC 7644 §3.4.2.2).
		inner := *e
		inner.AttributePath = filter.AttributePath{AttributeName: "value"}
		if p.SubAttribute != nil {
			inner.AttributePath.AttributeName = *p.SubAttribute
		}
		if e.Operator == filter.PR && p.SubAttribute == nil {
			return t.elements(a, nil)
		}
		return t.elements(a, &inner)
	}
	if p.SubAttribute != nil {
		sub := a.sub(*p.SubAttribute)
		if sub == nil {
			return filterErr("cannot filter on %q: %s has no sub-attribute %q", p.String(), a.name, *p.SubAttribute)
		}
		a = sub
	}
	if a.typ == "complex" {
		if e.Operator != filter.PR {
			return filterErr("%s is complex: filter on one of its sub-attributes, or use pr", p.String())
		}
		t.write("(%s IS NOT NULL)", t.jsonNode(t.res.alias+".attrs", a.path))
		return nil
	}
	return t.compare(e, column{expr: t.jsonScalar(t.res.alias+".attrs", a.path, a.typ), typ: a.typ, json: true}, !a.caseExact)
}

// valuePath translates attr[filter] (RFC 7644 §3.4.2.2): some element of a
// multi-valued attribute matches the inner filter.
func (t *translator) valuePath(vp *filter.ValuePath) error {
	top, _ := name(vp.AttributePath)
	if vp.AttributePath.SubAttribute != nil {
		return filterErr("%s[...] cannot follow a sub-attribute", vp.AttributePath.String())
	}
	if m, ok := t.membership(top); ok {
		inner, ok := vp.ValueFilter.(*filter.AttributeExpression)
		if !ok || !strings.EqualFold(inner.AttributePath.AttributeName, "value") || inner.AttributePath.SubAttribute != nil {
			return filterErr("%s[...] supports only value eq, ne or pr", vp.AttributePath.AttributeName)
		}
		return t.member(m, inner)
	}
	a := t.res.reg[top]
	if a == nil && t.lenient {
		return t.absent(filter.EQ)
	}
	if a == nil || a.never || !a.multi || a.subs == nil {
		return filterErr("cannot filter on %s[...]: it is not a multi-valued complex %s attribute", vp.AttributePath.String(), t.res.name)
	}
	return t.elements(a, vp.ValueFilter)
}

// elements writes "some element of the multi-valued attribute a matches
// inner" (or "a has an element", for a nil inner).
func (t *translator) elements(a *attr, inner filter.Expression) error {
	doc := t.res.alias + ".attrs"
	if hint := t.emailHint(a, inner); hint != "" {
		t.write("(%s AND ", hint)
		defer t.write(")")
	}
	var elem string
	switch t.d {
	case Postgres:
		node := t.jsonNode(doc, a.path)
		t.write("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(%[1]s) WHEN 'array' THEN %[1]s ELSE '[]'::jsonb END) AS e(v)", node)
		elem = "e.v"
	default:
		t.write("EXISTS (SELECT 1 FROM json_each(%s, '%s') AS e", doc, jsonPath(a.path))
		elem = "e.value"
	}
	if inner == nil {
		t.write(")")
		return nil
	}
	t.write(" WHERE ")
	sub := &translator{d: t.d, res: resource{name: a.name, reg: registry{}, columns: map[string]column{}}}
	if a.subs == nil {
		// A multi-valued simple attribute: each element is the value.
		sub.res.columns["value"] = column{expr: t.elementScalar(elem, nil, a.typ), typ: a.typ, json: true}
		sub.res.reg["value"] = a
	} else {
		for k, s := range a.subs {
			sub.res.columns[k] = column{expr: t.elementScalar(elem, []string{s.name}, s.typ), typ: s.typ, json: true}
			sub.res.reg[k] = s
		}
	}
	if err := sub.elementExpr(inner); err != nil {
		return err
	}
	t.sql.WriteString(sub.sql.String())
	t.args = append(t.args, sub.args...)
	t.write(")")
	return nil
}

// elementExpr translates the filter inside attr[...], where names are the
// element's sub-attributes.
func (t *translator) elementExpr(e filter.Expression) error {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		p := e.AttributePath
		if p.SubAttribute != nil || p.URIPrefix != nil {
			return filterErr("inside %s[...] name sub-attributes only, not %q", t.res.name, p.String())
		}
		key := strings.ToLower(p.AttributeName)
		col, ok := t.res.columns[key]
		if !ok {
			return filterErr("cannot filter on %s.%s: no such sub-attribute", t.res.name, p.AttributeName)
		}
		return t.compare(e, col, !t.res.reg[key].caseExact)
	case *filter.LogicalExpression:
		t.write("(")
		if err := t.elementExpr(e.Left); err != nil {
			return err
		}
		if e.Operator == filter.OR {
			t.write(" OR ")
		} else {
			t.write(" AND ")
		}
		if err := t.elementExpr(e.Right); err != nil {
			return err
		}
		t.write(")")
		return nil
	case *filter.NotExpression:
		t.write("NOT (")
		if err := t.elementExpr(e.Expression); err != nil {
			return err
		}
		t.write(")")
		return nil
	}
	return filterErr("%s[...] cannot nest another value filter", t.res.name)
}

// emailHint returns, on PostgreSQL, an index-backed condition implied by a
// filter on users' emails that includes value eq "x": the GIN index on
// scimd_email_values narrows the rows, the EXISTS after it decides.
func (t *translator) emailHint(a *attr, inner filter.Expression) string {
	if t.d != Postgres || t.res.name != "User" || a.name != "emails" {
		return ""
	}
	for _, e := range conjuncts(inner) {
		ae, ok := e.(*filter.AttributeExpression)
		if !ok || ae.Operator != filter.EQ || !strings.EqualFold(ae.AttributePath.AttributeName, "value") || ae.AttributePath.SubAttribute != nil {
			continue
		}
		if s, err := stringValue(ae); err == nil {
			t.arg(Fold(s))
			return "scimd_email_values(u.attrs) @> ARRAY[?]"
		}
	}
	return ""
}

func conjuncts(e filter.Expression) []filter.Expression {
	if l, ok := e.(*filter.LogicalExpression); ok && l.Operator == filter.AND {
		return append(conjuncts(l.Left), conjuncts(l.Right)...)
	}
	if e == nil {
		return nil
	}
	return []filter.Expression{e}
}

// membership is the SQL behind a user's groups or a group's members, one
// part per kind of member: a row has members at all (any), or holds the
// member with a given id (holds: rows whose pk is in the subquery, so that
// PostgreSQL starts from the member's id and the membership indexes, not
// from every row of the tenant).
type membership struct {
	alias string
	any   []string
	holds []string
}

func (t *translator) membership(top string) (membership, bool) {
	switch {
	case t.res.name == "User" && top == "groups":
		return membership{
			alias: "u",
			any:   []string{"EXISTS (SELECT 1 FROM group_users AS m WHERE m.user_pk = u.pk)"},
			holds: []string{"SELECT m.user_pk FROM group_users AS m JOIN groups AS mg ON mg.pk = m.group_pk WHERE mg.id = ?"},
		}, true
	case t.res.name == "Group" && top == "members":
		return membership{
			alias: "g",
			any: []string{
				"EXISTS (SELECT 1 FROM group_users AS m WHERE m.group_pk = g.pk)",
				"EXISTS (SELECT 1 FROM group_groups AS m WHERE m.group_pk = g.pk)",
			},
			holds: []string{
				"SELECT m.group_pk FROM group_users AS m JOIN users AS mu ON mu.pk = m.user_pk WHERE mu.id = ?",
				"SELECT m.group_pk FROM group_groups AS m JOIN groups AS mg ON mg.pk = m.member_pk WHERE mg.id = ?",
			},
		}, true
	}
	return membership{}, false
}

// member translates value eq, ne or pr on a membership: rows, never JSON.
func (t *translator) member(m membership, e *filter.AttributeExpression) error {
	switch e.Operator {
	case filter.PR:
		t.write("(%s)", strings.Join(m.any, " OR "))
		return nil
	case filter.EQ, filter.NE:
		id, err := stringValue(e)
		if err != nil {
			return err
		}
		if e.Operator == filter.NE {
			t.write("NOT ")
		}
		if !ValidID(id) {
			t.write("(1 = 0)")
			return nil
		}
		t.write("(%s.pk IN (%s))", m.alias, strings.Join(m.holds, " UNION ALL "))
		for range m.holds {
			t.arg(id)
		}
		return nil
	}
	return filterErr("%s supports only eq, ne and pr", e.AttributePath.String())
}

// compare writes one comparison of c with e's value. Each is two-valued,
// so NOT of a comparison on a missing value is TRUE, as RFC 7644 readers
// expect, not SQL's NULL; and each stays sargable: "(e IS NOT NULL AND
// e = ?)" uses e's index where "COALESCE(e = ?, FALSE)" would not. fold
// compares strings case-insensitively.
func (t *translator) compare(e *filter.AttributeExpression, c column, fold bool) error {
	op, expr := e.Operator, c.expr
	if op == filter.PR || e.CompareValue == nil && (op == filter.EQ || op == filter.NE) {
		// pr, and "eq null" / "ne null" (absent / present).
		present := fmt.Sprintf("(%s IS NOT NULL)", expr)
		if c.typ == "string" || c.typ == "reference" || c.typ == "binary" {
			present = fmt.Sprintf("(%[1]s IS NOT NULL AND %[1]s <> '')", expr)
		}
		if op == filter.EQ {
			present = "NOT " + present
		}
		t.write("%s", present)
		return nil
	}
	var value any
	switch c.typ {
	case "boolean":
		b, ok := boolValue(e.CompareValue)
		if !ok || (op != filter.EQ && op != filter.NE) {
			return filterErr("%s is a boolean: compare it with eq or ne and true or false", e.AttributePath.String())
		}
		if expr == "u.active" {
			t.activeSQL(b == (op == filter.EQ))
			return nil
		}
		value = b
	case "integer", "decimal":
		n, ok := numberValue(e.CompareValue)
		if !ok || op == filter.CO || op == filter.SW || op == filter.EW {
			return filterErr("%s is a number: compare it with eq, ne, gt, ge, lt or le and a number", e.AttributePath.String())
		}
		value = n
	case "dateTime":
		s, err := stringValue(e)
		if err != nil {
			return err
		}
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || op == filter.CO || op == filter.SW || op == filter.EW {
			return filterErr("%s is a dateTime: compare it with eq, ne, gt, ge, lt or le and a value such as \"2026-01-31T12:00:00Z\"", e.AttributePath.String())
		}
		at = at.UTC()
		switch {
		case t.d == Postgres:
			value = at
		case c.json:
			// SQLite holds the client's text, in any offset: compare instants.
			expr, value = "julianday("+expr+")", at.Format(time.RFC3339Nano)
		default:
			// bun keeps SQLite times as UTC text whose byte order is time
			// order, so comparing text keeps the column's index in use.
			value = at.Format("2006-01-02 15:04:05.999999-07:00")
		}
	case "id":
		s, err := stringValue(e)
		if err != nil {
			return err
		}
		if op == filter.EQ || op == filter.NE {
			if !ValidID(s) {
				// An id that is no UUID names nothing.
				if op == filter.EQ {
					t.write("(1 = 0)")
				} else {
					t.write("(1 = 1)")
				}
				return nil
			}
			value = s
			break
		}
		expr, value = "CAST("+expr+" AS text)", strings.ToLower(s)
	default: // string, reference, binary
		s, err := stringValue(e)
		if err != nil {
			return err
		}
		if fold || c.folded {
			s = Fold(s)
		}
		if fold && !c.folded {
			expr = t.fold(expr)
		}
		value = s
	}
	return t.op(op, expr, c.typ, value)
}

// activeSQL writes the condition of [User.ActiveAt] at t.now, or with
// want false its negation: SCIM's active is computed, so that disabled,
// pending and out-of-window users are "active eq false" too.
func (t *translator) activeSQL(want bool) {
	var at any = t.now.UTC()
	if t.d == SQLite {
		at = t.now.UTC().Format("2006-01-02 15:04:05.999999-07:00")
	}
	not := ""
	if !want {
		not = "NOT "
	}
	t.write("%s(u.active AND u.status = 'active' AND (u.access_start IS NULL OR u.access_start <= ?) AND (u.access_end IS NULL OR u.access_end > ?))", not)
	t.arg(at)
	t.arg(at)
}

// op writes expr OP ? with value as the argument.
func (t *translator) op(op filter.CompareOperator, expr, typ string, value any) error {
	placeholder := "?"
	if strings.HasPrefix(expr, "julianday(") {
		placeholder = "julianday(?)"
	}
	stringy := typ != "boolean" && typ != "integer" && typ != "decimal" && typ != "dateTime"
	switch op {
	case filter.EQ:
		t.write("(%[1]s IS NOT NULL AND %[1]s = %[2]s)", expr, placeholder)
	case filter.NE:
		t.write("(%[1]s IS NULL OR %[1]s <> %[2]s)", expr, placeholder)
	case filter.CO, filter.SW, filter.EW:
		s := escapeLike(value.(string))
		switch op {
		case filter.CO:
			s = "%" + s + "%"
		case filter.SW:
			s += "%"
		case filter.EW:
			s = "%" + s
		}
		t.write(`(%[1]s IS NOT NULL AND %[1]s LIKE ? ESCAPE '\')`, expr)
		value = s
	case filter.GT, filter.GE, filter.LT, filter.LE:
		if stringy && t.d == Postgres {
			// Byte order, as SQLite compares, not the database locale's.
			expr += ` COLLATE "C"`
		}
		t.write("(%[1]s IS NOT NULL AND %[1]s %[2]s %[3]s)", expr, sqlOps[op], placeholder)
	default:
		return filterErr("unknown operator %q", op)
	}
	t.arg(value)
	return nil
}

var sqlOps = map[filter.CompareOperator]string{
	filter.GT: ">", filter.GE: ">=", filter.LT: "<", filter.LE: "<=",
}

// fold is the dialect's case folding of an SQL expression, matching [Fold].
func (t *translator) fold(expr string) string {
	if t.d == SQLite {
		return "scimd_fold(" + expr + ")"
	}
	return "lower(" + expr + ")"
}

// jsonNode is the JSON value at path in doc (PostgreSQL jsonb; SQLite JSON
// text), for presence tests.
func (t *translator) jsonNode(doc string, path []string) string {
	if t.d == SQLite {
		return fmt.Sprintf("json_extract(%s, '%s')", doc, jsonPath(path))
	}
	var b strings.Builder
	b.WriteString(doc)
	for _, k := range path {
		fmt.Fprintf(&b, "->'%s'", k)
	}
	return b.String()
}

// jsonScalar is the scalar at path in a resource's document, as SQL of the
// attribute's type.
func (t *translator) jsonScalar(doc string, path []string, typ string) string {
	if t.d == SQLite {
		return fmt.Sprintf("json_extract(%s, '%s')", doc, jsonPath(path))
	}
	var b strings.Builder
	b.WriteString(doc)
	for i, k := range path {
		if i == len(path)-1 {
			fmt.Fprintf(&b, "->>'%s'", k)
		} else {
			fmt.Fprintf(&b, "->'%s'", k)
		}
	}
	return pgCast(b.String(), typ)
}

// elementScalar is the scalar at path in one element of an array.
func (t *translator) elementScalar(elem string, path []string, typ string) string {
	if t.d == SQLite {
		if len(path) == 0 {
			return elem
		}
		return fmt.Sprintf("json_extract(%s, '%s')", elem, jsonPath(path))
	}
	if len(path) == 0 {
		return pgCast("("+elem+" #>> '{}')", typ)
	}
	return t.jsonScalar(elem, path, typ)
}

func pgCast(text, typ string) string {
	switch typ {
	case "boolean":
		return "(" + text + ")::boolean"
	case "integer", "decimal":
		return "(" + text + ")::numeric"
	case "dateTime":
		return "(" + text + ")::timestamptz"
	}
	return "(" + text + ")"
}

// jsonPath is an SQLite JSON path with every key quoted: URNs hold dots
// and colons.
func jsonPath(path []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, k := range path {
		b.WriteString(`."` + k + `"`)
	}
	return b.String()
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
		return "", filterErr("%s takes a string value in quotes", e.AttributePath.String())
	}
	if !strings.Contains(raw, `\`) {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &s); err != nil {
		return "", filterErr("bad escape in the value for %s", e.AttributePath.String())
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

func numberValue(v any) (any, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case int:
		return v, true
	case float64:
		return v, true
	}
	return nil, false
}
