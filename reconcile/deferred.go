package reconcile

import (
	"context"
	"errors"

	"github.com/scimd/scimd/store"
)

// Deferred holds back the user creates of a batch whose plans read
// nothing (see [Engine.Defer]), to write them together: one check of
// their userNames and one statement for all of them instead of a
// savepoint and a statement each.
type Deferred struct {
	e     *Engine
	plans []*Plan
	// pending and taken are folded userNames: of the plans held back, and
	// known to be taken in the tenant.
	pending, taken map[string]bool
	atOnce         bool
	mustFlush      bool
}

// ErrHeldBack fails an Apply made while creates are held back that must
// see them (see [Engine.Defer]); it is never an answer to a client.
var ErrHeldBack = errors.New("reconcile: the creates held back must be written first")

// errWouldRead fails a plan made to be held back that reads the database.
var errWouldRead = errors.New("reconcile: the plan reads")

type deferKey struct{}

// Defer makes the user creates applied with the returned context, which
// must be that of an [Engine.Batch], wait to be written by
// [Deferred.Flush] when they can: a create of a new user without grants
// (a connector without rules) whose plan reads nothing (no email the
// connector vouches for to match) and whose userName is not known to be
// taken. Apply answers such a create with its plan, the user's id and
// version given, at once. Any other Apply made with the context while
// creates are held back writes nothing and fails: the caller then checks
// [Deferred.MustFlush], flushes, and applies it again.
//
// The caller answers for the creates held back only once Flush has
// written them; those it did not write it applies again, the first one
// with [Deferred.ApplyNextAtOnce], which then answers exactly as it would
// have alone (a conflict, a replay, a link).
func (e *Engine) Defer(ctx context.Context) (context.Context, *Deferred) {
	d := &Deferred{e: e, pending: map[string]bool{}, taken: map[string]bool{}}
	return context.WithValue(ctx, deferKey{}, d), d
}

// Len is the number of creates held back.
func (d *Deferred) Len() int { return len(d.plans) }

// ApplyNextAtOnce makes the next Apply run as it does outside Defer.
func (d *Deferred) ApplyNextAtOnce() { d.atOnce = true }

// MustFlush reports, once, whether an Apply failed because creates were
// held back.
func (d *Deferred) MustFlush() bool {
	must := d.mustFlush
	d.mustFlush = false
	return must
}

// Flush writes the creates held back, in order, up to the first whose
// userName turns out to be taken, and reports how many it wrote; the
// others are dropped, for the caller to apply again. It writes none when
// their statement fails (the configuration moved, a concurrent create
// took a userName): applied again one by one, each then answers as it
// would have alone.
func (d *Deferred) Flush(ctx context.Context) int {
	plans := d.plans
	d.plans = nil
	clear(d.pending)
	if len(plans) == 0 {
		return 0
	}
	in := plans[0].Input
	folded := make([]string, len(plans))
	for i, p := range plans {
		folded[i] = p.User.UserNameFolded
	}
	n := 0
	err := d.e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		taken, err := tx.TakenUserNames(ctx, in.TenantID, folded)
		if err != nil {
			return err
		}
		n = len(plans)
		for i, f := range folded {
			if taken[f] {
				d.taken[f] = true
				n = min(n, i)
			}
		}
		users := make([]*store.User, 0, n)
		with := make([]store.NewUser, 0, n)
		for _, p := range plans[:n] {
			if p.configVersion != plans[0].configVersion {
				break
			}
			users = append(users, p.User)
			with = append(with, store.NewUser{ConnectorID: p.Input.ConnectorID, Sources: attributeSources(p),
				Event: auditEvent(p), ConfigVersion: p.configVersion})
		}
		n = len(users)
		return tx.CreateUsers(ctx, users, with)
	})
	if err != nil {
		return 0
	}
	for _, f := range folded[:n] {
		d.taken[f] = true
	}
	return n
}

