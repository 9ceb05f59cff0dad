package reconcile

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/schemas"

	"github.com/scimd/scimd/store"
)

// Engine plans and applies writes. It is safe for concurrent use.
type Engine struct {
	db  *store.DB
	cfg *rules.Config

	mu    sync.Mutex
	saved map[int64]savedConfig // by tenant id
	// seen is the configuration version each tenant had when last read.
	seen map[int64]int64

	principals principalCache

	// clock, sessionIdle and sessionMax are the sessions' (session.go).
	clock                   func() time.Time
	sessionIdle, sessionMax time.Duration

	mail MailConfig // notify.go

	observer Observer // observe.go; nil: none
}

// savedConfig is a tenant's configuration saved through the admin API,
// compiled, at the version it was read.
type savedConfig struct {
	version int64
	cfg     *rules.Config
}

// New returns an engine writing to db, mapping through the connectors
// that cfg configures (the file given to serve). A tenant's configuration
// saved through the admin API takes the place of the file's; a connector
// neither names (or a nil cfg) gets [rules.Default]: the default matching
// order and no rules.
func New(db *store.DB, cfg *rules.Config) *Engine {
	return &Engine{db: db, cfg: cfg, saved: map[int64]savedConfig{}, seen: map[int64]int64{}}
}

// Connector returns the configuration of a tenant's connector as writes
// use it now.
func (e *Engine) Connector(ctx context.Context, tenantID int64, tenant, connector string) (*rules.Connector, error) {
	c, _, err := e.connector(ctx, e.db, tenantID, tenant, connector)
	return c, err
}

