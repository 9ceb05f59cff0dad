// Command scimd is a SCIM 2.0 provisioning server. "scimd help" lists its
// commands; each lives in its own file (serve.go, migrate.go, token.go),
// parses its flags, wires packages together and calls them. Policy lives
// in the packages, not here.
//
// serve.go owns the top-level routes (/healthz, /readyz, /scim/v2/,
// /admin/v1/). This package and reconcile are the only holders of the
// *store.DB: the sources get its read-only store.Reader, and the commands
// that change tokens or connectors call the engine, which audits them.
//
// main.go only sets up the process; run.go is main minus the process, so
// tests drive the real commands in-process.
package main
