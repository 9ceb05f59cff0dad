package reconcile

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// LoadRow is one row of a bulk load (a CSV file): the write it asks for
// and the line it came from.
type LoadRow struct {
	Line int
	// In is the write: an Upsert of a user, or a Delete (a DELETE row)
	// that names the user by In.ExternalID, or by userName or email in
	// In.Attrs, instead of an id.
	In Input
	// Err is a row the reader already refused (a cell that does not
	// parse): it is counted and reported, and planning skips it.
	Err error
}

// LoadOptions says how [Engine.Load] runs.
type LoadOptions struct {
	// DryRun plans every row, in a transaction that is rolled back:
	// exactly what a load would do, nothing written.
	DryRun bool
	// Accept decides the rows that change an existing user's groups or
	// roles (000 seed: a revised record is confirmed): a row it refuses is
	// left out, as a Skipped row. Nil accepts every row.
	Accept func(line int) bool
	// HoldDecisions rolls the load back, writing nothing, when a row
	// needing a decision is one Accept refuses: the admin has not decided
	// yet, and the result lists the decisions to make.
	HoldDecisions bool
	// Settle, when set, is called once every row is read, before the load
	// commits: the errors it returns fail the load as row errors do (the
	// importer's check that every line it was told to accept was a
	// decision).
	Settle func() []LoadError
	// Progress, when set, is called now and then with the rows done.
	Progress func(done int)
	// MaxErrors is how many row errors are kept in full (the rest are
	// only counted); 0 means 1,000.
	MaxErrors int
	// ApproveDeletions lets the load through the connector's deletion
	// guard: an administrator approved its deactivations and deletions.
	// Without it, a load that would cross the guard writes nothing
	// (LoadResult.Guard says why), all or none.
	ApproveDeletions bool
	// SummaryTo, when set, is the address of whoever runs the load: a
	// load that commits queues them a summary of the users it created, in
	// its transaction (000 seed).
	SummaryTo string
}

// LoadResult is what a load did, or would do (DryRun), with every row
// error found.
type LoadResult struct {
	Rows                               int
	Added, Updated, Deleted, Unchanged int
	Skipped                            int // rows Accept refused
	RolesAdded, GroupsAdded            int // roles and groups created on demand
	// Held is a load HoldDecisions rolled back: rows need a decision.
	Held bool
	// Deactivations counts the rows that deactivate or delete a user;
	// Guard, when not empty, says that the connector's deletion guard
	// stopped the load for them (in a dry run: would stop it), and how to
	// approve it.
	Deactivations int
	Guard         string
	// Decisions are the rows that change an existing user's groups or
	// roles, the first 10,000 of them (DecisionCount counts all), whether
	// Accept took them or not.
	Decisions     []Decision
	DecisionCount int
	Errors        []LoadError // the first MaxErrors
	ErrorCount    int
	// Created are the users created, the first 10,000 of them (Added
	// counts all), for the importer's summary.
	Created   []CreatedUser
	Committed bool // false for a dry run or when a row failed

	// refused are the audit events of rows refused for naming a local
	// user: written after the load's transaction, whether it committed
	// or not.
	refused []store.AuditEvent
}

// Decision is a row that changes an existing user's groups or roles: the
// admin confirms it (LoadOptions.Accept) before it loads.
type Decision struct {
	Line     int           `json:"line"`
	UserID   string        `json:"userId"`
	UserName string        `json:"userName"`
	Grants   []GrantChange `json:"grants"` // the group and role changes
}

// LoadError is a row that cannot load: the reader's error (LoadRow.Err),
// the plan's ([*InputError], [*MatchError], …), or a conflict with an
// earlier row of the same load (two rows for the same person).
type LoadError struct {
	Line int
	Err  error
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// DuplicateRowError is a row naming the same person as an earlier row of
// the same load: a conflict naming both lines, never last-wins.
type DuplicateRowError struct {
	Line, First int
	Key         string // "externalId", "userName" or "email"
}

func (e *DuplicateRowError) Error() string {
	return "the same person as line " + strconv.Itoa(e.First) + " (same " + e.Key + "): keep one of the two rows"
}

// CreatedUser is a user a load created.
type CreatedUser struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Email    string `json:"email,omitempty"`
}

