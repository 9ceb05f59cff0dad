// Package console is scimd's admin console: server-rendered HTML pages
// (html/template, with htmx for search as you type), embedded in the
// binary and served by scimd serve under /console/.
//
//	GET  /console/{tenant}/signin?link=L     the page of a bootstrap link: a button that signs in (a GET changes nothing, so a link scanner cannot use the link up)
//	POST /console/{tenant}/signin            uses the link, once: a console session, its cookie, 303 to the users
//	POST /console/{tenant}/signout           ends the session
//	GET  /console/{tenant}/users?q=&status=&orgUnit=&connector=&after=   the users: search, status, org unit and source connector filters, cursor paging; htmx asks for the table alone (HX-Request)
//	POST /console/{tenant}/users/add         add the email addresses pasted (one a line, or comma separated), all or nothing, and say what became of each (tenant-wide administrators; the form's body is capped at 16 KiB like every POST)
//	GET  /console/{tenant}/groups?q=&after=  the groups: search by a prefix of the name as you type, paged by name
//	GET  /console/{tenant}/groups/{id}?after=   a group: its member count and its members a page at a time, each linked to its page
//	GET  /console/{tenant}/users/{id}        a user: attributes and who set each, grants, sessions, audit timeline, lifecycle actions
//	POST /console/{tenant}/users/{id}/{action}   disable, enable, delete, restore, end-sessions
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
