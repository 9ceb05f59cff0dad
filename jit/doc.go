// Package jit is OIDC at the door: a person signing in through their
// organisation's identity provider gets an account on the fly (JIT), and
// a session.
//
// session.go is the session's HTTP side: the cookie (scimd_session:
// HttpOnly, SameSite=Lax, Path=/, Secure behind TLS or an https base URL,
// holding only the random secret; the database keeps its SHA-256), the
// resolver that finds a request's live session (wired into /scim/v2/{tenant}/Me
// by cmd/scimd), and POST /auth/{tenant}/logout. Starting, looking up and
// ending sessions are the engine's (reconcile/session.go), so that each is
// audited and a disable or delete of the user ends them in the same
// transaction.
package jit