// loadBatch is how many rows a load plans and writes at once: their users
// read in a few queries, their creates written in one statement.
const loadBatch = 1000

// loadListed caps LoadResult.Created and LoadResult.Decisions.
const loadListed = 10_000

// errRolledBack ends a load's transaction without committing it.
var errRolledBack = errors.New("reconcile: load rolled back")

// Load plans and writes rows, from by, in one transaction: all of them or,
// when any fails, none (a dry run writes none either way). Matching,
// grants and creates run in batches of a thousand rows rather than one
// query per row: each batch's users are read in a few queries (by this
// connector's external ID, folded userName and email, with their grants,
// pushed groups, attribute sources and links), its creates written in
// one statement, its audit events in another. Each batch runs in a
// savepoint; when it fails at the database it is run again row by row, to
// name the row that fails. Every row is planned, also after a failure, so
// that the result lists every error (the first MaxErrors in full) and the
// counts of what a load would do.
//
// A row names the user it writes as any write without a SCIM id does
// (matching); a Delete row by In.ExternalID, or the userName or an email
// in In.Attrs, and goes the way a SCIM DELETE goes. Two rows naming the
// same person are a [*DuplicateRowError] on the second: the folded keys
// are kept as 64-bit hashes, so that a million rows take a few tens of
// megabytes (two different keys sharing a hash, about once in 10^12
// loads of a million rows, would be reported as a duplicate). A row that
// changes an existing user's groups or roles is a Decision, and loads only
// if opts.Accept takes it.
//
// Load reads rows once; on PostgreSQL a transaction that must be retried
// (a serialization failure) fails the load instead, to be run again.
func (e *Engine) Load(ctx context.Context, by store.Principal, rows iter.Seq[LoadRow], opts LoadOptions) (*LoadResult, error) {
	res, err := e.load(ctx, by, rows, opts)
	e.observeLoad(ctx, res, err)
	return res, err
}

func (e *Engine) load(ctx context.Context, by store.Principal, rows iter.Seq[LoadRow], opts LoadOptions) (*LoadResult, error) {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 1000
	}
	var res *LoadResult
	ran := false
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if ran {
			return errors.New("reconcile: the load's transaction must be retried, and its rows were read: run the load again")
		}
		ran = true
		conn, version, err := e.connector(ctx, tx, by.TenantID, by.TenantName, by.ConnectorName)
		if err != nil {
			return err
		}
		names, err := tx.ConnectorNames(ctx, by.TenantID)
		if err != nil {
			return err
		}
		l := &loader{e: e, by: by, opts: opts, conn: conn, version: version, names: names,
			res: &LoadResult{}, seen: map[uint64]int32{}, created: map[string]bool{}}
		res = l.res
		batch := make([]LoadRow, 0, loadBatch)
		for row := range rows {
			batch = append(batch, row)
			if len(batch) < loadBatch {
				continue
			}
			if err := l.batch(ctx, tx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if err := l.batch(ctx, tx, batch); err != nil {
			return err
		}
		if opts.Settle != nil {
			errs := opts.Settle()
			res.ErrorCount += len(errs)
			res.Errors = append(res.Errors, errs[:max(0, min(len(errs), opts.MaxErrors-len(res.Errors)))]...)
		}
		res.Held = opts.HoldDecisions && res.Skipped > 0
		if res.ErrorCount > 0 || res.Held {
			return errRolledBack
		}
		if err := l.guard(ctx, tx); err != nil || opts.DryRun {
			return cmpErr(err, errRolledBack)
		}
		if opts.SummaryTo != "" {
			return tx.Enqueue(ctx, nil, []store.Message{importSummary(by.TenantID, opts.SummaryTo, res)})
		}
		return nil
	})
	if err == nil || errors.Is(err, errRolledBack) {
		if aerr := e.auditRefusals(ctx, res.refused); aerr != nil {
			return nil, aerr
		}
	}
	switch {
	case errors.Is(err, errRolledBack):
		if res.Guard != "" && !opts.DryRun {
			return res, e.auditGuardedLoad(ctx, by, res)
		}
	case err != nil:
		return nil, err
	default:
		res.Committed = true
	}
	return res, nil
}