// connector returns the configuration of a tenant's connector and the
// version of the tenant's configuration it comes from (see [Engine.config]).
func (e *Engine) connector(ctx context.Context, r reads, tenantID int64, tenant, connector string) (*rules.Connector, int64, error) {
	version, err := r.TenantConfigVersion(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	e.mu.Lock()
	e.seen[tenantID] = max(e.seen[tenantID], version)
	e.mu.Unlock()
	return e.connectorAt(ctx, r, tenantID, tenant, connector, version)
}

// connectorAt is connector at a known configuration version.
func (e *Engine) connectorAt(ctx context.Context, r reads, tenantID int64, tenant, connector string, version int64) (*rules.Connector, int64, error) {
	cfg, version, err := e.configAt(ctx, r, tenantID, tenant, version)
	if err != nil {
		return nil, 0, err
	}
	if c, ok := cfg.Connector(tenant, connector); ok {
		return c, version, nil
	}
	return defaultConnector(tenant, connector), version, nil
}

// UserExtensions returns the tenant's own User extension schemas, as its
// configuration declares them, for a request of p. p's configuration
// version, read with its token, finds the compiled configuration without
// another query.
func (e *Engine) UserExtensions(ctx context.Context, p store.Principal) ([]schema.Schema, error) {
	cfg, _, err := e.configAt(ctx, e.db, p.TenantID, p.TenantName, p.ConfigVersion)
	if err != nil {
		return nil, err
	}
	t, ok := cfg.Tenant(p.TenantName)
	if !ok {
		return nil, nil
	}
	out := make([]schema.Schema, len(t.Extensions))
	for i, x := range t.Extensions {
		attrs := make([]schemas.ExtensionAttribute, len(x.Attributes))
		for j, a := range x.Attributes {
			attrs[j] = schemas.ExtensionAttribute(a)
		}
		out[i] = schemas.Extension(x.Schema, x.Name, attrs)
	}
	return out, nil
}

// configAt returns the tenant's configuration at a version read with the
// caller's other reads, so that every replica maps with the configuration
// saved last: the one saved through the admin API if any (version > 0),
// else the file's (which may be nil). Saved ones are compiled once per
// process and version, the text read only then. It returns the version
// of what it returns, which may be newer. A preview under a [Draft] maps
// through the draft.
func (e *Engine) configAt(ctx context.Context, r reads, tenantID int64, tenant string, version int64) (*rules.Config, int64, error) {
	if cfg := draft(ctx); cfg != nil {
		return cfg, version, nil
	}
	if version == 0 {
		return e.cfg, 0, nil
	}
	e.mu.Lock()
	sc, ok := e.saved[tenantID]
	e.mu.Unlock()
	if ok && sc.version >= version {
		return sc.cfg, sc.version, nil
	}
	text, version, err := r.TenantConfig(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	c, err := ParseTenantConfig(tenant, text)
	if err != nil {
		return nil, 0, fmt.Errorf("the configuration saved for tenant %s (version %d): %w", tenant, version, err)
	}
	e.mu.Lock()
	if cur, ok := e.saved[tenantID]; !ok || cur.version < version {
		e.saved[tenantID] = savedConfig{version: version, cfg: c}
	}
	e.mu.Unlock()
	return c, version, nil
}

// FileConfig returns the tenant's section of the configuration the engine
// was made with (serve's file) as a configuration of its own, what the
// tenant runs while none is saved through the admin API; false if the
// file does not name the tenant.
func (e *Engine) FileConfig(tenant string) (string, bool) {
	t, ok := e.cfg.Tenant(tenant)
	if !ok {
		return "", false
	}
	return t.Source, t.Source != ""
}

// ParseTenantConfig checks a connector configuration to be saved for one
// tenant: a configuration file (the format serve --config reads) that
// configures that tenant and no other.
func ParseTenantConfig(tenant, text string) (*rules.Config, error) {
	file := tenant + ".yaml"
	cfg, err := rules.Load(file, []byte(text))
	if err != nil {
		return nil, err
	}
	for _, t := range cfg.Tenants {
		if t.Name != tenant {
			return nil, &rules.Error{Problems: []rules.Problem{{File: file,
				Msg: fmt.Sprintf("configures tenant %q; a tenant's configuration names that tenant only", t.Name), Hint: "name: " + tenant}}}
		}
	}
	return cfg, nil
}

// Plan works out what in would change, reading the database but writing
// nothing: the dry run (a preview).
func (e *Engine) Plan(ctx context.Context, in Input) (*Plan, error) {
	conn, _, err := e.connector(ctx, e.db, in.TenantID, in.TenantName, in.ConnectorName)
	if err != nil {
		return nil, err
	}
	return plan(ctx, e.db, conn, in, false)
}

// PlanWith works out what in would change were the tenant's connector
// configuration text (see [ParseTenantConfig]), not the one saved, in
// force: the preview of an edited, unsaved configuration. It reads the
// database and writes nothing; a text with problems is a [*rules.Error]
// listing each. Like [Engine.Plan], it leaves to its caller who may ask.
// It is Plan in a [Preview] under a [Draft] of the text, as a logged
// request replayed under edited rules is.
func (e *Engine) PlanWith(ctx context.Context, in Input, text string) (*Plan, error) {
	cfg, err := ParseTenantConfig(in.TenantName, text)
	if err != nil {
		return nil, err
	}
	ctx, _ = Preview(Draft(ctx, cfg))
	return e.Plan(ctx, in)
}

// replans bounds how often Apply plans again after losing a race to another
// writer of the same resource, before answering [store.ErrStale].
const replans = 3

// Apply plans in and writes the plan in one transaction, with an audit
// event. It plans on the rows as the transaction locks them, so that
// concurrent writers of one resource take turns; should another writer
// still change the resource between planning and writing, it plans again
// (a few times), unless the input carries IfMatch, which fails at once
// with [store.ErrStale]. Inside an [Engine.Batch] the transaction is a
// savepoint of the batch's.
//
// A create leaves to the unique index what a preview reads first (is the
// userName taken, by whom): when the index refuses it, Apply plans again
// reading it, so that it answers as the preview does (a conflict, or a
// match).
//
// With the context of a [Record] or a [Preview], Apply records the plan;
// in a preview it writes nothing. With that of a [Shadow] it keeps the
// plan in the connector's shadow store instead of writing it (shadow.go).
func (e *Engine) Apply(ctx context.Context, in Input) (*Plan, error) {
	rec := recorder(ctx)
	if rec != nil && rec.preview {
		p, err := e.Plan(ctx, in)
		rec.add(p, err)
		e.observeApply(ctx, in, p, err)
		return p, err
	}
	apply := e.apply
	if Shadowing(ctx) {
		apply = e.applyShadow
	}
	p, err := apply(ctx, in)
	rec.add(p, err)
	e.observeApply(ctx, in, p, err)
	return p, err
}

func (e *Engine) apply(ctx context.Context, in Input) (*Plan, error) {
	if p, done, err := e.deferCreate(ctx, in); done {
		return p, err
	}
	if p, done, err := e.createAtOnce(ctx, in); done {
		return p, err
	}
	byIndex := true
	for attempt := 0; ; attempt++ {
		var p *Plan
		var held error
		err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			conn, version, err := e.connector(ctx, tx, in.TenantID, in.TenantName, in.ConnectorName)
			if err != nil {
				return err
			}
			if p, err = plan(ctx, tx, conn, in, byIndex); err != nil {
				return err
			}
			p.configVersion = version
			if held, err = e.guard(ctx, tx, conn, p); err != nil || held != nil {
				return err // a held write commits its hold, not its plan
			}
			if err := write(ctx, tx, p); err != nil {
				return err
			}
			if p.Action == string(Create) && p.User != nil {
				return e.notifyCreated(ctx, tx, []*Plan{p})
			}
			return nil
		})
		var conflict *store.ConflictError
		if byIndex && in.Op == Create && errors.As(err, &conflict) && conflict.Attribute == "userName" {
			byIndex = false
			continue
		}
		if in.Op == Upsert && errors.As(err, &conflict) && conflict.Attribute == "userName" && attempt < replans {
			// Another upsert of the same person (a login racing the same
			// login) created the user first: plan again, and match them.
			continue
		}
		if errors.Is(err, store.ErrStale) && in.IfMatch == 0 && attempt < replans {
			continue
		}
		if p, ok := e.replayed(ctx, in, err); ok {
			return p, nil
		}
		if err != nil {
			return nil, e.auditLocal(ctx, in, err, nil)
		}
		if held != nil {
			return nil, held
		}
		return p, nil
	}
}

