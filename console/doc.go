// Package console is scimd's admin console: server-rendered HTML pages
// (html/template, with htmx for search as you type), embedded in the
// binary and served by scimd serve under /console/.
//
//	GET  /console/{tenant}/signin?link=L     the page of a bootstrap link: a button that signs in (a GET changes nothing, so a link scanner cannot use the link up)
//	POST /console/{tenant}/signin            uses the link, once: a console session, its cookie, 303 to the users
//	POST /console/{tenant}/signout           ends the session
//	GET  /console/{tenant}/users?q=&status=&after=   the users: search, status filter, cursor paging; htmx asks for the table alone (HX-Request)
//	GET  /console/{tenant}/users/{id}        a user: attributes and who set each, grants, sessions, audit timeline, lifecycle actions
//	POST /console/{tenant}/users/{id}/{action}   disable, enable, delete, restore, end-sessions
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
// own response: one request to the server for its first paint.
//
// Security: every response carries a strict Content-Security-Policy (no
// inline script or style, frame-ancestors 'none'), X-Frame-Options DENY,
// nosniff and Referrer-Policy same-origin. Every state-changing request
// passes net/http's CrossOriginProtection (Sec-Fetch-Site, else Origin
// against Host) and, once signed in, carries the session's CSRF token
// (a hash of the session's secret) in a form field. The session cookie is
// HttpOnly, SameSite=Lax, Secure over https, Path=/console/, and holds a
// random secret whose SHA-256 alone is stored. Output is escaped by
// html/template.
package console
