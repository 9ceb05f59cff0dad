// Package admin is scimd's admin API: JSON over HTTP for the people who
// configure connectors and look after a tenant's users (the admin console,
// when it comes, is its first client).
//
//	GET  /admin/v1/{tenant}/users/{id}                         a user: status, access window, grants and who made each, who set each mapped attribute and when
//	POST /admin/v1/{tenant}/connectors/{connector}/preview     what a SCIM User payload pushed by the connector would do: match, rules fired, grants, changes; writes nothing
//	GET  /admin/v1/{tenant}/connectors/{connector}             the connector's configuration as scimd runs it
//
// Requests carry the bearer token of the tenant's connector named "admin"
// (scimd token create --tenant T --connector admin). Errors are JSON
// objects {"status", "detail"}.
package admin
