// Package dialect holds the compatibility profiles of identity providers:
// where Entra, Okta and RFC 7644 part ways, a connector's profile chooses.
// The default profile follows the RFC where identity providers allow it and
// reads tolerantly what they all send (IDP-QUIRKS §2.5); entra adds what
// only Entra needs, and strict follows the RFC to the letter. README.md
// tabulates the differences.
package dialect
