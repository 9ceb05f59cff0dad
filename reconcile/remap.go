package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/scimd/scimd/store"
)

// writeGroupRemapping writes a group plan, then runs the connector's rules
// again for the users whose groups it changed, since the rules read groups
// (the IdP's group membership is a rule input): every member when the group
// is renamed or deleted, else only those the push added or took out, so
// that adding one member to a large group maps one user. It reports
// whether the group plan changed anything, as writeGroup does.
func writeGroupRemapping(ctx context.Context, tx *store.Tx, p *Plan) (bool, error) {
	in := p.Input
	renamed := in.Op == Delete || p.Before != nil && p.Before["displayName"] != p.Group.DisplayName
	patchOnly := in.Op == Patch && !slices.ContainsFunc(p.MemberChanges, func(c MemberChange) bool { return c.Op == "replace" || c.All })
	// Rules read the pushed members only, unless the name changes.
	pushed := !renamed
	var before []int64
	if (!patchOnly || renamed) && p.Group.PK != 0 {
		var err error
		if before, err = tx.GroupUserPKs(ctx, p.Group.PK, pushed); err != nil {
			return false, err
		}
	}
	if changed, err := writeGroup(ctx, tx, p); err != nil || !changed {
		return changed, err
	}
	var affected []int64
	switch {
	case patchOnly && !renamed:
		for _, c := range p.MemberChanges {
			for _, m := range c.Members {
				if m.Type == store.MemberUser {
					affected = append(affected, m.PK)
				}
			}
		}
	case in.Op == Delete:
		affected = before
	default:
		after, err := tx.GroupUserPKs(ctx, p.Group.PK, pushed)
		if err != nil {
			return false, err
		}
		if renamed {
			affected = append(before, after...)
		} else {
			affected = symmetricDifference(before, after)
		}
	}
	return true, remapMembers(ctx, tx, p, affected)
}

// symmetricDifference returns what is in exactly one of two sorted lists.
func symmetricDifference(a, b []int64) []int64 {
	var out []int64
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return out
}

// remapMembers runs the connector's rules again for the users pks. Users
// the connector does not manage, and local users, keep what they have. One pass: grants this
// makes do not trigger another. It works a thousand users at a time: their
// rows, grants and groups read in a few queries, the rules' targets looked
// up once, and writes only for the users whose mapping changed.
func remapMembers(ctx context.Context, tx *store.Tx, gp *Plan, pks []int64) error {
	in := gp.Input
	slices.Sort(pks)
	for part := range slices.Chunk(slices.Compact(pks), remapBatch) {
		users, err := tx.ManagedUsers(ctx, in.TenantID, in.ConnectorID, part)
		if err != nil {
			return err
		}
		pks := make([]int64, len(users))
		for i, u := range users {
			pks[i] = u.PK
		}
		pr, err := prefetch(ctx, tx, pks)
		if err != nil {
			return err
		}
		var events []store.AuditEvent
		var disabled []store.User // whose sessions end, after their events
		for _, u := range users {
			if u.Local && connectorSource(in.Source) {
				continue // no connector's write changes a local user (local.go)
			}
			up := &Plan{Input: Input{Source: in.Source, Principal: in.Principal, Kind: KindUser, Op: Replace, ID: u.ID, ExternalID: u.ExternalID},
				Action: "remap", User: &u, Before: u.Attrs, conn: gp.conn}
			prev := u
			u.Status = baseStatus(u.Active)
			if err := mapUser(ctx, pr, gp.conn, up.Input, &u, prev, up); err != nil {
				return fmt.Errorf("group %s, member %s: %w", gp.Group.DisplayName, u.UserName, err)
			}
			grants := slices.ContainsFunc(up.Grants, func(c GrantChange) bool { return c.Op != "keep" })
			if len(up.Changes) == 0 && !grants {
				continue
			}
			if len(up.Changes) > 0 { // status or access window: the row itself
				if err := tx.UpdateUser(ctx, &u); err != nil {
					return err
				}
				if disables(prev.Status, &u) {
					disabled = append(disabled, u)
				}
			}
			if err := writeGrants(ctx, tx, up); err != nil {
				return err
			}
			events = append(events, store.AuditEvent{TenantID: in.TenantID, Source: string(in.Source), ConnectorID: in.ConnectorID,
				Action: "remap", ResourceType: string(KindUser), ResourceID: u.ID,
				Detail: map[string]any{"group": gp.Group.ID, "fired": up.Fired, "grants": up.Grants, "changes": up.Changes}})
		}
		if err := tx.AppendAudits(ctx, events); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		for i := range disabled {
			if err := endSessions(ctx, tx, in, &disabled[i], EndUserDisable); err != nil {
				return err
			}
		}
	}
	return nil
}

