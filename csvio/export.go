package csvio

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
)

// exportPage is how many users an export reads at once: one keyset page,
// their grants and their managers, three queries a thousand users.
const exportPage = 1000

// Export writes the live users of p's tenant to w as a CSV file in
// layout's columns, each with p.ConnectorID's external ID and, when
// p.OrgUnit is set, only the users of that unit and below it. It returns
// the users written.
//
// It streams: a page of a thousand users at a time, written and flushed
// before the next is read, so that a million users take the memory of a
// thousand. The pages are read one after another, not in one transaction:
// a user changed while the export runs is written as it was when its page
// was read.
//
// Read back by the same layout ([Open], reconcile's Load), an export
// changes nothing: every cell is written as the import reads it, and a
// cell a spreadsheet would take for a formula is guarded (see [Guard]).
func Export(ctx context.Context, db store.Reader, w io.Writer, layout *Layout, p store.Principal) (int, error) {
	ew, err := NewWriter(w, layout, p.TenantName)
	if err != nil {
		return 0, err
	}
	var after int64
	for {
		us, err := db.LiveUsers(ctx, p.TenantID, p.ConnectorID, p.OrgUnit, after, exportPage)
		if err != nil {
			return ew.rows, err
		}
		if len(us) == 0 {
			return ew.rows, nil
		}
		pks := make([]int64, len(us))
		var managerIDs []string
		for i, u := range us {
			pks[i] = u.PK
			if id := managerOf(u.Attrs); id != "" {
				managerIDs = append(managerIDs, id)
			}
		}
		grants, err := db.GrantsOf(ctx, pks)
		if err != nil {
			return ew.rows, err
		}
		managers, err := db.UsersByIDs(ctx, p.TenantID, p.ConnectorID, managerIDs)
		if err != nil {
			return ew.rows, err
		}
		for _, u := range us {
			var m *store.User
			if mu, ok := managers[managerOf(u.Attrs)]; ok {
				m = &mu
			}
			if err := ew.Write(u, grants[u.PK], m); err != nil {
				return ew.rows, err
			}
		}
		if err := ew.Flush(); err != nil {
			return ew.rows, err
		}
		after = us[len(us)-1].PK
	}
}

// Writer writes users as the rows of a CSV file in a layout's columns,
// the way the layout reads them back.
type Writer struct {
	csv    *csv.Writer
	fields []string
	tenant string
	// cohort is the rule a grad year's cohort group is granted by when
	// this layout is read back: that group is the gradYear column's, not
	// the groups column's.
	cohort string
	rec    []string
	rows   int
}

// NewWriter writes the header line of layout to w and returns the
// writer of its rows, for users of tenant.
func NewWriter(w io.Writer, layout *Layout, tenant string) (*Writer, error) {
	ew := &Writer{csv: csv.NewWriter(w), fields: layout.fields, tenant: tenant, rec: make([]string, len(layout.headers))}
	for i, f := range layout.fields {
		if f == "gradYear" {
			ew.cohort = "column " + layout.headers[i]
		}
	}
	for i, h := range layout.headers {
		ew.rec[i] = Guard(h)
	}
	return ew, ew.csv.Write(ew.rec)
}

// Write writes one user: u with its grants and its manager (nil when it
// has none). The row is buffered until [Writer.Flush].
func (w *Writer) Write(u store.User, grants []store.Grant, manager *store.User) error {
	for i, f := range w.fields {
		w.rec[i] = Guard(w.value(f, u, grants, manager))
	}
	w.rows++
	return w.csv.Write(w.rec)
}

// Flush writes the rows buffered to the underlying writer.
func (w *Writer) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}

