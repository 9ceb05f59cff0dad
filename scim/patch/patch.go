package patch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// PatchOpURN is the schema of a PATCH request body.
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// MaxPathLen bounds an attribute path (an operation's path, or a key of a
// path-less value), checked before it is parsed: the path parser's cost
// grows with the square of its input (a 1 MiB path took 7–25 s), and a
// member filter naming twenty ids fits well within it.
const MaxPathLen = 1024

// Op is one operation of a PATCH request (RFC 7644 §3.5.2).
type Op struct {
	Op    string // add, replace or remove, lower-cased
	Path  string // "" when the value names the attributes
	Value any
}

// Error is a request the engine refuses; every one is a 400 with a SCIM
// scimType (invalidSyntax, invalidPath, invalidValue, noTarget, mutability)
// and a detail that names the operation at fault.
type Error struct {
	ScimType string
	Detail   string
}

func (e *Error) Error() string { return e.Detail }

func errorf(scimType, format string, args ...any) *Error {
	return &Error{ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// Parse reads a PatchOp request body. Key names and op names match
// without regard to case, as Entra sends them; an empty Operations list is
// a valid request that changes nothing (the Microsoft validator sends one).
func Parse(body []byte) ([]Op, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var decoded any
	if err := dec.Decode(&decoded); err != nil {
		return nil, errorf("invalidSyntax", "the PATCH body is not valid JSON: %v", err)
	}
	req, ok := decoded.(map[string]any)
	if !ok {
		return nil, errorf("invalidSyntax", "the PATCH body must be a JSON object, a PatchOp request")
	}
	schemas, _ := lookup(req, "schemas").([]any)
	found := false
	for _, s := range schemas {
		found = found || s == PatchOpURN
	}
	if !found {
		return nil, errorf("invalidSyntax", `"schemas" must be [%q]`, PatchOpURN)
	}
	list, ok := lookup(req, "Operations").([]any)
	if !ok && lookup(req, "Operations") != nil {
		return nil, errorf("invalidSyntax", `"Operations" must be a list`)
	}
	ops := make([]Op, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, errorf("invalidSyntax", "Operations[%d] must be an object with op, path and value", i)
		}
		op, _ := lookup(m, "op").(string)
		op = strings.ToLower(op)
		if op != "add" && op != "replace" && op != "remove" {
			return nil, errorf("invalidSyntax", "Operations[%d].op must be add, replace or remove, not %.32q", i, op)
		}
		path, _ := lookup(m, "path").(string)
		ops = append(ops, Op{Op: op, Path: strings.TrimSpace(path), Value: lookup(m, "value")})
	}
	return ops, nil
}

// Target describes the resource a PATCH applies to.
type Target struct {
	Schema     schema.Schema
	Extensions []schema.Schema
	// Members names a multi-valued attribute kept outside the document
	// (a group's members, stored as rows): operations on it are returned
	// as MemberOps, never applied to the document.
	Members string
	// ID is the resource's id; a path-less value may carry it (Okta sends
	// the group's own id with a rename), and it is then ignored.
	ID string
}

// Options are where identity providers and RFC 7644 part ways; the
// compatibility profiles of a connector choose them.
type Options struct {
	// CreateMissing makes a replace whose value filter matches no element
	// create the element from the filter's equalities, as Entra expects
	// (it sets emails[type eq "work"].value on a user with no work email).
	// Off, such a replace is 400 noTarget, as RFC 7644 §3.5.2.3 says; an
	// add always creates the element, as adding means.
	CreateMissing bool
}

// MemberOp is an operation on the Members attribute, to run as a set
// operation in the database.
type MemberOp struct {
	Op  string   // add, replace or remove
	IDs []string // member ids (value)
	// All removes every member (remove with no filter and no value).
	All bool
}

// Apply applies ops, in order, to doc (a SCIM document: attributes by
// canonical name, extensions under their URN, externalId included) and
// returns the new document; doc is not changed. The result is validated
// by the caller against the schema as a whole.
func Apply(doc map[string]any, ops []Op, t Target, o Options) (map[string]any, []MemberOp, error) {
	out := deepCopy(doc).(map[string]any)
	e := engine{t: t, o: o, doc: out}
	for i, op := range ops {
		if err := e.apply(op); err != nil {
			if pe, ok := err.(*Error); ok {
				pe.Detail = fmt.Sprintf("Operations[%d] (%s %s): %s", i, op.Op, clip(op.Path), pe.Detail)
			}
			return nil, nil, err
		}
	}
	return out, e.members, nil
}

type engine struct {
	t       Target
	o       Options
	doc     map[string]any
	members []MemberOp
}

func (e *engine) apply(op Op) error {
	if op.Path == "" {
		if op.Op == "remove" {
			return errorf("noTarget", "remove needs a path")
		}
		values, ok := op.Value.(map[string]any)
		if !ok {
			return errorf("invalidValue", "without a path, the value must be an object of attribute paths and values")
		}
		// Each key is a path: "displayName", "name.givenName", a full
		// URN-qualified extension attribute, or an extension URN whose
		// value is an object of its attributes.
		for key, v := range values {
			if ext := e.extension(key); ext != nil {
				obj, ok := v.(map[string]any)
				if !ok {
					return errorf("invalidValue", "%s must hold an object of extension attributes", key)
				}
				for k, sv := range obj {
					if err := e.applyPath(op.Op, ext.ID+":"+k, sv); err != nil {
						return err
					}
				}
				continue
			}
			if strings.EqualFold(key, "id") {
				if s, _ := v.(string); s == e.t.ID {
					continue // Okta repeats the resource's own id
				}
			}
			if strings.EqualFold(key, "schemas") || strings.EqualFold(key, "meta") {
				continue // read-only, and harmless when echoed back
			}
			if err := e.applyPath(op.Op, key, v); err != nil {
				return err
			}
		}
		return nil
	}
	if ext := e.extension(op.Path); ext != nil {
		// The whole extension object.
		switch op.Op {
		case "remove":
			deleteKey(e.doc, ext.ID)
			return nil
		case "replace":
			deleteKey(e.doc, ext.ID)
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return errorf("invalidValue", "%s must hold an object of extension attributes", op.Path)
		}
		for k, v := range obj {
			if err := e.applyPath("add", ext.ID+":"+k, v); err != nil {
				return err
			}
		}
		return nil
	}
	return e.applyPath(op.Op, op.Path, op.Value)
}

func (e *engine) extension(name string) *schema.Schema {
	for i := range e.t.Extensions {
		if strings.EqualFold(e.t.Extensions[i].ID, name) {
			return &e.t.Extensions[i]
		}
	}
	return nil
}

// target is a path resolved against the schema.
type target struct {
	container []string // keys from the root to the object that holds attr: [] or [extension URN]
	attr      schema.CoreAttribute
	sub       *schema.CoreAttribute // attr.sub
	filter    filter.Expression     // attr[filter]
}

func (e *engine) resolve(raw string) (target, error) {
	if len(raw) > MaxPathLen {
		return target{}, errorf("invalidPath", "the path is %d bytes long; the limit is %d", len(raw), MaxPathLen)
	}
	p, err := filter.ParsePathNumber([]byte(raw))
	if err != nil {
		return target{}, errorf("invalidPath", "%q is not a valid attribute path (RFC 7644 §3.5.2)", raw)
	}
	var t target
	attrs := append(schema.Attributes{}, e.t.Schema.Attributes...)
	attrs = append(attrs, schema.CommonAttributes()...)
	ap := p.AttributePath
	if ap.URIPrefix != nil && !strings.EqualFold(*ap.URIPrefix, e.t.Schema.ID) {
		ext := e.extension(*ap.URIPrefix)
		if ext == nil {
			return t, errorf("invalidPath", "unknown schema %q", *ap.URIPrefix)
		}
		attrs, t.container = ext.Attributes, []string{ext.ID}
	}
	a, ok := attrs.ContainsAttribute(ap.AttributeName)
	if !ok {
		return t, errorf("invalidPath", "no attribute %q", ap.AttributeName)
	}
	t.attr = a
	subName := ap.SubAttribute
	if p.ValueExpression != nil {
		if !a.MultiValued() {
			return t, errorf("invalidPath", "%s is not multi-valued: it takes no [filter]", a.Name())
		}
		t.filter = p.ValueExpression
		subName = p.SubAttribute
	}
	if subName != nil {
		sub, ok := a.SubAttributes().ContainsAttribute(*subName)
		if !ok {
			return t, errorf("invalidPath", "%s has no sub-attribute %q", a.Name(), *subName)
		}
		t.sub = &sub
	}
	return t, nil
}

func (e *engine) applyPath(op, raw string, value any) error {
	t, err := e.resolve(raw)
	if err != nil {
		return err
	}
	if err := e.checkMutability(op, t); err != nil {
		return err
	}
	if strings.EqualFold(t.attr.Name(), e.t.Members) && len(t.container) == 0 {
		return e.memberOp(op, t, value)
	}
	obj := e.object(t.container, op != "remove")
	if obj == nil {
		return nil // removing from an extension that is not there
	}
	name := t.attr.Name()
	if value == nil || value == "" {
		// Entra clears with null or "": that is a remove (RFC 7643 §2.5).
		if op != "remove" && t.filter == nil {
			op = "remove"
		}
	}
	switch {
	case t.filter != nil:
		return e.applyFiltered(op, obj, t, value)
	case op == "remove" && t.sub != nil:
		if inner, ok := lookup(obj, name).(map[string]any); ok {
			deleteKey(inner, t.sub.Name())
			if len(inner) == 0 {
				deleteKey(obj, name)
			}
		}
		return nil
	case op == "remove":
		deleteKey(obj, name)
		return nil
	case t.sub != nil:
		if t.attr.MultiValued() {
			return errorf("invalidPath", "%s is multi-valued: name its elements with a filter, as %s[type eq \"work\"].%s", name, name, t.sub.Name())
		}
		v, err := coerce(*t.sub, value)
		if err != nil {
			return err
		}
		inner, _ := lookup(obj, name).(map[string]any)
		if inner == nil {
			inner = map[string]any{}
		}
		setKey(inner, t.sub.Name(), v)
		setKey(obj, name, inner)
		return nil
	case t.attr.MultiValued():
		v, err := coerce(t.attr, value)
		if err != nil {
			return err
		}
		list := v.([]any)
		if op == "add" {
			// Add appends what is not there yet (RFC 7644 §3.5.2.1); a
			// new primary value takes the flag from the others.
			cur, _ := lookup(obj, name).([]any)
			if anyPrimary(list) {
				clearPrimary(cur, nil)
			}
			for _, item := range list {
				if !containsValue(cur, item) {
					cur = append(cur, item)
				}
			}
			list = cur
		}
		setKey(obj, name, list)
		return nil
	default:
		v, err := coerce(t.attr, value)
		if err != nil {
			return err
		}
		if m, ok := v.(map[string]any); ok {
			// A complex value merges sub-attribute by sub-attribute, for
			// add and replace alike (RFC 7644 §3.5.2.1, §3.5.2.3).
			if cur, ok := lookup(obj, name).(map[string]any); ok {
				for k, sv := range m {
					cur[k] = sv
				}
				v = cur
			}
		}
		setKey(obj, name, v)
		return nil
	}
}

// applyFiltered applies an operation to the elements of a multi-valued
// attribute that a value filter selects.
func (e *engine) applyFiltered(op string, obj map[string]any, t target, value any) error {
	name := t.attr.Name()
	list, _ := lookup(obj, name).([]any)
	var touched []map[string]any // the elements the operation changed
	kept := list[:0:0]
	for _, item := range list {
		el, ok := item.(map[string]any)
		if !ok || !matches(t.filter, el, t.attr) {
			kept = append(kept, item)
			continue
		}
		touched = append(touched, el)
		switch {
		case op == "remove" && t.sub == nil:
			continue // drop the element
		case op == "remove":
			deleteKey(el, t.sub.Name())
		case t.sub != nil:
			v, err := coerce(*t.sub, value)
			if err != nil {
				return err
			}
			if v == nil {
				deleteKey(el, t.sub.Name())
			} else {
				setKey(el, t.sub.Name(), v)
			}
		default:
			v, err := coerceElement(t.attr, value)
			if err != nil {
				return err
			}
			for k, sv := range v {
				el[k] = sv
			}
		}
		kept = append(kept, el)
	}
	if len(touched) == 0 && op != "remove" {
		if op == "replace" && !e.o.CreateMissing {
			return errorf("noTarget", "no element of %s matches the filter (RFC 7644 §3.5.2.3); add creates one", name)
		}
		// Create the element the filter describes.
		el := seed(t.filter, t.attr)
		if t.sub != nil {
			v, err := coerce(*t.sub, value)
			if err != nil {
				return err
			}
			setKey(el, t.sub.Name(), v)
		} else {
			v, err := coerceElement(t.attr, value)
			if err != nil {
				return err
			}
			for k, sv := range v {
				el[k] = sv
			}
		}
		kept = append(kept, el)
		touched = append(touched, el)
	}
	if op != "remove" && anyPrimary(touched) {
		// Setting a primary value clears the others (RFC 7644 §3.5.2).
		clearPrimary(kept, touched)
	}
	if len(kept) == 0 {
		deleteKey(obj, name)
	} else {
		setKey(obj, name, kept)
	}
	return nil
}

// memberOp turns an operation on members into a set operation.
func (e *engine) memberOp(op string, t target, value any) error {
	if t.sub != nil && !strings.EqualFold(t.sub.Name(), "value") {
		return errorf("invalidPath", "members supports only members, members[value eq \"id\"] and members.value")
	}
	if t.filter != nil {
		if op != "remove" {
			return errorf("invalidPath", "add or replace members with a list of {\"value\": id}, not a filter")
		}
		ids, ok := memberFilterIDs(t.filter)
		if !ok {
			return errorf("invalidFilter", "remove members by value: members[value eq \"id\"] (or ... or ...)")
		}
		e.members = append(e.members, MemberOp{Op: "remove", IDs: ids})
		return nil
	}
	ids, err := memberIDs(value)
	if err != nil {
		return err
	}
	if op == "remove" && value == nil {
		e.members = append(e.members, MemberOp{Op: "remove", All: true})
		return nil
	}
	// Entra and JumpCloud remove with a value list: only those members,
	// never all of them.
	e.members = append(e.members, MemberOp{Op: op, IDs: ids})
	return nil
}

// memberIDs reads members values: a list of {"value": id} (with
// $ref, display or type beside it), one such object, or a bare id string.
func memberIDs(value any) ([]string, error) {
	var items []any
	switch v := value.(type) {
	case nil:
		return nil, nil
	case []any:
		items = v
	default:
		items = []any{v}
	}
	ids := make([]string, 0, len(items))
	for i, item := range items {
		switch m := item.(type) {
		case string:
			ids = append(ids, m)
		case map[string]any:
			id, _ := lookup(m, "value").(string)
			if id == "" {
				return nil, errorf("invalidValue", "members value %d has no \"value\" (the member's id)", i)
			}
			ids = append(ids, id)
		default:
			return nil, errorf("invalidValue", "members value %d must be {\"value\": id}", i)
		}
	}
	return ids, nil
}

// memberFilterIDs reads value eq "id" joined by or.
func memberFilterIDs(f filter.Expression) ([]string, bool) {
	switch f := f.(type) {
	case *filter.AttributeExpression:
		id, ok := f.CompareValue.(string)
		return []string{id}, ok && f.Operator == filter.EQ && strings.EqualFold(f.AttributePath.AttributeName, "value")
	case *filter.LogicalExpression:
		if f.Operator != filter.OR {
			return nil, false
		}
		l, okL := memberFilterIDs(f.Left)
		r, okR := memberFilterIDs(f.Right)
		return append(l, r...), okL && okR
	}
	return nil, false
}

// checkMutability refuses changes to readOnly attributes, and replacing
// or removing immutable ones (RFC 7643 §2.2).
func (e *engine) checkMutability(op string, t target) error {
	a := t.attr
	if t.sub != nil && t.sub.Mutability() == "readOnly" {
		a = *t.sub
	}
	switch a.Mutability() {
	case "readOnly":
		return errorf("mutability", "%s is read-only", a.Name())
	case "immutable":
		if strings.EqualFold(t.attr.Name(), e.t.Members) {
			return nil // members' sub-attributes are immutable; members is not
		}
		if op != "add" || e.object(t.container, false)[a.Name()] != nil {
			return errorf("mutability", "%s is immutable: it can be set once, not changed", a.Name())
		}
	}
	return nil
}

// object returns the object at keys below the document root, creating it
// when create is set (nil otherwise, when missing).
func (e *engine) object(keys []string, create bool) map[string]any {
	obj := e.doc
	for _, k := range keys {
		next, ok := lookup(obj, k).(map[string]any)
		if !ok {
			if !create {
				return nil
			}
			next = map[string]any{}
			setKey(obj, k, next)
		}
		obj = next
	}
	return obj
}

// lookup finds a key without regard to case.
func lookup(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// setKey sets key, replacing a key that differs only in case.
func setKey(m map[string]any, key string, v any) {
	deleteKey(m, key)
	m[key] = v
}

func deleteKey(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}

// clip shortens what a client sent for an error detail.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
