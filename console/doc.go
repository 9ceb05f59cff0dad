// Package console is scimd's admin console: server-rendered HTML pages
// (html/template, with htmx for search as you type), embedded in the
// binary and served by scimd serve under /console/.
//
//	GET  /console/{tenant}/signin[?link=L]   the sign-in page: "Sign in with SSO" for each of the tenant's OIDC connectors, and, opened from a bootstrap link, a button that signs in (a GET changes nothing, so a link scanner cannot use the link up)
//	GET  /console/{tenant}/sso               where a sign-in through SSO (/auth/{tenant}/{connector}/login?return_to=this) comes back: the person's fresh sign-in becomes a console session if the mapping rules made them an administrator (role scimd-admin: their org unit and below; scimd-tenant-admin: the tenant), 303 to the users; else a 403 page and no session
//	POST /console/{tenant}/signin            uses the link, once: a console session, its cookie, 303 to the users
//	POST /console/{tenant}/signout           ends the session
//	GET  /console/{tenant}/users?q=&status=&after=   the users: search, status filter, cursor paging; htmx asks for the table alone (HX-Request)
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