// createAtOnce applies a user's create in one statement, outside a
// transaction where the database allows it (PostgreSQL: see
// [store.DB.RunAtomic]), when its plan writes one: a new user without
// grants (a connector without rules grants none). On SQLite the statements
// run in a transaction of their own, but the plan is made before it, so
// that the single writer is held for the writes only. A create locks nothing,
// so what its plan reads (an email to match, if the connector vouches for
// one) reads the same outside a transaction. It plans with the tenant's
// configuration as last read, and the statement writes only while that is
// current. It reports done false, to apply in a transaction instead, for
// any other input, and when the statement did not write: the
// configuration moved, or the userName is taken (matching then decides).
func (e *Engine) createAtOnce(ctx context.Context, in Input) (p *Plan, done bool, err error) {
	if in.Op != Create || in.Kind != KindUser {
		return nil, false, nil
	}
	e.mu.Lock()
	version, seen := e.seen[in.TenantID]
	e.mu.Unlock()
	if !seen {
		return nil, false, nil
	}
	conn, version, err := e.connectorAt(ctx, e.db, in.TenantID, in.TenantName, in.ConnectorName, version)
	if err != nil || len(conn.Rules) > 0 || notifies(conn, in) {
		// A create that may notify writes its message in a transaction.
		return nil, false, nil
	}
	if p, err = plan(ctx, e.db, conn, in, true); err != nil || p.Action != string(Create) || len(p.Grants) > 0 {
		return nil, false, nil
	}
	p.configVersion = version
	err = e.db.RunAtomic(ctx, func(ctx context.Context, tx *store.Tx) error { return write(ctx, tx, p) })
	var conflict *store.ConflictError
	if errors.Is(err, store.ErrStale) || errors.As(err, &conflict) && conflict.Attribute == "userName" {
		return nil, false, nil
	}
	return p, true, err
}

// auditEvent is the audit event of writing p; a user's carries what the
// plan worked out, a group's gets its detail where it is written.
func auditEvent(p *Plan) *store.AuditEvent {
	in := p.Input
	event := &store.AuditEvent{
		TenantID:     in.TenantID,
		Source:       string(in.Source),
		ConnectorID:  in.ConnectorID,
		Action:       p.Action,
		ResourceType: string(in.Kind),
		Detail:       withActor(in.Principal, map[string]any{"before": p.Before}),
	}
	if p.User != nil && in.Op != Delete {
		event.Detail["after"] = p.User.Attrs
		for k, v := range map[string]any{"match": p.Match, "fired": p.Fired, "grants": p.Grants,
			"denied": p.Denied, "missing": p.Missing, "kept": p.Kept, "changes": p.Changes} {
			if !reflect.ValueOf(v).IsNil() {
				event.Detail[k] = v
			}
		}
	}
	return event
}

