// Package admin is scimd's admin API: JSON over HTTP for the people who
// configure connectors and look after a tenant's users (the admin console,
// when it comes, is its first client).
//
//	GET  /admin/v1/{tenant}/users?q=&status=&orgUnit=&after=&limit=  the users the administrator sees, a page at a time: q a prefix of userName, displayName or an email (userName matches first, in its order; then displayName, then email); status active|disabled|pending|deleted (repeatable); after the answer's next
//	POST /admin/v1/{tenant}/users/{id}/disable                 disable: SCIM active false, sign-in refused, sessions end
//	POST /admin/v1/{tenant}/users/{id}/enable[?force=true]     enable; a user pending activation only with force
//	DELETE /admin/v1/{tenant}/users/{id}                       delete softly, as a SCIM DELETE (204)
//	POST /admin/v1/{tenant}/users/{id}/restore                 bring a deleted user back, disabled and without roles and groups; 409 if their userName was taken
//	POST /admin/v1/{tenant}/users/{id}/activation              resend the activation: a new one-time link queued (202), the old ones dead; 409 unless the user is pending
//	POST /admin/v1/{tenant}/users/{id}/local {"local": true}   mark the user local (break-glass): no connector may match, change, disable or delete them; false unmarks
//	PUT  /admin/v1/{tenant}/users/{id}/grants {"roles","groups"}  set the administrator's own roles and groups of the user (no rule revokes them)
//	GET  /admin/v1/{tenant}/users/{id}                         a user: status, access window, grants and who made each, who set each mapped attribute and when
//	GET  /admin/v1/{tenant}/users/{id}/events                  its audit events, oldest first: source, connector, rules fired, attributes before and after
//	POST /admin/v1/{tenant}/users/{id}/erase                   erase the person (GDPR art. 17): the user deleted, their values dropped from its audit events
//	GET  /admin/v1/{tenant}/users/{id}/sessions                its sign-in sessions, newest first, live and ended; never a secret
//	DELETE /admin/v1/{tenant}/users/{id}/sessions              end every live session of the user at once (audited)
//	POST /admin/v1/{tenant}/connectors/{connector}/preview     what a SCIM User payload pushed by the connector would do: match, rules fired, grants, changes; writes nothing
//	GET  /admin/v1/{tenant}/connectors/{connector}             the connector's configuration as scimd runs it
//	GET  /admin/v1/{tenant}/connectors/{connector}/requests?limit=&before=   its SCIM request log, newest first (keyset: next is the following page's before): method, path, status, latency, plans; never a password or a header
//	GET  /admin/v1/{tenant}/connectors/{connector}/requests/{id}   one logged request, with its body
//	POST /admin/v1/{tenant}/connectors/{connector}/requests/{id}/replay   what that request would do now, with today's data and rules: status and plans; writes nothing (Config.Replayer)
//	GET  /admin/v1/{tenant}/connectors/{connector}/shadow      what a shadow connector would have done: counts, and a page of its plans (?after=ID&count=N)
//	GET  /admin/v1/{tenant}/connectors/{connector}/held?state=pending|approved|rejected&after=ID   the writes the deletion guard held
//	POST /admin/v1/{tenant}/connectors/{connector}/held/approve   {"ids": [...]} or no body for every pending one: apply them, in order, past the guard (audited)
//	POST /admin/v1/{tenant}/connectors/{connector}/held/reject    the same, dropping them; the IdP's retry of a rejected write is then a 403
//	PUT  /admin/v1/{tenant}/config                             save the tenant's connector configuration (the YAML of serve --config, this tenant only); checked first, refused whole with every problem and its line
//	POST /admin/v1/{tenant}/config/impact                      body: a configuration; what it would change for every existing user (grants added and revoked, status, access window), counts by rule and by change, a sample; writes nothing
//	POST /admin/v1/{tenant}/reapply                            apply the saved configuration to the existing users: a background job (202), or the unfinished one resumed after its last batch
//	GET  /admin/v1/{tenant}/reapply/{id}                       a re-apply job: state (running, done), users done, changed, failed, of total
//	GET  /admin/v1/{tenant}/config                             the configuration saved through the API, with its version
//	POST /admin/v1/{tenant}/orgunits   {"path": "A/B"}          create an org unit (and any missing above it) that rules may grant; 409 if it exists
//	POST /admin/v1/{tenant}/groups     {"displayName": "X"}     create an empty group that rules may grant; 409 if the name is taken (any case)
//	POST /admin/v1/{tenant}/imports?connector=C&dryRun=true&accept=all|none|4,7   a CSV file (text/csv, at most Config.MaxImportBytes, 100 MiB): 202 and the job's Location; it runs in the background
//	GET  /admin/v1/{tenant}/imports/{id}                       a job: state (queued, validating, loading, done, failed), rows done and total, and once ended its report (counts, summary, problems by line and column, decisions, users created)
//	GET  /admin/v1/{tenant}/imports                            the tenant's last 100 jobs, newest first
//
// An import job runs in the process that took the file, its progress
// written to its row every second. A job whose row has had no news for
// Config.ImportStale is shown failed: its process stopped (a load is one
// transaction, so it wrote nothing); scimd serve marks such rows failed
// as it starts.
//
//	GET  /admin/v1/{tenant}/export[?connector=C]               the users the administrator sees as a CSV file (text/csv attachment), in connector C's layout with its external IDs, streamed; importing it back changes nothing
//
// Every change (configuration, org unit, group) is an engine operation:
// one transaction with an audit event naming the admin connector, before
// and after. The API reads through a store.Reader and holds no database.
// Bodies are bounded by Config.MaxBodyBytes (serve --max-body-bytes): 413.
//
// A configuration saved through the API takes the place of the file's for
// that tenant, on every replica from the next write on (each write reads
// the tenant's configuration version; compiled configurations are cached
// per version).
//
// Requests carry the bearer token of one of the tenant's admin connectors
// (scimd token create --tenant T --connector NAME --admin [--org-unit PATH]).
// An admin connector scoped to an org unit sees the users of that unit and
// everything below it, and nothing above or beside (001 seed): other users
// answer 404; it creates org units below its own only; configuring
// connectors and creating groups (which belong to the whole tenant) take
// a tenant-wide one (403). Admin
// tokens do not open the SCIM endpoint, nor SCIM tokens this API. Errors are
// JSON objects {"status", "detail"}.
package admin