// deferCreate holds in back if it can (see [Engine.Defer]); done says
// Apply is answered.
func (e *Engine) deferCreate(ctx context.Context, in Input) (p *Plan, done bool, err error) {
	d, _ := ctx.Value(deferKey{}).(*Deferred)
	if d == nil || d.e != e {
		return nil, false, nil
	}
	notHeld := func() (*Plan, bool, error) {
		if len(d.plans) > 0 {
			d.mustFlush = true
			return nil, true, ErrHeldBack
		}
		return nil, false, nil
	}
	if in.Op != Create || in.Kind != KindUser || d.atOnce {
		d.atOnce = false
		return notHeld()
	}
	e.mu.Lock()
	version, seen := e.seen[in.TenantID]
	e.mu.Unlock()
	if !seen {
		return notHeld()
	}
	conn, version, err := e.connectorAt(ctx, e.db, in.TenantID, in.TenantName, in.ConnectorName, version)
	if err != nil || len(conn.Rules) > 0 || notifies(conn, in) {
		return notHeld()
	}
	p, err = plan(ctx, failReads{}, conn, in, true)
	if err != nil || p.Action != string(Create) || p.User == nil || p.User.PK != 0 || len(p.Grants) > 0 {
		return notHeld()
	}
	folded := store.Fold(p.User.UserName)
	if d.taken[folded] || d.pending[folded] {
		return notHeld()
	}
	p.configVersion = version
	store.PrepareNewUser(p.User)
	d.plans = append(d.plans, p)
	d.pending[folded] = true
	return p, true, nil
}

// failReads fails every read: a plan made with it is one that reads
// nothing, which earlier creates held back cannot change.
type failReads struct{}

func (failReads) TenantConfig(context.Context, int64) (string, int64, error) {
	return "", 0, errWouldRead
}
func (failReads) TenantConfigVersion(context.Context, int64) (int64, error) { return 0, errWouldRead }
func (failReads) ConnectorNames(context.Context, int64) (map[int64]string, error) {
	return nil, errWouldRead
}
func (failReads) UserGrants(context.Context, int64) ([]store.Grant, error) { return nil, errWouldRead }
func (failReads) PushedGroups(context.Context, []int64) (map[int64][]store.GroupRef, error) {
	return nil, errWouldRead
}
func (failReads) AttributeSources(context.Context, int64) (map[string]store.AttributeSource, error) {
	return nil, errWouldRead
}
func (failReads) Linked(context.Context, int64, int64) (bool, error) { return false, errWouldRead }
func (failReads) UsersByExternalID(context.Context, int64, int64, string) ([]store.User, error) {
	return nil, errWouldRead
}
func (failReads) UserByUserName(context.Context, int64, int64, string) (store.User, error) {
	return store.User{}, errWouldRead
}
func (failReads) UsersByEmail(context.Context, int64, int64, string, bool) ([]store.User, error) {
	return nil, errWouldRead
}
func (failReads) UserNameTaken(context.Context, int64, string) (bool, error) {
	return false, errWouldRead
}
func (failReads) OrgUnit(context.Context, int64, string) (store.OrgUnit, error) {
	return store.OrgUnit{}, errWouldRead
}
func (failReads) Role(context.Context, int64, string) (store.Role, error) {
	return store.Role{}, errWouldRead
}
func (failReads) DirectMembers(context.Context, int64) ([]store.Member, error) {
	return nil, errWouldRead
}
func (failReads) GroupNamed(context.Context, int64, string) (store.Group, error) {
	return store.Group{}, errWouldRead
}
func (failReads) User(context.Context, int64, int64, string) (store.User, error) {
	return store.User{}, errWouldRead
}
func (failReads) Group(context.Context, int64, int64, string) (store.Group, error) {
	return store.Group{}, errWouldRead
}
func (failReads) LookupMembers(context.Context, int64, []store.MemberRef) ([]store.Member, []string, error) {
	return nil, nil, errWouldRead
}
