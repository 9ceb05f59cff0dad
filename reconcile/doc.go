// Package reconcile is the one pipeline every write goes through, whatever
// its source (SCIM push, OIDC login, CSV import, admin):
//
//	Input → plan (match → map → diff) → Plan → apply (one transaction + audit event)
//
// input.go says what a source hands in; plan.go works out the exact change
// without writing (what a dry run shows); apply.go writes a plan in one
// transaction with its audit event. Apply plans inside the transaction it
// writes in, so a dry run and a real run use the same code and cannot
// disagree; when another writer got there first, Apply plans again, unless
// the client pinned a version with If-Match.
//
// Today planning passes SCIM documents through: matching identities across
// sources and connector mapping rules build on this seam.
package reconcile
