package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	scimerr "github.com/elimity-com/scim/errors"
)

// Bounds on the query parameters of a list, checked before anything parses
// them: the attribute-path parser costs time quadratic in its input (a
// 1 MiB sortBy took seconds) and its errors echo the input back. The
// filter's bounds are in filter.go, the PATCH path's in scim/patch
// (patch.MaxPathLen); README.md lists them all.
const (
	maxSortByLen     = 256
	maxAttributesLen = 4096 // attributes or excludedAttributes, every path together
	maxCursorLen     = 512
)

// check bounds each parameter before it is parsed.
func (p listParams) check() *Error {
	for _, b := range []struct {
		name  string
		value string
		limit int
	}{
		{"sortBy", p.SortBy, maxSortByLen},
		{"sortOrder", p.SortOrder, len("descending")},
		{"attributes", strings.Join(p.Attributes, ","), maxAttributesLen},
		{"excludedAttributes", strings.Join(p.ExcludedAttributes, ","), maxAttributesLen},
		{"cursor", deref(p.Cursor), maxCursorLen},
	} {
		if len(b.value) > b.limit {
			return badRequest(scimerr.ScimTypeInvalidValue, "%s is %d bytes long; the limit is %d", b.name, len(b.value), b.limit)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkText refuses, before any parser or database sees them, strings that
// no database stores faithfully: a NUL character (U+0000), which
// PostgreSQL refuses (its text and jsonb cannot hold one) and SQLite
// truncates at, in the URL path, any query parameter or any string of the
// JSON body (values and keys alike, Bulk and .search bodies included), and
// bytes that are not UTF-8 in the URL. The JSON decoder already reads
// invalid UTF-8 and lone surrogates in a body as U+FFFD.
//
// In a body, the six characters \u0000 are refused too: bun v1.3.0 writes
// JSON columns through a scanner (schema.BaseDialect.AppendJSON) that
// does not track escapes, so it turns that text into a backslash and a
// NUL, which PostgreSQL then refuses on every later write of the row.
func checkText(r *http.Request, body []byte) *Error {
	if bad, why := badText(r.URL.Path); bad {
		return badRequest(scimerr.ScimTypeInvalidValue, "the URL path %s", why)
	}
	for name, values := range r.URL.Query() {
		for _, v := range append(values, name) {
			if bad, why := badText(v); bad {
				return badRequest(scimerr.ScimTypeInvalidValue, "the query parameter %.64q %s", name, why)
			}
		}
	}
	// A NUL, or the text \u0000, shows as \u0000 in the JSON: a raw NUL
	// is not JSON.
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil // not JSON: the body's parser says where it broke
	}
	if where, why, found := findNUL(doc, "", ""); found {
		return badRequest(scimerr.ScimTypeInvalidValue, "%s %s, which scimd does not store", where, why)
	}
	return nil
}

func badText(s string) (bool, string) {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return true, "contains a NUL character (U+0000)"
	case !utf8.ValidString(s):
		return true, "is not valid UTF-8"
	}
	return false, ""
}

// findNUL returns the JSON path of the first string or key below v that
// holds a NUL or the text \u0000, such as emails[0].value or
// Operations[1].path, and which it holds.
func findNUL(v any, at, sep string) (where, why string, found bool) {
	switch v := v.(type) {
	case string:
		why, found = nulText(v)
		return at, why, found
	case []any:
		for i, item := range v {
			if where, why, ok := findNUL(item, fmt.Sprintf("%s[%d]", at, i), "."); ok {
				return where, why, true
			}
		}
	case map[string]any:
		for k, item := range v {
			key, next := at+sep+k, "."
			if at == "" && strings.HasPrefix(strings.ToLower(k), "urn:") {
				next = ":" // an extension's attributes: urn:…:User:department
			}
			if why, ok := nulText(k); ok {
				return fmt.Sprintf("the key %q", key), why, true
			}
			if where, why, ok := findNUL(item, key, next); ok {
				return where, why, true
			}
		}
	}
	return "", "", false
}

func nulText(s string) (string, bool) {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL character (U+0000)", true
	case strings.Contains(s, `\u0000`):
		return `contains the text \u0000`, true
	}
	return "", false
}
