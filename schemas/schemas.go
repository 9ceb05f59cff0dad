package schemas

import "github.com/elimity-com/scim/schema"

// Schema URNs (RFC 7643 §8.7).
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// User is the core User schema (RFC 7643 §4.1).
func User() schema.Schema { return schema.CoreUserSchema() }

// EnterpriseUser is the enterprise User extension (RFC 7643 §4.3).
func EnterpriseUser() schema.Schema { return schema.ExtensionEnterpriseUser() }

// Group is the core Group schema (RFC 7643 §4.2).
func Group() schema.Schema { return schema.CoreGroupSchema() }
