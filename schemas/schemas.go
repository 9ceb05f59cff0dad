package schemas

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Schema URNs (RFC 7643 §8.7).
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// User is the core User schema (RFC 7643 §4.1).
func User() schema.Schema { return withLimits(schema.CoreUserSchema()) }

// EnterpriseUser is the enterprise User extension (RFC 7643 §4.3).
func EnterpriseUser() schema.Schema { return withLimits(schema.ExtensionEnterpriseUser()) }

// Group is the core Group schema (RFC 7643 §4.2).
func Group() schema.Schema { return withLimits(schema.CoreGroupSchema()) }

// ExtensionAttribute declares one attribute of a custom extension.
type ExtensionAttribute struct {
	Name string
	// Type is string, boolean, integer, decimal or dateTime; "" is string.
	Type                   string
	MultiValued, CaseExact bool
	Description            string
}

// Extension is a tenant's own User extension schema (RFC 7643 §3.3) of
// simple, optional, read-write attributes.
func Extension(urn, name string, attrs []ExtensionAttribute) schema.Schema {
	s := schema.Schema{ID: urn, Name: optional.NewString(name), Description: optional.NewString(name)}
	if name == "" {
		s.Name = optional.NewString(urn)
		s.Description = optional.NewString("Custom User extension")
	}
	for _, a := range attrs {
		desc := optional.String{}
		if a.Description != "" {
			desc = optional.NewString(a.Description)
		}
		var p schema.SimpleParams
		switch a.Type {
		case "boolean":
			p = schema.SimpleBooleanParams(schema.BooleanParams{Name: a.Name, MultiValued: a.MultiValued, Description: desc})
		case "integer", "decimal":
			typ := schema.AttributeTypeInteger()
			if a.Type == "decimal" {
				typ = schema.AttributeTypeDecimal()
			}
			p = schema.SimpleNumberParams(schema.NumberParams{Name: a.Name, MultiValued: a.MultiValued, Description: desc, Type: typ})
		case "dateTime":
			p = schema.SimpleDateTimeParams(schema.DateTimeParams{Name: a.Name, MultiValued: a.MultiValued, Description: desc})
		default:
			p = schema.SimpleStringParams(schema.StringParams{Name: a.Name, MultiValued: a.MultiValued, CaseExact: a.CaseExact, Description: desc})
		}
		s.Attributes = append(s.Attributes, schema.SimpleCoreAttribute(p))
	}
	return withLimits(s)
}
