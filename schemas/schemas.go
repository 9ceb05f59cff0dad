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
	// ScimdUserURN is scimd's own User extension: what CSV files carry
	// beyond the core and enterprise schemas (000 and 002 seeds).
	ScimdUserURN = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User"
)

// User is the core User schema (RFC 7643 §4.1).
func User() schema.Schema { return withLimits(schema.CoreUserSchema()) }

// EnterpriseUser is the enterprise User extension (RFC 7643 §4.3).
func EnterpriseUser() schema.Schema { return withLimits(schema.ExtensionEnterpriseUser()) }

// ScimdUser is scimd's own User extension (ScimdUserURN): gender, entry
// and graduation year, institution number, notes and task notification,
// which CSV imports fill and SCIM serves, filters and patches.
func ScimdUser() schema.Schema {
	return Extension(ScimdUserURN, "scimd User", []ExtensionAttribute{
		{Name: "gender", Description: "Gender, one of the tenant's list (default F, M, NB, U)"},
		{Name: "entryYear", Type: "integer", Description: "Year the learner entered the program"},
		{Name: "gradYear", Type: "integer", Description: "Anticipated graduation year: the cohort Class of YYYY"},
		{Name: "institutionNumber", Description: "Staff or student number"},
		{Name: "notes", Description: "General comments"},
		{Name: "taskNotification", Description: "OFF or Email (the default)"},
	})
}

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
