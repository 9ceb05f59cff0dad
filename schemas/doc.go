// Package schemas holds the SCIM schemas scimd serves (RFC 7643 §4 and §8.7):
// the core User and Group schemas and the enterprise User extension. It is
// data, not code paths, and imports nothing else of scimd's.
//
// The definitions are elimity-com/scim's, which validate request bodies
// against them; scimd adds its limits (limits.go) to their descriptions.
package schemas
