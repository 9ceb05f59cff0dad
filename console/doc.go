// Package console is scimd's admin console: server-rendered HTML pages
// (html/template, with htmx for search as you type), embedded in the
// binary and served by scimd serve under /console/.
//
//	GET  /console/{tenant}/signin[?link=L]   the sign-in page: "Sign in with SSO" for each of the tenant's OIDC connectors, and, opened from a bootstrap link, a button that signs in (a GET changes nothing, so a link scanner cannot use the link up)
//	GET  /console/{tenant}/sso               where a sign-in through SSO (/auth/{tenant}/{connector}/login?return_to=this) comes back: the person's fresh sign-in becomes a console session if the mapping rules made them an administrator (role scimd-admin: their org unit and below; scimd-tenant-admin: the tenant), 303 to the users; else a 403 page and no session
//	POST /console/{tenant}/signin            uses the link, once: a console session, its cookie, 303 to the users
//	POST /console/{tenant}/signout           ends the session
//	GET  /console/{tenant}/users?q=&status=&orgUnit=&connector=&after=   the users: search, status, org unit and source connector filters, cursor paging; htmx asks for the table alone (HX-Request)
//	POST /console/{tenant}/users/add         add the email addresses pasted (one a line, or comma separated), all or nothing, and say what became of each (tenant-wide administrators; the form's body is capped at 16 KiB like every POST)
//	GET  /console/{tenant}/groups?q=&after=  the groups: search by a prefix of the name as you type, paged by name
//	GET  /console/{tenant}/groups/{id}?after=   a group: its member count and its members a page at a time, each linked to its page
//	GET  /console/{tenant}/users/{id}        a user: attributes and who set each, grants, sessions, audit timeline, lifecycle actions
//	POST /console/{tenant}/users/{id}/{action}   disable, enable, delete, restore, end-sessions
//	GET  /console/{tenant}/connectors                 the connectors: kind, scope, mode, live tokens, last request, the last 24 h's requests, 4xx and 5xx
//	GET  /console/{tenant}/connectors/{c}             a connector: activity, tokens, the shadow summary (shadow mode), held deletions; links to its request log and mapping
//	POST /console/{tenant}/connectors/{c}/tokens      create a token: the answer is the page with the secret, shown this once (never in a URL; no-store like every page)
//	POST /console/{tenant}/connectors/{c}/tokens/{id}/{action}   rotate (the answer shows the new secret; the old token is dead at once) or revoke (303 back)
//	POST /console/{tenant}/connectors/{c}/held        decision=approve|reject of the held writes ticked, or of all the page listed (id=… each; never one held later), 303 back
//	GET  /console/{tenant}/mapping[?connector=C]   the mapping editor: the tenant's configuration YAML (GET /config, else a starting point), its problems, a preview and an impact panel
//	POST /console/{tenant}/mapping/check     the YAML's problems at line:column (POST /config/check), as it is typed
//	POST /console/{tenant}/mapping/preview   a pasted payload or a logged push of C under the YAML as edited (POST /config/preview): match, rules fired, grants, changes
//	POST /console/{tenant}/mapping/impact    what the YAML as edited would change for the existing users (POST /config/impact)
//	POST /console/{tenant}/mapping/save      PUT /config: refused whole with its problems, or saved with its impact
//	POST /console/{tenant}/mapping/reapply   POST /reapply; GET /console/{tenant}/mapping/reapply/{id} its progress, polled by htmx until done
//	GET  /console/{tenant}/imports           the import page: the upload form (connector, dry run first, file), the export, the recent jobs
//	POST /console/{tenant}/imports           upload (multipart, the csrf field first): the file streams into POST /imports; 303 to its job
//	GET  /console/{tenant}/imports/{id}      a job: progress, polled by htmx (its #job section, HX-Request) every second until it ends; then the problems by line and column, the rows to confirm, Load, or the load's summary
//	POST /console/{tenant}/imports/{id}/load the dry run's held file loaded, accept= the checked lines; 303 to the load's job
//	GET  /console/{tenant}/export[?connector=C]   the users as a CSV download, streamed from GET /export
//	GET  /console/{tenant}/audit?user=&connector=&source=&from=&to=&before=   the audit log, newest first: filters (user a userName or id; from and to minutes, UTC, to inclusive), next page; htmx asks for the table alone; a filter the API refuses is said in its place
//	GET  /console/{tenant}/connectors/{c}/requests?before=   the connector's SCIM request log: time, method, path, status, latency
//	GET  /console/{tenant}/connectors/{c}/requests/{id}      a logged request: its body, response status and what it did then
//	POST /console/{tenant}/connectors/{c}/requests/{id}/replay   what it would do now (status and plans); nothing is written
//	GET  /console/static/{file}              htmx, the style sheet and the script
//
// The console is a client of the admin API and nothing else: it holds no
// database and no business logic. Each page calls the admin API's
// handler in process, with a request whose context carries the signed-in
// administrator's principal (Config.WithPrincipal; cmd/scimd wires
// admin.WithPrincipal), so what an administrator sees and may do is what
// the API lets their admin connector see and do, org-unit scope included,
// and every change is audited as that connector. A page's data is in its
// own response: one request to the server for its first paint. The one
// POST past the 16 KiB cap of a form is the CSV upload (signedInUpload):
// up to the admin API's import limit, streamed through, never held.
//
// Security: every response carries a strict Content-Security-Policy (no
// inline script or style, frame-ancestors 'none'), X-Frame-Options DENY,
// nosniff and Referrer-Policy same-origin. Every state-changing request
// passes net/http's CrossOriginProtection (Sec-Fetch-Site, else Origin
// against Host) and, once signed in, carries the session's CSRF token
// (a hash of the session's secret) in a form field. The session cookie is
// HttpOnly, SameSite=Lax, Secure over https, Path=/console/, and holds a
// random secret whose SHA-256 alone is stored. A signed-in form's body is
// at most 16 KiB, but on the routes that carry a document, registered
// with signedInUpTo and their own limit (the mapping editor's: 768 KiB,
// a 256 KiB YAML form-encoded). Output is escaped by html/template.
package console