// loader is one run of Load.
type loader struct {
	e       *Engine
	by      store.Principal
	opts    LoadOptions
	conn    *rules.Connector
	version int64
	names   map[int64]string
	res     *LoadResult
	// seen maps the hash of each person key of the rows loaded so far
	// (see personKeys) to its line.
	seen map[uint64]int32
	// created are the folded roles and groups created on demand.
	created map[string]bool
}

// outcome is what a batch did, merged into the result once the batch's
// savepoint holds.
type outcome struct {
	added, updated, deleted, unchanged, skipped int
	deactivations                               int
	decisions                                   []Decision
	errors                                      []LoadError
	created                                     []CreatedUser
	keys                                        map[uint64]int32
	targets                                     []string // roles and groups created, "role:" or "group:" folded name
	refused                                     []store.AuditEvent
}

func (l *loader) batch(ctx context.Context, tx *store.Tx, rows []LoadRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pre, err := l.prefetch(ctx, tx, rows)
	if err != nil {
		return err
	}
	var out *outcome
	err = l.e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		out = &outcome{keys: map[uint64]int32{}}
		return l.apply(ctx, tx, pre.reads(tx), rows, out)
	})
	if err == nil {
		l.merge(out)
		l.progress(len(rows))
		return nil
	}
	if ctx.Err() != nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	// Row by row, to name the row the database refuses.
	for _, row := range rows {
		err := l.e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			out = &outcome{keys: map[uint64]int32{}}
			return l.apply(ctx, tx, pre.reads(tx), []LoadRow{row}, out)
		})
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, store.ErrUnavailable) {
				return err
			}
			out = &outcome{errors: []LoadError{{Line: row.Line, Err: err}}}
		}
		l.merge(out)
	}
	l.progress(len(rows))
	return nil
}

func (l *loader) progress(n int) {
	l.res.Rows += n
	if l.opts.Progress != nil {
		l.opts.Progress(l.res.Rows)
	}
}

func (l *loader) merge(o *outcome) {
	r := l.res
	r.Added += o.added
	r.Updated += o.updated
	r.Deleted += o.deleted
	r.Unchanged += o.unchanged
	r.Skipped += o.skipped
	r.Deactivations += o.deactivations
	r.DecisionCount += len(o.decisions)
	r.Decisions = append(r.Decisions, o.decisions[:max(0, min(len(o.decisions), loadListed-len(r.Decisions)))]...)
	r.Created = append(r.Created, o.created[:max(0, min(len(o.created), loadListed-len(r.Created)))]...)
	r.refused = append(r.refused, o.refused...)
	r.ErrorCount += len(o.errors)
	r.Errors = append(r.Errors, o.errors[:max(0, min(len(o.errors), l.opts.MaxErrors-len(r.Errors)))]...)
	for k, line := range o.keys {
		l.seen[k] = line
	}
	for _, t := range o.targets {
		if !l.created[t] {
			l.created[t] = true
			if strings.HasPrefix(t, "role:") {
				r.RolesAdded++
			} else {
				r.GroupsAdded++
			}
		}
	}
}

// rowError reports whether err is the row's own (bad input, a conflict),
// not the database failing.
func rowError(err error) bool {
	var (
		in  *InputError
		m   *MatchError
		c   *store.ConflictError
		u   *store.UnknownMembersError
		dup *DuplicateRowError
		lu  *LocalUserError
	)
	return errors.As(err, &in) || errors.As(err, &m) || errors.As(err, &c) || errors.As(err, &u) ||
		errors.As(err, &dup) || errors.As(err, &lu) || errors.Is(err, store.ErrNotFound)
}

// input is row's write as Load plans it: from the loader's principal, a
// user Upsert unless it says Delete.
func (l *loader) input(row LoadRow) (Input, error) {
	in := row.In
	in.Principal = l.by
	if in.Source == "" {
		in.Source = SourceCSV
	}
	if in.Kind == "" {
		in.Kind = KindUser
	}
	if in.Op == "" {
		in.Op = Upsert
	}
	if in.Kind != KindUser || in.Op != Upsert && in.Op != Delete {
		return in, &InputError{Attribute: "transaction", Msg: fmt.Sprintf("a load writes users, upserted or deleted; not a %s %s", in.Kind, in.Op)}
	}
	return in, nil
}