// value is field's cell for u, as decode reads it back; "" (keep the
// stored value) for a field the user has no value of, and for the
// columns that are instructions rather than data (transaction,
// notifyIfNewUser, password: hashes are never exported).
func (w *Writer) value(field string, u store.User, grants []store.Grant, manager *store.User) string {
	attrs := u.Attrs
	name, _ := attrs["name"].(map[string]any)
	ext, _ := attrs[schemas.ScimdUserURN].(map[string]any)
	switch field {
	case "userName":
		return u.UserName
	case "tenant":
		return w.tenant
	case "externalId":
		return u.ExternalID
	case "firstName":
		return str(name, "givenName")
	case "lastName":
		return str(name, "familyName")
	case "prefix":
		return str(name, "honorificPrefix")
	case "email":
		email, _ := emailsOf(attrs)
		return email
	case "altEmail":
		_, alt := emailsOf(attrs)
		return alt
	case "enabled":
		if active, ok := attrs["active"].(bool); ok {
			return strconv.FormatBool(active)
		}
	case "status":
		return u.Status
	case "accessStart":
		return timeCell(u.AccessStart)
	case "accessFinish":
		return timeCell(u.AccessEnd)
	case "reportsTo":
		if manager != nil {
			return manager.UserName
		}
	case "superiorExternalId":
		if manager != nil {
			return manager.ExternalID
		}
	case "roles":
		return targets(grants, store.GrantRole, "")
	case "groups":
		return targets(grants, store.GrantGroup, w.cohort)
	case "orgUnit":
		for _, g := range grants {
			if g.Kind == store.GrantOrgUnit {
				return g.Target
			}
		}
	case "phone":
		return typed(attrs, "phoneNumbers", "work")
	case "fax":
		return typed(attrs, "phoneNumbers", "fax")
	case "address", "city", "province", "postalCode", "country":
		addrs, _ := attrs["addresses"].([]any)
		if len(addrs) > 0 {
			a, _ := addrs[0].(map[string]any)
			return str(a, map[string]string{"address": "streetAddress", "city": "locality", "province": "region",
				"postalCode": "postalCode", "country": "country"}[field])
		}
	case "gender", "institutionNumber", "notes", "taskNotification":
		return str(ext, field)
	case "entryYear", "gradYear":
		if y, ok := ext[field].(float64); ok {
			return strconv.FormatFloat(y, 'f', -1, 64)
		}
	}
	return ""
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// emailsOf returns the user's email, as the email column holds it (the
// primary one, else the first), and the first other one (altEmail).
func emailsOf(attrs map[string]any) (email, alt string) {
	list, _ := attrs["emails"].([]any)
	var values []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		if v := str(m, "value"); v != "" {
			if primary, _ := m["primary"].(bool); primary {
				email = v
			}
			values = append(values, v)
		}
	}
	if email == "" && len(values) > 0 {
		email = values[0]
	}
	for _, v := range values {
		if v != email {
			return email, v
		}
	}
	return email, ""
}

// typed returns the value of the first entry of the multi-valued
// attribute key whose type is typ.
func typed(attrs map[string]any, key, typ string) string {
	list, _ := attrs[key].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); str(m, "type") == typ {
			return str(m, "value")
		}
	}
	return ""
}

// targets joins with | the names of the grants of kind, each once (in
// any case), leaving out those of rule skip: roles and groups columns.
func targets(grants []store.Grant, kind, skip string) string {
	var names []string
	seen := map[string]bool{}
	for _, g := range grants {
		if g.Kind != kind || (skip != "" && g.Rule == skip) || seen[store.Fold(g.Target)] {
			continue
		}
		seen[store.Fold(g.Target)] = true
		names = append(names, g.Target)
	}
	return strings.Join(names, "|")
}

// timeCell writes an access window's bound in UTC as the 000 seed does
// (2017-12-01 12:35:00), with the fraction of a second when it has one so
// that it reads back exactly; "" for none.
func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return t.Format(time.RFC3339Nano)
	}
	return t.Format("2006-01-02 15:04:05")
}

// managerOf is the enterprise manager.value of a user's document.
func managerOf(attrs map[string]any) string {
	ent, _ := attrs[schemas.EnterpriseUserURN].(map[string]any)
	m, _ := ent["manager"].(map[string]any)
	return str(m, "value")
}

// Guard neutralises a cell that a spreadsheet would read as a formula
// (OWASP ASVS 5.0 1.2.10, ECOSYSTEM-SECURITY.md §B.11): a value starting
// with = + - @, tab, CR or NUL gets a leading '. So that an import reads
// every value back exactly (the ' taken off again), the guard also goes
// before the value NULL, which an import reads as "clear", and before a
// value that is already a guard followed by such a cell (the value '=1
// is written with two quotes). Phone numbers (+44…) and names (-Jo) survive the round trip.
func Guard(v string) string {
	if guarded(v) {
		return "'" + v
	}
	return v
}

// guarded reports whether v needs [Guard]: after any leading 's, it
// starts with a formula trigger, or it reads as NULL.
func guarded(v string) bool {
	v = strings.TrimLeft(v, "'")
	return v != "" && (strings.IndexByte(formulaLead, v[0]) >= 0 || strings.EqualFold(v, Null))
}
