// Package patch applies SCIM PATCH operations (RFC 7644 §3.5.2) to a SCIM
// document: pure functions, no I/O, fuzzed.
//
// Parse reads a PatchOp body; Apply runs its operations in order against
// a copy of the document and the schema: add, replace and remove on simple,
// complex, multi-valued and extension attributes, value-filter paths
// (emails[type eq "work"].value; a replace that matches no element is 400
// noTarget, or creates it as Entra expects with Options.CreateMissing),
// path-less operations
// whose keys are paths or URNs, and mutability. A group's members are not
// in the document: operations on them come back as MemberOps, for the
// database to run as set operations.
//
// What identity providers send beyond the RFC is read tolerantly here:
// op names in any case, "True"/"False" strings, a manager as a bare id,
// members as bare ids, null or "" to clear.
package patch