// apply plans and writes rows in tx, a savepoint: what fails as a row's
// own error goes to out, what fails at the database is returned.
func (l *loader) apply(ctx context.Context, tx *store.Tx, r *loadReads, rows []LoadRow, out *outcome) error {
	var creates, updates []*Plan
	var events []store.AuditEvent
	fail := func(line int, err error) { out.errors = append(out.errors, LoadError{Line: line, Err: err}) }
	for _, row := range rows {
		if row.Err != nil {
			fail(row.Line, row.Err)
			continue
		}
		in, err := l.input(row)
		if err == nil && in.Op == Delete {
			in.ID, err = l.deleteTarget(ctx, r, in)
		}
		var p *Plan
		if err == nil {
			p, err = plan(ctx, r, l.conn, in, false)
		}
		if err != nil {
			if !rowError(err) {
				return err
			}
			fail(row.Line, err)
			if le, ok := errors.AsType[*LocalUserError](err); ok && !l.opts.DryRun {
				out.refused = append(out.refused, localRefusal(in, le, map[string]any{"line": row.Line}))
			}
			continue
		}
		p.configVersion = l.version
		if err := l.duplicate(row.Line, p, out); err != nil {
			fail(row.Line, err)
			continue
		}
		if d, ok := decision(row.Line, p); ok {
			out.decisions = append(out.decisions, d)
			if l.opts.Accept != nil && !l.opts.Accept(row.Line) {
				out.skipped++
				continue
			}
		}
		if deactivates(p) {
			out.deactivations++
		}
		for _, c := range p.Grants {
			if c.Op == "add" && c.Create && (c.Kind == rules.KindRole || c.Kind == rules.KindGroup) {
				out.targets = append(out.targets, string(c.Kind)+":"+store.Fold(c.Name))
			}
		}
		switch p.Action {
		case "none":
			out.unchanged++
		case string(Create):
			store.PrepareNewUser(p.User)
			r.pending(p.User)
			creates = append(creates, p)
		case string(Delete):
			if err := write(ctx, tx, p); err != nil {
				return err
			}
			out.deleted++
		default:
			event, err := writeUnaudited(ctx, tx, p)
			if err != nil {
				return err
			}
			if event != nil {
				events = append(events, *event)
			}
			updates = append(updates, p)
			out.updated++
		}
	}
	if err := l.create(ctx, tx, creates); err != nil {
		return err
	}
	for _, p := range creates {
		out.added++
		out.created = append(out.created, CreatedUser{ID: p.User.ID, UserName: p.User.UserName, Email: firstEmail(p.User.Attrs)})
	}
	if err := tx.AppendAudits(ctx, events); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for _, p := range updates {
		if err := afterAudit(ctx, tx, p); err != nil {
			return err
		}
	}
	return nil
}

func firstEmail(attrs map[string]any) string {
	if all := emails(attrs); len(all) > 0 {
		return all[0]
	}
	return ""
}

// create writes the batch's new users in one statement, then their grants
// (the roles and groups they need created first, once each), and queues
// their activation messages.
func (l *loader) create(ctx context.Context, tx *store.Tx, plans []*Plan) error {
	if len(plans) == 0 {
		return nil
	}
	users := make([]*store.User, len(plans))
	with := make([]store.NewUser, len(plans))
	for i, p := range plans {
		users[i] = p.User
		with[i] = store.NewUser{ConnectorID: p.Input.ConnectorID, Sources: attributeSources(p), Event: auditEvent(p), ConfigVersion: p.configVersion}
	}
	// A hundred users per statement: CreateUsers joins each user's rows
	// to it by id, which costs the square of the rows on SQLite.
	for i := 0; i < len(users); i += 100 {
		j := min(i+100, len(users))
		if err := tx.CreateUsers(ctx, users[i:j], with[i:j]); err != nil {
			return err
		}
	}
	targets := map[string]int64{} // kind ":" folded name → pk, of targets created
	var grants []store.UserGrant
	for _, p := range plans {
		groups := map[string]int64{}
		for i := range p.Grants {
			c := &p.Grants[i]
			if c.Op == "add" && c.Create {
				key := string(c.Kind) + ":" + store.Fold(c.Name)
				pk, ok := targets[key]
				if !ok {
					var err error
					if pk, err = create(ctx, tx, l.by.TenantID, c); err != nil {
						return fmt.Errorf("%s %s: %w", c.Kind, c.Name, err)
					}
					targets[key] = pk
				}
				c.grant.TargetPK = pk
			}
			if c.Kind == rules.KindGroup && c.Op != "remove" {
				groups[store.Fold(c.Name)] = c.grant.TargetPK
			}
		}
		for _, c := range p.Grants {
			if c.Op == "add" {
				g := c.grant
				g.GroupPK = groups[store.Fold(c.Group)]
				grants = append(grants, store.UserGrant{UserPK: p.User.PK, Grant: g})
			}
		}
	}
	if err := tx.AddGrants(ctx, grants); err != nil {
		return fmt.Errorf("grants: %w", err)
	}
	return l.e.notifyCreated(ctx, tx, plans)
}

