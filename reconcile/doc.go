// Package reconcile is the one pipeline every write goes through, whatever
// its source (SCIM push, OIDC login, CSV import, admin):
//
//	Input → plan (match → map → diff) → Plan → apply (one transaction + audit event)
//
// input.go says what a source hands in; plan.go works out the exact change
// without writing (what a dry run shows); apply.go writes a plan in one
// transaction with its audit event. Apply plans inside the transaction it
// writes in, so a dry run and a real run use the same code and cannot
// disagree. Writers of one resource take turns (the transaction locks the
// row it plans on); should another writer still get there first, Apply
// plans again, unless the client pinned a version with If-Match. A create
// that writes one statement needs no transaction on PostgreSQL: it leaves
// the userName to the unique index and checks the configuration version
// in the insert (Engine.Apply).
//
// It is the only package that writes (deps_test.go checks that no source
// holds a *store.DB or *store.Tx). Beside users and groups, admin.go holds
// the administration of a tenant: tokens, connectors' profiles and admin
// scope, the saved configuration, org units and groups, each one
// transaction with an audit event naming who (the principal, or the
// command line) and what before and after, never a token or its hash.
//
// shadow.go is shadow mode (issue 12): under [Shadow] (a principal in
// mode shadow), Apply plans against the connector's shadow store laid over
// the real rows and keeps the plan (shadow log) and the resource as it
// would be (shadow store) instead of writing; shadowadmin.go switches the
// mode (SetMode), counts the log (ShadowSummary) and clears it.
//
// writepolicy.go applies the write policies of rules and precedence
// entries (onCreate, ifEmpty); local.go refuses, and audits, a connector's
// write that would reach a local (break-glass) user, and lets an
// administrator mark one (SetUserLocal).
//
// principal.go is who a write comes from: the token format, and
// Authenticate, the one check every edge runs to turn a bearer token into
// the store.Principal that an Input carries; and ErrorID, the random ID
// under which every edge logs an internal error.
//
// session.go is sign-in sessions: StartSession, Session (a request's live
// session, checked against idle and absolute expiry and MaySignIn, which
// says whether a user may sign in now and why not), EndSession (logout)
// and EndUserSessions (an administrator), each audited on the user. A write
// that disables or deletes a user ends their live sessions in its own
// transaction (apply.go, remap.go).
//
// console.go and consolesso.go are the admin console's sign-in on the same
// tables: a bootstrap link (ConsoleBootstrap, ConsoleSignIn), or a person's
// fresh SSO sign-in turned into a console session when the mapping rules
// grant them ConsoleAdminRole (their org unit) or ConsoleTenantAdminRole
// (ConsoleSSOSignIn); ConsoleSession is the admin principal a session acts
// as, narrowed to the person and naming them (store.Principal.ActorID), so
// that audit events say who (withActor).
//
// guard.go is the deletion guard: a connector's deactivations and
// deletions beyond its threshold per sliding window are held, not applied
// ([*HeldError], 503 at the SCIM edge), until an administrator approves
// ([Engine.ApproveHeld]) or rejects ([Engine.RejectHeld]) them; a CSV
// load crossing it loads nothing unless LoadOptions.ApproveDeletions.
//
// impact.go is what a new configuration changes for a tenant's existing
// users (Impact), walking them a thousand at a time through the mapping
// the writes use, without writing; reapply.go is the job that applies the
// saved configuration to them (StartReapply, RunReapply): the same walk,
// each batch one transaction with its audit events naming the job and the
// job's cursor, so that a job stopped anywhere resumes after the last
// batch it committed.
package reconcile
