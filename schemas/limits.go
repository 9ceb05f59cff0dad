package schemas

import (
	"fmt"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Longest values scimd stores, in characters (not bytes). Identity
// providers stay far below them (Entra's userPrincipalName is at most 113
// characters); a value above them is a mistake or an attack, refused with
// a detail that names the attribute and the limit. README.md lists them,
// and /Schemas says them in each attribute's description.
const (
	// MaxString bounds every string attribute not named below.
	MaxString = 1024
	// MaxName bounds the names people and rules match on: userName,
	// displayName and externalId.
	MaxName = 256
	// MaxEmail bounds emails.value, as RFC 5321 §4.5.3.1.3 bounds a path.
	MaxEmail = 254
	// MaxReference bounds references (profileUrl, photos.value, $ref).
	MaxReference = 2048
	// MaxBinary bounds base64 values (x509Certificates.value): a
	// certificate chain of a few certificates.
	MaxBinary = 16384
)

// MaxLen is the longest value, in characters, of the simple attribute at
// path (userName, emails.value, an extension's URN:name) whose SCIM type
// is typ.
func MaxLen(path, typ string) int {
	switch strings.ToLower(path) {
	case "username", "displayname", "externalid":
		return MaxName
	case "emails.value":
		return MaxEmail
	}
	switch typ {
	case "reference":
		return MaxReference
	case "binary":
		return MaxBinary
	}
	return MaxString
}

// withLimits adds each attribute's limits to its description, so that
// /Schemas advertises what requests are checked against.
func withLimits(s schema.Schema) schema.Schema {
	attrs := make(schema.Attributes, len(s.Attributes))
	for i, a := range s.Attributes {
		if note := limitNote(a); note != "" {
			a = a.WithDescription(optional.NewString(strings.TrimSpace(a.Description() + " " + note)))
		}
		attrs[i] = a
	}
	s.Attributes = attrs
	return s
}

func limitNote(a schema.CoreAttribute) string {
	switch a.AttributeType() {
	case "string", "reference", "binary":
		if a.Name() == "emails" {
			break
		}
		return fmt.Sprintf("scimd: at most %d characters%s.", MaxLen(a.Name(), a.AttributeType()), base64Note(a.AttributeType()))
	case "complex":
		var parts []string
		for _, sub := range a.SubAttributes() {
			switch typ := sub.AttributeType(); typ {
			case "string", "reference", "binary":
				n := MaxLen(a.Name()+"."+sub.Name(), typ)
				if n != MaxString || typ != "string" {
					parts = append(parts, fmt.Sprintf("%s at most %d characters%s", sub.Name(), n, base64Note(typ)))
				}
			}
		}
		if a.Name() == "emails" {
			parts = append(parts, "value an address (local@domain)")
		}
		if a.MultiValued() {
			for _, sub := range a.SubAttributes() {
				if sub.Name() == "primary" {
					parts = append(parts, "at most one value primary (RFC 7643 §2.4); values of the same type and value are one")
				}
			}
		}
		note := fmt.Sprintf("scimd: strings at most %d characters", MaxString)
		if len(parts) > 0 {
			note += "; " + strings.Join(parts, "; ")
		}
		return note + "."
	}
	return ""
}

func base64Note(typ string) string {
	if typ == "binary" {
		return ", base64 (RFC 4648 §4, padded)"
	}
	return ""
}