// remapBatch is how many users remapMembers reads at once.
const remapBatch = 1000

// prefetched answers the reads of mapping a batch of users from what was
// read for the whole batch, and remembers the rules' targets (org units,
// roles, groups by name) once looked up; everything else goes to the
// transaction. Its maps hold one batch, so memory stays flat.
type prefetched struct {
	reads
	grants map[int64][]store.Grant
	groups map[int64][]store.GroupRef
	// sources, when read for the batch, are its attribute sources.
	sources map[int64]map[string]store.AttributeSource
	names   map[int64]string // the tenant's connectors, once read
	units   map[string]store.OrgUnit
	roles   map[string]store.Role
	named   map[string]store.Group
}

func prefetch(ctx context.Context, r pageReads, pks []int64) (*prefetched, error) {
	grants, err := r.GrantsOf(ctx, pks)
	if err != nil {
		return nil, err
	}
	groups, err := r.PushedGroups(ctx, pks)
	if err != nil {
		return nil, err
	}
	return &prefetched{reads: r, grants: grants, groups: groups,
		units: map[string]store.OrgUnit{}, roles: map[string]store.Role{}, named: map[string]store.Group{}}, nil
}

func (p *prefetched) UserGrants(ctx context.Context, userPK int64) ([]store.Grant, error) {
	return p.grants[userPK], nil
}

func (p *prefetched) AttributeSources(ctx context.Context, userPK int64) (map[string]store.AttributeSource, error) {
	if p.sources == nil {
		return p.reads.AttributeSources(ctx, userPK)
	}
	return p.sources[userPK], nil
}

func (p *prefetched) ConnectorNames(ctx context.Context, tenantID int64) (map[int64]string, error) {
	if p.names == nil {
		names, err := p.reads.ConnectorNames(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		p.names = names
	}
	return p.names, nil
}

func (p *prefetched) PushedGroups(ctx context.Context, userPKs []int64) (map[int64][]store.GroupRef, error) {
	out := make(map[int64][]store.GroupRef, len(userPKs))
	for _, pk := range userPKs {
		out[pk] = p.groups[pk]
	}
	return out, nil
}

// Targets missing now are not remembered: the batch may create them.
func (p *prefetched) OrgUnit(ctx context.Context, tenantID int64, path string) (store.OrgUnit, error) {
	return remember(p.units, store.Fold(path), func() (store.OrgUnit, error) { return p.reads.OrgUnit(ctx, tenantID, path) })
}

func (p *prefetched) Role(ctx context.Context, tenantID int64, name string) (store.Role, error) {
	return remember(p.roles, store.Fold(name), func() (store.Role, error) { return p.reads.Role(ctx, tenantID, name) })
}

func (p *prefetched) GroupNamed(ctx context.Context, tenantID int64, name string) (store.Group, error) {
	return remember(p.named, store.Fold(name), func() (store.Group, error) { return p.reads.GroupNamed(ctx, tenantID, name) })
}

func remember[T any](m map[string]T, key string, read func() (T, error)) (T, error) {
	if v, ok := m[key]; ok {
		return v, nil
	}
	v, err := read()
	if err == nil {
		m[key] = v
	}
	return v, err
}
