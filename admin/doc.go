// Package admin is scimd's admin API: JSON over HTTP for the people who
// configure connectors and look after a tenant's users (the admin console,
// when it comes, is its first client).
//
//	GET  /admin/v1/{tenant}/users?q=&status=&orgUnit=&connector=&after=&limit=  the users the administrator sees, a page at a time: q a prefix of userName, displayName or an email (userName matches first, in its order; then displayName, then email); status active|disabled|pending|deleted (repeatable); connector NAME the users it manages (its source: it created, matched or imported them); after the answer's next (a page a filter stopped short, even empty, still has one)
//	POST /admin/v1/{tenant}/users/{id}/disable                 disable: SCIM active false, sign-in refused, sessions end
//	POST /admin/v1/{tenant}/users/{id}/enable[?force=true]     enable; a user pending activation only with force
//	DELETE /admin/v1/{tenant}/users/{id}                       delete softly, as a SCIM DELETE (204)
//	POST /admin/v1/{tenant}/users/{id}/restore                 bring a deleted user back, disabled and without roles and groups; 409 if their userName was taken
//	POST /admin/v1/{tenant}/users/{id}/activation              resend the activation: a new one-time link queued (202), the old ones dead; 409 unless the user is pending
//	POST /admin/v1/{tenant}/users/{id}/local {"local": true}   mark the user local (break-glass): no connector may match, change, disable or delete them; false unmarks
//	PUT  /admin/v1/{tenant}/users/{id}/grants {"roles","groups"}  set the administrator's own roles and groups of the user (no rule revokes them)
//	GET  /admin/v1/{tenant}/users/{id}                         a user: status, access window, grants and who made each, who set each mapped attribute and when
//	GET  /admin/v1/{tenant}/users/{id}/events                  its audit events, oldest first: source, connector, rules fired, attributes before and after
//	GET  /admin/v1/{tenant}/audit?user=&connector=&source=&since=&until=&before=&limit=   the tenant's audit log, newest first (keyset: next is the following page's before), each filter on an index: user an id or userName, connector a name, since inclusive and until exclusive (RFC 3339 or a date, UTC); an org unit's administrator only with user=, one of their unit
//	POST /admin/v1/{tenant}/users/{id}/erase                   erase the person (GDPR art. 17): the user deleted, their values dropped from its audit events
//	GET  /admin/v1/{tenant}/users/{id}/sessions                its sign-in sessions, newest first, live and ended; never a secret
//	DELETE /admin/v1/{tenant}/users/{id}/sessions              end every live session of the user at once (audited)
//	GET  /admin/v1/{tenant}/connectors                         the tenant's connectors: kind, admin flag and org unit, mode (live, shadow), live tokens and their last use, the latest logged request and the last 24 h's requests, 4xx and 5xx (from the request log)
//	GET  /admin/v1/{tenant}/connectors/{connector}/tokens      its tokens, newest first: id, hint, created, revoked, last used (a SCIM request, to the minute); never a secret or its hash
//	POST /admin/v1/{tenant}/connectors/{connector}/tokens      a new token (201; at most two live, else 409): its secret in this answer only (no-store)
//	POST /admin/v1/{tenant}/connectors/{connector}/tokens/{id}/rotate   a new token in the place of a live one, which is revoked in the same transaction, with no grace (201, the new secret once); for no downtime create a second token, move the IdP, then revoke
//	DELETE /admin/v1/{tenant}/connectors/{connector}/tokens/{id}   revoke a token (audited; twice is no error)
//	POST /admin/v1/{tenant}/connectors/{connector}/preview     what a SCIM User payload pushed by the connector would do: match, rules fired, grants, changes; writes nothing
//	GET  /admin/v1/{tenant}/connectors/{connector}             the connector's configuration as scimd runs it
//	GET  /admin/v1/{tenant}/connectors/{connector}/requests?limit=&before=   its SCIM request log, newest first (keyset: next is the following page's before): method, path, status, latency, plans; never a password or a header
//	GET  /admin/v1/{tenant}/connectors/{connector}/requests/{id}   one logged request, with its body
//	POST /admin/v1/{tenant}/connectors/{connector}/requests/{id}/replay   what that request would do now, with today's data and rules: status and plans; writes nothing (Config.Replayer)
//	GET  /admin/v1/{tenant}/connectors/{connector}/shadow      what a shadow connector would have done: counts, and a page of its plans (?after=ID&count=N)
//	GET  /admin/v1/{tenant}/connectors/{connector}/held?state=pending|approved|rejected&after=ID   the writes the deletion guard held
//	POST /admin/v1/{tenant}/connectors/{connector}/held/approve   {"ids": [...]} or no body for every pending one: apply them, in order, past the guard (audited)
//	POST /admin/v1/{tenant}/connectors/{connector}/held/reject    the same, dropping them; the IdP's retry of a rejected write is then a 403
//	PUT  /admin/v1/{tenant}/config                             save the tenant's connector configuration (the YAML of serve --config, this tenant only); checked first, refused whole with every problem and its line; with If-Match: "N" (GET /config's ETag; "0" when none was saved) only over version N, else 412, nothing saved
//	GET  /admin/v1/{tenant}/config/running                     the configuration the tenant runs now, as YAML: {"from": "api" (saved, with its version) | "file" (serve --config's section of this tenant, comments kept) | "defaults" (none), "version", "yaml"}
//	POST /admin/v1/{tenant}/config/check                       body: a configuration; checked as PUT checks it, saving nothing: {"valid", "problems": [{"Line", "Column", "Msg", "Hint"}]}, every problem with its line and column (the mapping editor's as-you-type check)
//	POST /admin/v1/{tenant}/config/preview  {"connector": C, "yaml": Y, "user": {…}} or "request": ID   what a SCIM User payload (or C's logged POST/PUT of a User, or PATCH of one, replayed) pushed by C would do were Y saved: match, rules fired, grants, changes; writes nothing; Y's problems: 400
//	POST /admin/v1/{tenant}/config/impact                      body: a configuration; what it would change for every existing user (grants added and revoked, status, access window), counts by rule and by change, a sample; writes nothing
//	POST /admin/v1/{tenant}/reapply                            apply the saved configuration to the existing users: a background job (202), or the unfinished one resumed after its last batch
//	GET  /admin/v1/{tenant}/reapply/{id}                       a re-apply job: state (running, done), users done, changed, failed, of total
//	GET  /admin/v1/{tenant}/config                             the configuration saved through the API, with its version
//	POST /admin/v1/{tenant}/orgunits   {"path": "A/B"}          create an org unit (and any missing above it) that rules may grant; 409 if it exists
//	POST /admin/v1/{tenant}/groups     {"displayName": "X"}     create an empty group that rules may grant; 409 if the name is taken (any case)
//	GET  /admin/v1/{tenant}/groups?q=&after=&limit=            the groups by name, a page at a time: q a prefix of the displayName (any case); each with its member count up to 1000 (membersMore past it)
//	GET  /admin/v1/{tenant}/groups/{id}?after=&limit=          a group, its member count up to 10,000, and a page of its members (users, then nested groups); next is the following page's after
//	POST /admin/v1/{tenant}/imports?connector=C&dryRun=true&accept=all|none|4,7   a CSV file (text/csv, at most Config.MaxImportBytes, 100 MiB): 202 and the job's Location; it runs in the background
//	GET  /admin/v1/{tenant}/imports/{id}                       a job: state (queued, validating, loading, done, failed), rows done and total, and once ended its report (counts, summary, problems by line and column, decisions, users created); loadableUntil on a dry run whose file is held for its load
//	POST /admin/v1/{tenant}/imports/{id}/load?accept=all|none|4,7&approveDeletions=true   load the file dry run {id} validated, without sending it again: 202 and the new job's Location; 409 when its file is not held here
//	GET  /admin/v1/{tenant}/imports                            the tenant's last 100 jobs, newest first
//
// An import job runs in the process that took the file, its progress
// written to its row every second. A job whose row has had no news for
// Config.ImportStale is shown failed: its process stopped (a load is one
// transaction, so it wrote nothing); scimd serve marks such rows failed
// as it starts.
//
// The file of a dry run that found no problem (rows waiting for a
// decision are none) is held on the disk of the process that validated
// it, for Config.ImportKeep (an hour), at most Config.MaxHeldImports of
// them (the oldest dropped first), open and without a name (a process
// that stops leaves none behind), so that the administrator who read
// the validation loads what was validated, deciding its rows with
// accept=, without choosing the file again: POST /imports/{id}/load. It
// goes when a load of it commits. Held files are the one thing of an
// import kept in process: behind a load balancer the load must reach
// the replica that validated (sticky sessions, for the console too);
// elsewhere, or after a restart, the load is a 409 saying to post the
// file again. Keeping up to 100 MiB files in
// the database for an hour would serve every replica, at the price of
// writing each file twice; a dry run's report alone cannot be loaded.
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
// answer 404; of a group's members it sees the users of its unit alone
// (and the nested groups), of any group no member count, which would
// count users outside the unit; it creates org units below its own only; configuring
// connectors and creating groups (which belong to the whole tenant) take
// a tenant-wide one (403); it reads the audit log one user of its unit at
// a time (GET /audit?user=), the rest of the log being the whole tenant's
// and not to be read by unit from an index. Admin
// tokens do not open the SCIM endpoint, nor SCIM tokens this API. Errors are
// JSON objects {"status", "detail"}.
package admin
