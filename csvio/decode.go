package csvio

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
)

// RowError is a cell that cannot load: its line, its column (1-based) and
// the field the column fills ("" for a column kept under its header).
type RowError struct {
	Line, Column int
	// Header is the column's header, as the file writes it.
	Header string
	Field  string
	Msg    string
}

func (e *RowError) Error() string {
	switch {
	case e.Column == 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Header == "":
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d (%s): %s", e.Line, e.Column, e.Header, e.Msg)
}

// RowErrors are every error of one row, in column order.
type RowErrors []*RowError

func (es RowErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Unwrap lets errors.As find each.
func (es RowErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Limits of the 001 and 002 seeds' fields, in characters.
const (
	maxName       = 50
	maxEmail      = 255
	maxUserName   = 100
	maxExternalID = 255
	maxRole       = 100
	maxText       = 4096
)

var (
	prefixes = []string{"Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Assoc. Prof.", "Asst. Prof."}
	genders  = []string{"F", "M", "NB", "U"}
	statuses = []string{store.StatusActive, store.StatusDisabled, store.StatusPending}
	// formulaLead are the first characters that make a spreadsheet
	// read a cell as a formula (see Guard).
	formulaLead = "=+-@\t\r\x00"
)

// Null is the cell that clears a stored value when empty cells keep it.
const Null = "NULL"

// cellState is what a cell says: nothing (keep), clear, or a value.
type cellState int

const (
	keep cellState = iota
	clear
	set
)

// rowDecoder decodes one row; its errors collect per cell.
type rowDecoder struct {
	b    *binding
	rec  []string
	line int
	errs RowErrors
}

// cell returns field's cell, trimmed, with an export's guard (see Guard)
// taken off.
func (d *rowDecoder) cell(field string) (string, cellState) {
	i, ok := d.b.columns[field]
	if !ok {
		return "", keep
	}
	return d.at(i)
}

func (d *rowDecoder) at(i int) (string, cellState) {
	v := strings.TrimSpace(d.rec[i])
	switch {
	case strings.EqualFold(v, Null): // 'NULL is the value NULL
		return "", clear
	case v == "" && d.b.layout.clear:
		return "", clear
	case v == "":
		return "", keep
	}
	return unguard(v), set
}

// unguard takes off the ' that Guard puts before a cell, and only that:
// unguard(Guard(v)) is v for every v.
func unguard(v string) string {
	if len(v) > 1 && v[0] == '\'' && guarded(v[1:]) {
		return v[1:]
	}
	return v
}

func (d *rowDecoder) fail(field, format string, args ...any) {
	h, col := d.b.headerOf(field)
	d.errs = append(d.errs, &RowError{Line: d.line, Column: col, Header: h, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// text returns field's value, at most max characters.
func (d *rowDecoder) text(field string, max int) (string, cellState) {
	v, st := d.cell(field)
	if st == set && utf8.RuneCountInString(v) > max {
		d.fail(field, "%d characters, more than the %d allowed", utf8.RuneCountInString(v), max)
		return "", keep
	}
	return v, st
}

func (d *rowDecoder) email(field string) (string, cellState) {
	v, st := d.text(field, maxEmail)
	if st != set {
		return v, st
	}
	if !reconcile.ValidEmail(v) {
		d.fail(field, "%q is not an email address (name@example.com)", v)
		return "", keep
	}
	return v, st
}

func (d *rowDecoder) boolean(field string) (bool, cellState) {
	v, st := d.cell(field)
	if st != set {
		return false, st
	}
	switch strings.ToLower(v) {
	case "true", "yes", "y", "1", "on":
		return true, set
	case "false", "no", "n", "0", "off":
		return false, set
	}
	d.fail(field, "%q is neither true nor false", v)
	return false, keep
}

func (d *rowDecoder) year(field string) (int, cellState) {
	v, st := d.cell(field)
	if st != set {
		return 0, st
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 1900 || y > 2200 {
		d.fail(field, "%q is not a year (e.g. 2027)", v)
		return 0, keep
	}
	return y, set
}

// timeFormats are the access window's accepted forms besides Unix time
// (000 seed: 1512086400 or 2017-12-01 12:35), read as UTC.
var timeFormats = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02", time.RFC3339}

func (d *rowDecoder) when(field string) *time.Time {
	v, st := d.cell(field)
	switch st {
	case keep:
		return nil
	case clear:
		return &time.Time{}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<40 {
		t := time.Unix(n, 0).UTC()
		return &t
	}
	for _, f := range timeFormats {
		if t, err := time.Parse(f, v); err == nil {
			t = t.UTC()
			return &t
		}
	}
	d.fail(field, "%q is not a time: write Unix time (1512086400) or 2017-12-01 12:35 (UTC)", v)
	return nil
}

// list splits a |-separated cell; nil keeps, an empty list clears.
func (d *rowDecoder) list(field string) []string {
	v, st := d.cell(field)
	switch st {
	case keep:
		return nil
	case clear:
		return []string{}
	}
	out := []string{}
	for s := range strings.SplitSeq(v, "|") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// composite builds one multi-part attribute (name, an email list, an
// address) from several columns: absent when every part keeps, else the
// parts stated (a cleared part nil); a list with no value left is nil.
type composite struct {
	parts  map[string]any
	values int
}

func (c *composite) put(key, v string, st cellState) {
	if st == keep {
		return
	}
	if c.parts == nil {
		c.parts = map[string]any{}
	}
	if st == clear {
		c.parts[key] = nil
		return
	}
	c.parts[key] = v
	c.values++
}

func (c *composite) into(attrs map[string]any, key string, build func(parts map[string]any) any) {
	if c.parts != nil {
		attrs[key] = build(c.parts)
	}
}

// decode turns one record into the load's row.
func (b *binding) decode(p store.Principal, rec []string, line int) reconcile.LoadRow {
	d := &rowDecoder{b: b, rec: rec, line: line}
	in := reconcile.Input{Source: reconcile.SourceCSV, Principal: p, Kind: reconcile.KindUser, Op: reconcile.Upsert, Attrs: map[string]any{}}
	attrs := in.Attrs

	switch v, st := d.cell("transaction"); {
	case st != set:
	case strings.EqualFold(v, "DELETE"):
		in.Op = reconcile.Delete
	default:
		d.fail("transaction", "%q: write DELETE to remove the user, or leave it empty to add or update them", v)
	}
	if v, st := d.cell("tenant"); st == set && !strings.EqualFold(v, p.TenantName) {
		d.fail("tenant", "this file is loaded into tenant %q, not %q: remove the row, or load it into its own tenant", p.TenantName, v)
	}

	userName, unSt := d.text("userName", maxUserName)
	if unSt == clear {
		d.fail("userName", "a user must have a userName: it cannot be cleared")
	}
	email, emSt := d.email("email")
	if emSt == clear {
		d.fail("email", "a user must have an email: it cannot be cleared")
	}
	if _, has := b.columns["userName"]; !has && emSt == set {
		userName, unSt = email, set // 003 seed: the email is the login
	}
	if unSt == set {
		attrs["userName"] = userName
	}
	if v, st := d.text("externalId", maxExternalID); st == set {
		in.ExternalID = v
	} else if st == clear {
		d.fail("externalId", "an external ID cannot be cleared by a file: it is the connector's key for the user")
	}

	var name composite
	for _, f := range []struct{ field, key string }{{"firstName", "givenName"}, {"lastName", "familyName"}} {
		v, st := d.text(f.field, maxName)
		name.put(f.key, v, st)
	}
	if v, st := d.cell("prefix"); st == set && !slices.Contains(prefixes, v) {
		d.fail("prefix", "%q is not a prefix: use one of %s", v, strings.Join(prefixes, ", "))
	} else {
		name.put("honorificPrefix", v, st)
	}
	name.into(attrs, "name", func(parts map[string]any) any { return parts })

	var emails composite
	alt, altSt := d.email("altEmail")
	emails.put("work", email, emSt)
	emails.put("other", alt, altSt)
	emails.into(attrs, "emails", func(parts map[string]any) any {
		var out []any
		if v, ok := parts["work"]; ok && v != nil {
			out = append(out, map[string]any{"value": v, "type": "work", "primary": true})
		}
		if v, ok := parts["other"]; ok && v != nil {
			out = append(out, map[string]any{"value": v, "type": "other"})
		}
		if out == nil {
			return nil
		}
		return out
	})

	var phones composite
	for _, f := range []struct{ field, key string }{{"phone", "work"}, {"fax", "fax"}} {
		v, st := d.text(f.field, maxName)
		phones.put(f.key, v, st)
	}
	phones.into(attrs, "phoneNumbers", func(parts map[string]any) any {
		var out []any
		for _, k := range []string{"work", "fax"} {
			if v, ok := parts[k]; ok && v != nil {
				out = append(out, map[string]any{"value": v, "type": k})
			}
		}
		if out == nil {
			return nil
		}
		return out
	})

	var addr composite
	for _, f := range []struct{ field, key string }{{"address", "streetAddress"}, {"city", "locality"}, {"province", "region"}, {"postalCode", "postalCode"}, {"country", "country"}} {
		v, st := d.text(f.field, maxText)
		addr.put(f.key, v, st)
	}
	addr.into(attrs, "addresses", func(parts map[string]any) any {
		if addr.values == 0 {
			return nil
		}
		parts["type"] = "work"
		return []any{parts}
	})

	if v, st := d.boolean("enabled"); st == set {
		attrs["active"] = v
	}

	var ext composite
	if v, st := d.cell("gender"); st == set && !slices.Contains(genders, strings.ToUpper(v)) {
		d.fail("gender", "%q is not a gender: use one of %s", v, strings.Join(genders, ", "))
	} else {
		ext.put("gender", strings.ToUpper(v), st)
	}
	years := map[string]int{}
	for _, f := range []string{"entryYear", "gradYear"} {
		y, st := d.year(f)
		switch st {
		case set:
			years[f] = y
			ext.put(f, "", set)
		case clear:
			ext.put(f, "", clear)
		}
	}
	for _, f := range []string{"institutionNumber", "notes"} {
		v, st := d.text(f, maxText)
		ext.put(f, v, st)
	}
	switch v, st := d.cell("taskNotification"); {
	case st != set:
		ext.put("taskNotification", "", st)
	case strings.EqualFold(v, "OFF"):
		ext.put("taskNotification", "OFF", set)
	case strings.EqualFold(v, "Email"):
		ext.put("taskNotification", "Email", set)
	default:
		d.fail("taskNotification", "%q: use OFF or Email", v)
	}
	ext.into(attrs, schemas.ScimdUserURN, func(parts map[string]any) any {
		for f, y := range years {
			parts[f] = float64(y) // as JSON reads it back
		}
		return parts
	})

	if v, st := d.text("reportsTo", maxUserName); st == set {
		in.ManagerUserName = v
	} else if st == clear {
		d.fail("reportsTo", "NULL: a file cannot remove a manager yet; leave the cell empty to keep them")
	}
	if v, st := d.text("superiorExternalId", maxExternalID); st == set {
		in.ManagerExternalID = v
	} else if st == clear {
		d.fail("superiorExternalId", "NULL: a file cannot remove a manager yet; leave the cell empty to keep them")
	}
	if v, st := d.cell("password"); st == set {
		if !passwordHash(v) {
			d.fail("password", "not a password hash: scimd takes only existing bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hashes, never a plaintext password; leave it empty and the user sets one from the activation message")
		} else {
			in.PasswordHash = v
		}
	}
	in.Notify = true
	if v, st := d.boolean("notifyIfNewUser"); st == set {
		in.Notify = v
	}

	g := &reconcile.Given{}
	stated := false
	if g.Roles = d.list("roles"); g.Roles != nil {
		stated = true
		for _, r := range g.Roles {
			switch {
			case strings.ContainsFunc(r, unicode.IsSpace):
				d.fail("roles", "role %q has a space: role names have none (separate roles with |)", r)
			case utf8.RuneCountInString(r) > maxRole:
				d.fail("roles", "role %q is longer than %d characters", r, maxRole)
			}
		}
	}
	if g.Groups = d.list("groups"); g.Groups != nil {
		stated = true
	}
	switch v, st := d.cell("orgUnit"); st {
	case set:
		g.OrgUnit, stated = &v, true
	case clear:
		g.OrgUnit, stated = new(string), true
	}
	switch v, st := d.cell("status"); {
	case st == set && slices.Contains(statuses, strings.ToLower(v)):
		g.Status, stated = strings.ToLower(v), true
	case st == set:
		d.fail("status", "%q: use active, disabled or pending", v)
	}
	if g.AccessStart = d.when("accessStart"); g.AccessStart != nil {
		stated = true
	}
	if g.AccessEnd = d.when("accessFinish"); g.AccessEnd != nil {
		stated = true
	}
	if y, ok := years["gradYear"]; ok {
		g.Cohort, stated = fmt.Sprintf("Class of %d", y), true
	}
	if stated {
		g.Rule = b.rule
		in.Given = g
	}

	for i, f := range b.fields {
		if f != "" {
			continue
		}
		switch v, st := d.at(i); st {
		case set:
			attrs[b.header[i]] = v
		case clear:
			attrs[b.header[i]] = nil
		}
	}
	if in.Op != reconcile.Delete {
		for _, f := range b.layout.require {
			if _, st := d.cell(f); st != set {
				d.fail(f, "%s is required: fill it in", f)
			}
		}
	} else if in.ExternalID == "" && unSt != set && emSt != set {
		d.fail("transaction", "a DELETE row must name the user: fill in userName, email or externalId")
	}
	row := reconcile.LoadRow{Line: line, In: in}
	if len(d.errs) > 0 {
		row.Err = d.errs
	}
	return row
}

// rule names a Given field's statement after its column: "column roles".
func (b *binding) rule(field string) string {
	f := map[string]string{"accessEnd": "accessFinish", "cohort": "gradYear"}[field]
	if f == "" {
		f = field
	}
	// Named after the layout's column for the field, never after this
	// file's header: a later file that leaves the column out, or spells
	// its header another way, must find the same rule silent rather than
	// revoke what it granted.
	if i := slices.Index(b.layout.fields, f); i >= 0 {
		return "column " + b.layout.headers[i]
	}
	return "column " + f
}

// passwordHash reports whether v is a bcrypt or argon2id hash in its
// standard encoding.
func passwordHash(v string) bool {
	switch {
	case len(v) == 60 && (strings.HasPrefix(v, "$2a$") || strings.HasPrefix(v, "$2b$") || strings.HasPrefix(v, "$2y$")):
		cost, err := strconv.Atoi(v[4:6])
		return err == nil && v[6] == '$' && cost >= 4 && cost <= 31
	case strings.HasPrefix(v, "$argon2id$v=") && strings.Count(v, "$") == 5:
		return true
	}
	return false
}

// attributeColumn returns the field whose column set a document
// attribute a plan refused (reconcile.InputError.Attribute).
func attributeField(attr string) string {
	a := strings.ToLower(attr)
	for _, m := range []struct{ prefix, field string }{
		{"username", "userName"}, {"name.givenname", "firstName"}, {"name.familyname", "lastName"},
		{"name.honorificprefix", "prefix"}, {"name", "firstName"}, {"emails", "email"},
		{"phonenumbers", "phone"}, {"addresses", "address"}, {"active", "enabled"}, {"externalid", "externalId"},
		{"manager", "reportsTo"}, {"roles", "roles"}, {"groups", "groups"}, {"orgunit", "orgUnit"},
		{"status", "status"}, {"accessstart", "accessStart"}, {"accessend", "accessFinish"}, {"password", "password"},
	} {
		if strings.HasPrefix(a, m.prefix) {
			return m.field
		}
	}
	if i := strings.LastIndexByte(attr, ':'); i >= 0 {
		return attributeField(attr[i+1:])
	}
	if f, ok := reconcile.CSVField(attr); ok {
		return f
	}
	return ""
}
