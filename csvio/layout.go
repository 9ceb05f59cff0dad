package csvio

import (
	"fmt"
	"slices"
	"strings"

	"github.com/scimd/scimd/reconcile"
)

// Layout is how a file's columns become fields: a connector's csv layout
// or the default one.
type Layout struct {
	// byKey maps a folded header to its field; for the default layout
	// every alias of every field.
	byKey map[string]string
	// headers are the columns a sample file and an export write, in order.
	headers []string
	// field of each header of headers.
	fields  []string
	require []string
	clear   bool
	custom  bool
}

// defaultColumns are the default layout's columns, in the order --sample
// and export write them: the 002 seed's first (userId, tenant, …), then
// the other seeds' fields.
var defaultColumns = []struct{ header, field string }{
	{"userId", "userName"}, {"tenant", "tenant"}, {"firstName", "firstName"}, {"lastName", "lastName"},
	{"email", "email"}, {"enabled", "enabled"}, {"reportsTo", "reportsTo"}, {"roles", "roles"},
	{"taskNotification", "taskNotification"}, {"transaction", "transaction"}, {"notifyIfNewUser", "notifyIfNewUser"},
	{"externalId", "externalId"}, {"prefix", "prefix"}, {"altEmail", "altEmail"}, {"groups", "groups"},
	{"orgUnit", "orgUnit"}, {"status", "status"}, {"accessStart", "accessStart"}, {"accessFinish", "accessFinish"},
	{"entryYear", "entryYear"}, {"gradYear", "gradYear"}, {"superiorExternalId", "superiorExternalId"},
	{"phone", "phone"}, {"fax", "fax"}, {"address", "address"}, {"city", "city"}, {"province", "province"},
	{"postalCode", "postalCode"}, {"country", "country"}, {"gender", "gender"},
	{"institutionNumber", "institutionNumber"}, {"notes", "notes"}, {"password", "password"},
}

// aliases are the other headers the default layout reads, by the seeds'
// and the usual spreadsheet names (folded by reconcile.CSVKey).
var aliases = map[string]string{
	"username": "userName", "loginname": "userName", "login": "userName", "uid": "userName",
	"givenname": "firstName", "familyname": "lastName", "surname": "lastName",
	"honorificprefix": "prefix", "emailaddress": "email", "mail": "email",
	"alternativeemail": "altEmail", "alternateemail": "altEmail", "secondaryemail": "altEmail",
	"active": "enabled", "accountstatus": "status", "manager": "reportsTo", "superior": "reportsTo",
	"role": "roles", "group": "groups", "usergroups": "groups",
	"organizationalunit": "orgUnit", "organisationalunit": "orgUnit",
	"accessend": "accessFinish", "graduationyear": "gradYear",
	"telephone": "phone", "phonenumber": "phone", "streetaddress": "address",
	"locality": "city", "region": "province", "state": "province",
	"zip": "postalCode", "zipcode": "postalCode", "postcode": "postalCode",
	"notifynewuser": "notifyIfNewUser",
}

// DefaultLayout is the layout of a connector whose configuration gives
// none: the 002 seed's columns and the other seeds' (see --sample).
func DefaultLayout() *Layout {
	l := &Layout{byKey: map[string]string{}, require: []string{"email"}}
	for _, f := range reconcile.CSVFields {
		l.byKey[reconcile.CSVKey(f)] = f
	}
	for k, f := range aliases {
		l.byKey[k] = f
	}
	for _, c := range defaultColumns {
		l.byKey[reconcile.CSVKey(c.header)] = c.field
		l.headers = append(l.headers, c.header)
		l.fields = append(l.fields, c.field)
	}
	return l
}

// LayoutOf returns the layout a connector's configuration states; nil
// (no csv settings, or no columns) is the default layout, with c's
// require and empty.
func LayoutOf(c *reconcile.CSVLayout) *Layout {
	l := DefaultLayout()
	if c == nil {
		return l
	}
	if len(c.Columns) > 0 {
		l.byKey, l.headers, l.fields, l.custom = map[string]string{}, nil, nil, true
		for _, h := range slices.Sorted(func(yield func(string) bool) {
			for h := range c.Columns {
				if !yield(h) {
					return
				}
			}
		}) {
			l.byKey[reconcile.CSVKey(h)] = c.Columns[h]
			l.headers = append(l.headers, h)
			l.fields = append(l.fields, c.Columns[h])
		}
	}
	if len(c.Require) > 0 {
		l.require = c.Require
	}
	l.clear = c.Empty == reconcile.CSVEmptyClear
	return l
}

// field returns the field a header fills, and false for a column the
// layout does not name (kept in the document under its header).
func (l *Layout) field(header string) (string, bool) {
	f, ok := l.byKey[reconcile.CSVKey(header)]
	return f, ok
}

// Headers are the columns a sample file and an export write, in order.
func (l *Layout) Headers() []string { return slices.Clone(l.headers) }

// binding is a file's header bound to a layout: the field of each column.
type binding struct {
	layout  *Layout
	header  []string
	fields  []string // "" for a column kept under its header
	columns map[string]int
}

// bind checks a header line against the layout: no field twice, every
// required field present.
func (l *Layout) bind(header []string) (*binding, error) {
	b := &binding{layout: l, header: header, fields: make([]string, len(header)), columns: map[string]int{}}
	seen := map[string]int{}
	for i, h := range header {
		if h == "" {
			return nil, &FileError{1, fmt.Sprintf("column %d has no header: name it, or delete the column", i+1)}
		}
		if j, dup := seen[reconcile.CSVKey(h)]; dup {
			return nil, &FileError{1, fmt.Sprintf("columns %d and %d have the same header %q: keep one", j+1, i+1, h)}
		}
		seen[reconcile.CSVKey(h)] = i
		f, ok := l.field(h)
		if !ok {
			continue
		}
		if j, dup := b.columns[f]; dup {
			return nil, &FileError{1, fmt.Sprintf("columns %d (%s) and %d (%s) both fill %s: keep one", j+1, header[j], i+1, h, f)}
		}
		b.fields[i], b.columns[f] = f, i
	}
	var missing []string
	for _, f := range l.require {
		if _, ok := b.columns[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, &FileError{1, fmt.Sprintf("the header line has no %s column, which every row must fill (headers found: %s)",
			strings.Join(missing, ", "), strings.Join(header, ", "))}
	}
	return b, nil
}

// header returns the header of the column filling field, "" when none.
func (b *binding) headerOf(field string) (string, int) {
	i, ok := b.columns[field]
	if !ok {
		return "", 0
	}
	return b.header[i], i + 1
}
