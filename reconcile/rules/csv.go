package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// KindCSV is a connector whose users arrive in CSV files (scimd import,
// the admin API's imports): its csv settings are the file's layout.
const KindCSV = "csv"

// CSV is a CSV connector's layout: which column holds which field, which
// fields a row must fill, and what an empty cell means. The zero value is
// the default layout (csvio's), which reads the 002 seed's columns and
// the other seeds' by their usual names.
type CSV struct {
	// Columns maps a header, as the file writes it, to a field (one of
	// [CSVFields]); headers compare case-insensitively and ignoring
	// spaces, dashes and underscores. Nil: the default layout's.
	Columns map[string]string `json:"columns,omitempty"`
	// Require lists the fields every row must fill (default: email).
	Require []string `json:"require,omitempty"`
	// Empty is what an empty cell means: "keep" (the default: the stored
	// value stays; the literal NULL clears it) or "clear".
	Empty string `json:"empty,omitempty"`
}

// Values of [CSV.Empty].
const (
	CSVEmptyKeep  = "keep"
	CSVEmptyClear = "clear"
)

// CSVFields are the fields a CSV column may fill, by the default layout's
// column names (csvio maps each to SCIM and reconcile).
var CSVFields = []string{
	"userName", "externalId", "tenant", "firstName", "lastName", "prefix", "email", "altEmail",
	"enabled", "status", "reportsTo", "superiorExternalId", "roles", "groups", "orgUnit",
	"accessStart", "accessFinish", "entryYear", "gradYear", "phone", "fax", "address", "city",
	"province", "postalCode", "country", "gender", "institutionNumber", "notes", "password",
	"taskNotification", "transaction", "notifyIfNewUser",
}

// CSVKey folds a header or field name as layouts compare them: lower
// case, without spaces, dashes, underscores or dots ("First Name",
// "first_name" and "firstName" are one).
func CSVKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '-', r == '_', r == '.':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// CSVField returns the field of [CSVFields] that name means (any case,
// spaces ignored), and false when none.
func CSVField(name string) (string, bool) {
	k := CSVKey(name)
	for _, f := range CSVFields {
		if CSVKey(f) == k {
			return f, true
		}
	}
	return "", false
}

// csv reads a connector's csv layout.
func (l *loader) csv(n *yaml.Node, connector string) *CSV {
	m := l.mapping(n, "csv")
	if m == nil {
		return nil
	}
	out := &CSV{}
	ctx := fmt.Sprintf("connector %q: csv", connector)
	if cn := l.resolve(m["columns"]); present(cn) {
		if cn.Kind != yaml.MappingNode {
			l.add(cn, ctx+".columns must be a mapping of header to field", `write columns: {"First Name": firstName, "E-mail": email}`)
		} else {
			out.Columns = map[string]string{}
			seen := map[string]int{}
			for i := 0; i+1 < len(cn.Content); i += 2 {
				k, v := cn.Content[i], l.resolve(cn.Content[i+1])
				header := strings.TrimSpace(k.Value)
				field := l.str(v, ctx+".columns value")
				f, ok := CSVField(field)
				switch line, dup := seen[CSVKey(header)]; {
				case header == "":
					l.add(k, ctx+".columns has an empty header", "write the header as the file's first line has it")
				case dup:
					l.add(k, fmt.Sprintf("%s.columns repeats header %q", ctx, header), fmt.Sprintf("it is first mapped at line %d (headers compare in any case, without spaces): keep one", line))
				case !ok:
					l.add(v, fmt.Sprintf("%s.columns maps %q to unknown field %q", ctx, header, field), didYouMean(field, CSVFields, "fields"))
				default:
					seen[CSVKey(header)] = k.Line
					out.Columns[header] = f
				}
			}
		}
	}
	for _, rn := range l.seq(m["require"], "require") {
		v := l.str(rn, "a required field")
		f, ok := CSVField(v)
		switch {
		case !ok:
			l.add(rn, fmt.Sprintf("%s.require names unknown field %q", ctx, v), didYouMean(v, CSVFields, "fields"))
		case slices.Contains(out.Require, f):
			l.add(rn, fmt.Sprintf("%s.require repeats %q", ctx, f), "list each once")
		default:
			out.Require = append(out.Require, f)
		}
	}
	if out.Columns != nil {
		for _, f := range out.Require {
			if !slices.Contains(mapValues(out.Columns), f) {
				l.add(m["require"], fmt.Sprintf("%s.require names %s, which no column fills", ctx, f), "map a column to it in columns, or remove it from require")
			}
		}
	}
	if en := m["empty"]; present(l.resolve(en)) {
		out.Empty = l.str(en, "empty")
		if out.Empty != CSVEmptyKeep && out.Empty != CSVEmptyClear {
			l.add(en, fmt.Sprintf("%s.empty is %q", ctx, out.Empty), "use keep (an empty cell keeps the stored value, NULL clears it) or clear (an empty cell clears it)")
		}
	}
	return out
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
