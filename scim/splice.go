package scim

import (
	"bytes"
	"encoding/json"
	"encoding/json/jsontext"
	"time"
	"unicode/utf8"

	scimlib "github.com/elimity-com/scim"

	"github.com/scimd/scimd/store"
)

// A list page without attributes or excludedAttributes, the request an
// identity provider makes, returns every user's stored document as it is,
// with what the server owns (id, externalId, groups, schemas, meta) added.
// Decoding 100 documents into maps and encoding them again was most of
// such a page's CPU (BENCHMARKS.md, "Reads at 1M users"); spliceUser
// copies the stored JSON instead, dropping its whitespace and its empty
// extensions, and writes the rest around it. What it writes means what
// render's document means (TestSpliceMatchesRender): the same members and
// values, in another order.

// reservedKeys are the members render sets itself (userResource adds
// groups). A stored document never holds them (document drops them); one
// that does takes the general path, which says what wins.
var reservedKeys = map[string]bool{"id": true, "externalId": true, "schemas": true, "meta": true, "groups": true}

// spliceUser appends the JSON of u's resource, as render(rt,
// userResource(u, u.Groups, base), base) without projection would give
// it, reading the document from u.RawAttrs. It reports false, leaving
// dst's contents past len(dst) undefined, when the stored document is not
// one it copies (not an object, an escaped or reserved key, invalid
// UTF-8): the caller then takes the general path.
func spliceUser(dst []byte, rt scimlib.ResourceType, u *store.User, base string, now time.Time) ([]byte, bool) {
	src := u.RawAttrs
	if !utf8.Valid(src) {
		return dst, false
	}
	p := splicer{src: src}
	p.space()
	if !p.next('{') {
		return dst, false
	}
	var exts uint64 // bit i: rt.SchemaExtensions[i] is present as an object
	// A user who is not active now shows active false, as render does
	// (store.User.ActiveAt), whatever the stored document says.
	inactive, sawActive := !u.ActiveAt(now), false
	if len(rt.SchemaExtensions) > 64 {
		return dst, false
	}
	mark := len(dst)
	dst = append(dst, `{"id":`...)
	dst = appendQuote(dst, u.ID)
	if u.ExternalID != "" {
		dst = append(dst, `,"externalId":`...)
		dst = appendQuote(dst, u.ExternalID)
	}
	p.space()
	if !p.next('}') {
		for {
			p.space()
			key, ok := p.key()
			if !ok || reservedKeys[string(key)] {
				return dst[:mark], false
			}
			p.space()
			if !p.next(':') {
				return dst[:mark], false
			}
			p.space()
			start := len(dst)
			dst = append(dst, ',', '"')
			dst = append(dst, key...)
			dst = append(dst, '"', ':')
			value := len(dst)
			if dst, ok = p.value(dst); !ok {
				return dst[:mark], false
			}
			if inactive && string(key) == "active" {
				dst, sawActive = append(dst[:value], "false"...), true
			}
			if dst[value] == '{' {
				for i, ext := range rt.SchemaExtensions {
					if ext.Schema.ID == string(key) {
						exts |= 1 << i
						if len(dst) == value+2 { // {}: declared only (dropEmptyExtensions)
							dst = dst[:start]
						}
					}
				}
			}
			p.space()
			if p.next(',') {
				continue
			}
			if !p.next('}') {
				return dst[:mark], false
			}
			break
		}
	}
	p.space()
	if p.i != len(src) {
		return dst[:mark], false
	}
	if inactive && !sawActive {
		dst = append(dst, `,"active":false`...)
	}
	if len(u.Groups) > 0 {
		dst = append(dst, `,"groups":[`...)
		for i, g := range u.Groups {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"value":`...)
			dst = appendQuote(dst, g.ID)
			dst = append(dst, `,"display":`...)
			dst = appendQuote(dst, g.DisplayName)
			dst = append(dst, `,"$ref":`...)
			dst = appendQuote(dst, location(base, "/Groups", g.ID))
			dst = append(dst, `,"type":"direct"}`...)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"schemas":[`...)
	dst = appendQuote(dst, rt.Schema.ID)
	for i, ext := range rt.SchemaExtensions {
		if exts&(1<<i) != 0 {
			dst = append(dst, ',')
			dst = appendQuote(dst, ext.Schema.ID)
		}
	}
	dst = append(dst, `],"meta":{"resourceType":`...)
	dst = appendQuote(dst, rt.Name)
	dst = append(dst, `,"created":`...)
	dst = appendQuote(dst, u.CreatedAt.Format(time.RFC3339))
	dst = append(dst, `,"lastModified":`...)
	dst = appendQuote(dst, u.UpdatedAt.Format(time.RFC3339))
	dst = append(dst, `,"location":`...)
	dst = appendQuote(dst, location(base, rt.Endpoint, u.ID))
	dst = append(dst, `,"version":`...)
	dst = appendQuote(dst, etag(u.Version))
	dst = append(dst, "}}"...)
	return dst, true
}

func appendQuote(dst []byte, s string) []byte {
	dst, _ = jsontext.AppendQuote(dst, s) // invalid UTF-8 becomes U+FFFD, as json.Marshal does
	return dst
}

// splicer reads a JSON document the database returned: valid JSON
// (PostgreSQL's jsonb, or what json.Marshal stored in SQLite), so it
// tracks only where values end, not the whole grammar.
type splicer struct {
	src []byte
	i   int
}

func (p *splicer) space() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *splicer) next(c byte) bool {
	if p.i < len(p.src) && p.src[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads a member name without escapes (a name with one takes the
// general path).
func (p *splicer) key() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.src) {
		switch c := p.src[p.i]; {
		case c == '"':
			p.i++
			return p.src[start : p.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// value appends the value at p.i to dst without its whitespace.
func (p *splicer) value(dst []byte) ([]byte, bool) {
	depth := 0
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch c {
		case ' ', '\t', '\n', '\r':
			p.i++
			continue
		case '"':
			start := p.i
			p.i++
			for {
				// The closing quote: the next one not escaped.
				n := bytes.IndexByte(p.src[p.i:], '"')
				if n < 0 {
					return dst, false
				}
				p.i += n + 1
				escapes := 0
				for j := p.i - 2; j > start && p.src[j] == '\\'; j-- {
					escapes++
				}
				if escapes%2 == 0 {
					break
				}
			}
			dst = append(dst, p.src[start:p.i]...)
			if depth == 0 {
				return dst, true
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return dst, true // the end of the object holding a scalar
			}
			depth--
			dst = append(dst, c)
			p.i++
			if depth == 0 {
				return dst, true
			}
			continue
		case ',':
			if depth == 0 {
				return dst, true
			}
		}
		dst = append(dst, c)
		p.i++
	}
	return dst, depth == 0
}

// userDocument is u's document for the general path: Attrs, or RawAttrs
// decoded as the store decodes it.
func userDocument(u *store.User) error {
	if u.Attrs != nil || u.RawAttrs == nil {
		return nil
	}
	return json.Unmarshal(u.RawAttrs, &u.Attrs)
}