func write(ctx context.Context, tx *store.Tx, p *Plan) error {
	event, err := writeUnaudited(ctx, tx, p)
	if err != nil || event == nil {
		return err
	}
	if err := tx.AppendAudit(ctx, event); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return afterAudit(ctx, tx, p)
}

// afterAudit is what follows a user write's audit event: a write that
// disables the user ends their live sessions, their event after the
// disable's.
func afterAudit(ctx context.Context, tx *store.Tx, p *Plan) error {
	if p.User != nil && !p.linkOnly && p.Input.Op != Delete && disables(p.prevStatus, p.User) {
		return endSessions(ctx, tx, p.Input, p.User, EndUserDisable)
	}
	return nil
}

// writeUnaudited writes p and returns its audit event, for the caller to
// append (then afterAudit); nil when the plan writes nothing or its event
// went in with its row (a user's create).
func writeUnaudited(ctx context.Context, tx *store.Tx, p *Plan) (*store.AuditEvent, error) {
	if p.Action == "none" {
		return nil, nil
	}
	in := p.Input
	event := auditEvent(p)
	switch {
	case p.User != nil && p.linkOnly:
		// The user stays as stored, version included: only who manages
		// them changes, and the event says so.
		if err := tx.Link(ctx, in.ConnectorID, p.User.PK); err != nil {
			return nil, err
		}
		event.ResourceID, event.Detail = p.User.ID, map[string]any{}
		if p.Match != nil {
			event.Detail["match"] = p.Match
		}
	case p.User != nil:
		if p.User.PK == 0 {
			// The event goes in with the new row.
			return nil, createUser(ctx, tx, p, event)
		}
		if err := writeUser(ctx, tx, p); err != nil {
			return nil, err
		}
		event.ResourceID = p.User.ID
	case p.Group != nil:
		guard, err := guardMembers(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		var changed bool
		if p.conn == nil || !p.conn.Reads("groups") {
			changed, err = writeGroup(ctx, tx, p)
		} else {
			changed, err = writeGroupRemapping(ctx, tx, p)
		}
		if err == nil && changed {
			err = guard.check(ctx, tx)
		}
		if err != nil || !changed {
			return nil, err
		}
		event.ResourceID = p.Group.ID
		if in.Op != Delete {
			event.Detail["after"] = p.Group.Attrs
			if in.Op == Patch {
				changes := make([]map[string]any, len(p.MemberChanges))
				for i, c := range p.MemberChanges {
					changes[i] = map[string]any{"op": c.Op, "members": len(c.Members), "all": c.All}
				}
				event.Detail["memberChanges"] = changes
			} else {
				event.Detail["members"] = len(p.Members)
			}
			if len(p.Skipped) > 0 {
				event.Detail["skippedMembers"] = p.Skipped
			}
		}
	}
	return event, nil
}

// createUser writes a new user with its link, external ID, attribute
// sources and audit event in one statement, then the grants its rules
// give it, if any.
func createUser(ctx context.Context, tx *store.Tx, p *Plan, event *store.AuditEvent) error {
	err := tx.CreateUser(ctx, p.User, store.NewUser{ConnectorID: p.Input.ConnectorID, Sources: attributeSources(p),
		Event: event, ConfigVersion: p.configVersion})
	if err != nil {
		return err
	}
	return writeGrants(ctx, tx, p)
}

// attributeSources records the input's source as the setter of each
// attribute the plan changes.
func attributeSources(p *Plan) []store.AttributeSource {
	in := p.Input
	sources := make([]store.AttributeSource, len(p.Changes))
	for i, c := range p.Changes {
		sources[i] = store.AttributeSource{Attribute: c.Attribute, Source: string(in.Source), ConnectorID: in.ConnectorID, Rule: c.Rule}
	}
	return sources
}

func writeUser(ctx context.Context, tx *store.Tx, p *Plan) error {
	u, in := p.User, p.Input
	if in.Op == Delete {
		return softDelete(ctx, tx, in, u, time.Now().UTC().Truncate(time.Microsecond))
	}
	if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := tx.SetPasswordHash(ctx, u.PK, u.PasswordHash); err != nil {
		return err
	}

	if err := tx.Link(ctx, in.ConnectorID, u.PK); err != nil {
		return err
	}
	if u.ExternalID != p.prevExternalID {
		if err := tx.SetUserExternalID(ctx, in.ConnectorID, u.PK, u.ExternalID); err != nil {
			return err
		}
	}
	if err := writeGrants(ctx, tx, p); err != nil {
		return err
	}
	return tx.SetAttributeSources(ctx, u.PK, attributeSources(p))
}

// writeGrants adds and removes the plan's grants, first creating the org
// units, roles and groups the connector may create on demand.
func writeGrants(ctx context.Context, tx *store.Tx, p *Plan) error {
	in, userPK := p.Input, p.User.PK
	groups := map[string]int64{} // folded name → pk, for roles granted with a group
	for i := range p.Grants {
		c := &p.Grants[i]
		if c.Op == "add" && c.Create {
			pk, err := create(ctx, tx, in.TenantID, c)
			if err != nil {
				return err
			}
			c.grant.TargetPK = pk
		}
		if c.Kind == rules.KindGroup && c.Op != "remove" {
			groups[store.Fold(c.Name)] = c.grant.TargetPK
		}
	}
	for _, c := range p.Grants {
		var err error
		switch c.Op {
		case "add":
			g := c.grant
			g.GroupPK = groups[store.Fold(c.Group)]
			err = tx.AddGrant(ctx, userPK, g)
		case "remove":
			err = tx.RemoveGrant(ctx, userPK, c.grant)
		}
		if err != nil {
			return fmt.Errorf("grant %s %s: %w", c.Kind, c.Name, err)
		}
	}
	return nil
}

// create makes the org unit, role or group c names, on demand.
func create(ctx context.Context, tx *store.Tx, tenantID int64, c *GrantChange) (int64, error) {
	switch c.Kind {
	case rules.KindOrgUnit:
		o, err := tx.EnsureOrgUnit(ctx, tenantID, c.Name)
		return o.PK, err
	case rules.KindRole:
		ro, err := tx.EnsureRole(ctx, tenantID, c.Name)
		return ro.PK, err
	default:
		g, err := tx.EnsureGroup(ctx, tenantID, c.Name)
		return g.PK, err
	}
}

// writeGroup writes a group plan and reports whether it changed anything:
// a Patch or Replace whose document stays as it was and whose member
// changes change no membership (adding members the group holds, replacing
// them with the same set) writes nothing more, and the group keeps its
// version (RFC 7644 §3.5.2.1).
func writeGroup(ctx context.Context, tx *store.Tx, p *Plan) (bool, error) {
	g, in := p.Group, p.Input
	inserted := g.PK == 0 // else a replace, a patch, or a create adopting a group (see planGroup)
	switch {
	case in.Op == Delete:
		return true, tx.DeleteGroup(ctx, g.PK)
	case inserted:
		if err := tx.InsertGroup(ctx, g); err != nil {
			return false, err
		}
	}
	var changed int64
	if in.Op != Patch {
		n, err := tx.ReplaceMembers(ctx, g.PK, p.Members)
		if err != nil {
			return false, err
		}
		changed += n
	}
	for _, c := range p.MemberChanges {
		var n int64
		var err error
		switch {
		case c.Op == "replace", c.All:
			n, err = tx.ReplaceMembers(ctx, g.PK, c.Members)
		case c.Op == "add":
			n, err = tx.AddMembers(ctx, g.PK, c.Members)
		default:
			n, err = tx.RemoveMembers(ctx, g.PK, c.Members)
		}
		if err != nil {
			return false, err
		}
		changed += n
	}
	if p.sameDoc && changed == 0 {
		return false, nil
	}
	if !inserted {
		// The row was locked when the plan read it (see store's locked).
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return false, err
		}
	}
	if in.Op == Create || g.ExternalID != p.prevExternalID {
		if err := tx.SetGroupExternalID(ctx, in.ConnectorID, g.PK, g.ExternalID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// softDelete deletes user u softly at at (a SCIM or CSV DELETE, an
// administrator's): their live sessions end with them, a sign-in does not
// create them anew (the tombstone, SignIn), and every read then treats
// them as gone (SCIM answers 404) while the row stays for its history and
// a restore ([Engine.RestoreUser]); their grants and memberships go.
// Erase removes the row for good.
func softDelete(ctx context.Context, tx *store.Tx, in Input, u *store.User, at time.Time) error {
	if err := endSessions(ctx, tx, in, u, EndUserDelete); err != nil {
		return err
	}
	if err := tx.BuryUser(ctx, *u, emails(u.Attrs)); err != nil {
		return err
	}
	return tx.SoftDeleteUser(ctx, u.PK, at)
}