// deleteTarget finds the user a Delete row names: by the connector's
// external ID, else by userName, else by email.
func (l *loader) deleteTarget(ctx context.Context, r *loadReads, in Input) (string, error) {
	var found []store.User
	var key, value string
	userName, _ := in.Attrs["userName"].(string)
	switch {
	case in.ExternalID != "":
		key, value = "externalId", in.ExternalID
		var err error
		if found, err = r.UsersByExternalID(ctx, in.TenantID, in.ConnectorID, in.ExternalID); err != nil {
			return "", err
		}
	case userName != "":
		key, value = "userName", userName
		u, err := r.UserByUserName(ctx, in.TenantID, in.ConnectorID, userName)
		if err == nil {
			found = []store.User{u}
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	default:
		all := emails(in.Attrs)
		if len(all) == 0 {
			return "", &InputError{Attribute: "transaction", Msg: "a DELETE row names its user by externalId, userName or email, and this one has none"}
		}
		key, value = "email", all[0]
		var err error
		if found, err = r.UsersByEmail(ctx, in.TenantID, in.ConnectorID, all[0], false); err != nil {
			return "", err
		}
	}
	switch len(found) {
	case 0:
		return "", &InputError{Attribute: key, Msg: fmt.Sprintf("DELETE: %s %q names no user of this tenant", key, value)}
	case 1:
		return found[0].ID, nil
	}
	return "", &MatchError{Key: rules.MatchKey(key), Msg: fmt.Sprintf("DELETE: %s %q names more than one user; scimd will not guess which one is meant", key, value)}
}

// duplicate refuses a row naming the same person as an earlier row of the
// load: the same matched user, or, among creates, the same externalId,
// userName or email. It records the row's keys in out.
func (l *loader) duplicate(line int, p *Plan, out *outcome) error {
	type key struct {
		name string
		hash uint64
	}
	var keys []key
	if p.User.PK != 0 {
		name := "userName"
		if p.Match != nil {
			name = string(p.Match.By)
		} else if p.Input.ExternalID != "" {
			name = "externalId"
		}
		keys = append(keys, key{name, personHash("pk", strconv.FormatInt(p.User.PK, 10))})
	} else {
		if p.User.ExternalID != "" {
			keys = append(keys, key{"externalId", personHash("externalId", p.User.ExternalID)})
		}
		keys = append(keys, key{"userName", personHash("userName", store.Fold(p.User.UserName))})
		for _, e := range emails(p.User.Attrs) {
			keys = append(keys, key{"email", personHash("email", store.Fold(e))})
		}
	}
	for _, k := range keys {
		first, ok := l.seen[k.hash]
		if !ok {
			first, ok = out.keys[k.hash]
		}
		if ok {
			return &DuplicateRowError{Line: line, First: int(first), Key: k.name}
		}
	}
	for _, k := range keys {
		out.keys[k.hash] = int32(line)
	}
	return nil
}

// personHash is the 64-bit hash of a person key: its kind and folded value.
func personHash(kind, value string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return h.Sum64()
}

// decision reports whether p changes an existing user's groups or roles,
// and how.
func decision(line int, p *Plan) (Decision, bool) {
	if p.User == nil || p.User.PK == 0 || p.Input.Op == Delete || p.Action == "none" {
		return Decision{}, false
	}
	var changes []GrantChange
	for _, c := range p.Grants {
		if c.Op != "keep" && (c.Kind == rules.KindGroup || c.Kind == rules.KindRole) {
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		return Decision{}, false
	}
	return Decision{Line: line, UserID: p.User.ID, UserName: p.User.UserName, Grants: changes}, true
}

// batchReads is what a batch's rows read, read for the whole batch.
type batchReads struct {
	conn    int64
	found   store.Found
	asked   map[string]bool // "e:" external ID, "u:" folded userName, "m:" folded email
	byID    map[string]store.User
	pks     map[int64]bool
	grants  map[int64][]store.Grant
	groups  map[int64][]store.GroupRef
	sources map[int64]map[string]store.AttributeSource
	links   map[int64]bool
	hashes  map[int64]string
	names   map[int64]string
}

// prefetch reads, in a few queries, the users the rows may match, with
// what planning reads of them.
func (l *loader) prefetch(ctx context.Context, tx *store.Tx, rows []LoadRow) (*batchReads, error) {
	b := &batchReads{conn: l.by.ConnectorID, asked: map[string]bool{}, byID: map[string]store.User{}, pks: map[int64]bool{}, names: l.names}
	var exts, names, mails []string
	ask := func(kind, v string, list *[]string) {
		if v != "" && !b.asked[kind+v] {
			b.asked[kind+v] = true
			*list = append(*list, v)
		}
	}
	hashes := false
	for _, row := range rows {
		if row.Err != nil {
			continue
		}
		in := row.In
		ask("e:", in.ExternalID, &exts)
		ask("e:", in.ManagerExternalID, &exts)
		userName, _ := in.Attrs["userName"].(string)
		ask("u:", store.Fold(userName), &names)
		ask("u:", store.Fold(in.ManagerUserName), &names)
		for _, e := range emails(in.Attrs) {
			if in.Op == Delete || l.conn.Vouches(e) {
				ask("m:", store.Fold(e), &mails)
			}
		}
		hashes = hashes || in.PasswordHash != ""
	}
	var err error
	if b.found, err = tx.UsersByKeys(ctx, l.by.TenantID, l.by.ConnectorID, exts, names, mails); err != nil {
		return nil, err
	}
	var pks []int64
	add := func(u store.User) {
		if !b.pks[u.PK] {
			b.pks[u.PK] = true
			b.byID[u.ID] = u
			pks = append(pks, u.PK)
		}
	}
	for _, us := range b.found.ByExternalID {
		for _, u := range us {
			add(u)
		}
	}
	for _, u := range b.found.ByUserName {
		add(u)
	}
	for _, us := range b.found.ByEmail {
		for _, u := range us {
			add(u)
		}
	}
	b.grants, b.groups, b.sources, b.links, b.hashes = map[int64][]store.Grant{}, map[int64][]store.GroupRef{}, map[int64]map[string]store.AttributeSource{}, map[int64]bool{}, map[int64]string{}
	if len(pks) == 0 {
		return b, nil
	}
	if b.grants, err = tx.GrantsOf(ctx, pks); err != nil {
		return nil, err
	}
	if b.groups, err = tx.PushedGroups(ctx, pks); err != nil {
		return nil, err
	}
	if b.sources, err = tx.AttributeSourcesOf(ctx, pks); err != nil {
		return nil, err
	}
	if b.links, err = tx.LinksOf(ctx, l.by.ConnectorID, pks); err != nil {
		return nil, err
	}
	if hashes {
		if b.hashes, err = tx.PasswordHashes(ctx, pks); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// reads answers planning's reads from b, through tx for the rest.
func (b *batchReads) reads(tx *store.Tx) *loadReads {
	return &loadReads{prefetched: prefetched{reads: tx, units: map[string]store.OrgUnit{}, roles: map[string]store.Role{}, named: map[string]store.Group{}},
		b: b, byName: map[string]*store.User{}, byExt: map[string]*store.User{}}
}

// loadReads are the reads of planning a batch's rows: the users it
// matches from the batch's prefetch, the users its rows create as they
// are planned (pending), everything else from the transaction.
type loadReads struct {
	prefetched
	b             *batchReads
	byName, byExt map[string]*store.User // pending creates
}

// pending makes the new user u, planned and not yet written, visible to
// the batch's later rows (as their manager, a userName taken).
func (r *loadReads) pending(u *store.User) {
	r.byName[u.UserNameFolded] = u
	if u.ExternalID != "" {
		r.byExt[u.ExternalID] = u
	}
}

func (r *loadReads) ours(connectorID int64) bool { return connectorID == r.b.conn }

func (r *loadReads) UsersByExternalID(ctx context.Context, tenantID, connectorID int64, value string) ([]store.User, error) {
	if !r.ours(connectorID) || !r.b.asked["e:"+value] {
		return r.reads.UsersByExternalID(ctx, tenantID, connectorID, value)
	}
	found := r.b.found.ByExternalID[value]
	if u := r.byExt[value]; u != nil {
		found = append(slices.Clip(found), *u)
	}
	return found[:min(2, len(found))], nil
}

func (r *loadReads) UserByUserName(ctx context.Context, tenantID, connectorID int64, userName string) (store.User, error) {
	f := store.Fold(userName)
	if u := r.byName[f]; u != nil {
		return *u, nil
	}
	if !r.ours(connectorID) || !r.b.asked["u:"+f] {
		return r.reads.UserByUserName(ctx, tenantID, connectorID, userName)
	}
	if u, ok := r.b.found.ByUserName[f]; ok {
		return u, nil
	}
	return store.User{}, store.ErrNotFound
}

func (r *loadReads) UsersByEmail(ctx context.Context, tenantID, connectorID int64, email string, unmanaged bool) ([]store.User, error) {
	f := store.Fold(email)
	if !r.ours(connectorID) || !r.b.asked["m:"+f] {
		return r.reads.UsersByEmail(ctx, tenantID, connectorID, email, unmanaged)
	}
	var out []store.User
	for _, u := range r.b.found.ByEmail[f] {
		if !unmanaged || !r.b.links[u.PK] {
			out = append(out, u)
		}
	}
	return out[:min(2, len(out))], nil
}

func (r *loadReads) UserNameTaken(ctx context.Context, tenantID int64, userName string) (bool, error) {
	f := store.Fold(userName)
	if r.byName[f] != nil {
		return true, nil
	}
	if r.b.asked["u:"+f] {
		_, ok := r.b.found.ByUserName[f]
		return ok, nil
	}
	return r.reads.UserNameTaken(ctx, tenantID, userName)
}

func (r *loadReads) User(ctx context.Context, tenantID, connectorID int64, id string) (store.User, error) {
	if u, ok := r.b.byID[id]; ok && r.ours(connectorID) {
		return u, nil
	}
	return r.reads.User(ctx, tenantID, connectorID, id)
}

func (r *loadReads) Linked(ctx context.Context, connectorID, userPK int64) (bool, error) {
	if r.ours(connectorID) && r.b.pks[userPK] {
		return r.b.links[userPK], nil
	}
	return r.reads.Linked(ctx, connectorID, userPK)
}

func (r *loadReads) UserGrants(ctx context.Context, userPK int64) ([]store.Grant, error) {
	if r.b.pks[userPK] {
		return r.b.grants[userPK], nil
	}
	return r.reads.UserGrants(ctx, userPK)
}

func (r *loadReads) PushedGroups(ctx context.Context, userPKs []int64) (map[int64][]store.GroupRef, error) {
	out := make(map[int64][]store.GroupRef, len(userPKs))
	for _, pk := range userPKs {
		if !r.b.pks[pk] {
			return r.reads.PushedGroups(ctx, userPKs)
		}
		out[pk] = r.b.groups[pk]
	}
	return out, nil
}

func (r *loadReads) AttributeSources(ctx context.Context, userPK int64) (map[string]store.AttributeSource, error) {
	if r.b.pks[userPK] {
		return r.b.sources[userPK], nil
	}
	return r.reads.AttributeSources(ctx, userPK)
}

func (r *loadReads) ConnectorNames(ctx context.Context, tenantID int64) (map[int64]string, error) {
	if r.b.names != nil {
		return r.b.names, nil
	}
	return r.reads.ConnectorNames(ctx, tenantID)
}

func (r *loadReads) storedPasswordHash(userPK int64) string { return r.b.hashes[userPK] }
