// Command scimd is a SCIM 2.0 provisioning server. "scimd help" lists its
// commands; each lives in its own file (serve.go, migrate.go, token.go),
// parses its flags, wires packages together and calls them. Policy lives
// in the packages, not here.
//
// main.go only sets up the process; run.go is main minus the process, so
// tests drive the real commands in-process.
package main
