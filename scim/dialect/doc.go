// Package dialect holds the compatibility profiles of identity providers:
// where Entra, Okta and RFC 7644 part ways, a connector's profile chooses.
// The default profile serves every identity provider scimd knows; strict
// follows the RFC to the letter.
package dialect
