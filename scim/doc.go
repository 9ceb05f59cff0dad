// Package scim is scimd's SCIM 2.0 endpoint (RFC 7643, RFC 7644): the
// protocol edge, nothing else. It turns HTTP requests into reconcile inputs
// and store queries, and rows back into SCIM resources.
//
// A request, hop by hop:
//
//  1. server.go: route /scim/v2/{tenant}/... (cmd/scimd mounts it at
//     /scim/v2/), bound the body (413 past Config.MaxBodyBytes), trim a
//     trailing slash.
//  2. reconcile.Engine.Authenticate: bearer token → connector of
//     {tenant}; anything else is 401. principal.go carries the result. On
//     PostgreSQL the engine caches principals while the store listens for
//     their changes, so a request is one round trip, not two.
//     /Me (me.go) is the exception: it answers for the person whose
//     session cookie Config.Session resolves (jit's, wired in cmd/scimd).
//     With Config.RequestLog set, requestlog.go wraps the rest of the
//     request: reconcile.Record collects its plans, and once answered its
//     method, path, body without passwords (cut to 64 KiB), status,
//     latency and plans are handed to the log, which writes them in the
//     background. Server.Replay runs a logged request again as its
//     connector under reconcile.Preview: what it would do now, writing
//     nothing (the admin API's replay, scimd connector replay).
//  3. Reads are ours (resources.go): lists with filter and paging evaluated
//     in the database, single resources, and the service provider config
//     (discovery.go), because elimity-com/scim can neither page, project
//     nor stream. A shadow connector's reads lay its shadow store over the
//     real rows (shadow.go).
//  4. Writes: validate.go checks the body and names the attribute at fault,
//     then elimity-com/scim validates it against the schema and calls
//     users.go or groups.go, which build a reconcile.Input and apply it.
//  5. errors.go: every error becomes a SCIM error body; unknown errors are
//     logged under an ID and never shown.
//
// The package reads through a store.Reader and writes only through the
// engine. The library is handed POST, PUT and DELETE of a resource, and
// /Schemas and /ResourceTypes; the handler methods it cannot reach (Get,
// GetAll, Patch) are one stub its interface requires.
//
// The tenant and connector travel from auth to the handlers in the request
// context, because the library's handler interface passes only the request.
package scim
