package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// The administration of a tenant (tokens, connectors, configuration, org
// units, groups) goes through the engine like a user's write: each change
// is one transaction with an audit event that names who made it and what
// it was before and after. No event holds a token or its hash.

// CommandLine is who scimd's own commands (token create, connector set)
// act as: an operator with the database in hand and no connector. Their
// audit events have source cli; an admin connector's have source admin.
var CommandLine store.Principal

// ForbiddenError is an administrative change the principal may not make,
// such as an org unit's administrator configuring the whole tenant (403).
type ForbiddenError struct{ Msg string }

func (e *ForbiddenError) Error() string { return e.Msg }

// IssuedToken is a token just made. Secret is shown once and never stored.
type IssuedToken struct {
	store.TokenInfo
	Secret string
}

// IssueToken makes a bearer token for the named connector of the named
// tenant, creating both if missing.
func (e *Engine) IssueToken(ctx context.Context, by store.Principal, tenant, connector string) (IssuedToken, error) {
	defer e.db.PrincipalsChanged() // the connector's kind may change
	if err := mayAdminister(by, tenant); err != nil {
		return IssuedToken{}, err
	}
	secret, hash, hint := newToken()
	var out IssuedToken
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := ensureConnector(ctx, tx, by, tenant, connector)
		if err != nil {
			return err
		}
		// A connector the tenant's configuration makes an OIDC provider
		// is one in the store too: its tokens open the ID-token hook.
		if conf, _, err := e.connector(ctx, tx, c.TenantID, tenant, connector); err != nil {
			return err
		} else if conf.Kind == rules.KindOIDC {
			if c, err = ensureKind(ctx, tx, by, tenant, connector, store.KindOIDC); err != nil {
				return err
			}
		}
		t, err := tx.AddToken(ctx, c.ID, hash, hint)
		if err != nil {
			return err
		}
		out = IssuedToken{Secret: secret, TokenInfo: store.TokenInfo{ID: t.ID, TenantID: c.TenantID, Tenant: tenant,
			ConnectorID: c.ID, Connector: c.Name, Hint: hint, CreatedAt: t.CreatedAt}}
		return audit(ctx, tx, by, c.TenantID, "issue", "Token", strconv.FormatInt(t.ID, 10),
			map[string]any{"after": map[string]any{"connector": c.Name, "active": true}})
	})
	return out, err
}

// RevokeToken revokes a token by id and returns it as it was. Revoking
// twice is not an error; an unknown id is [store.ErrNotFound].
func (e *Engine) RevokeToken(ctx context.Context, by store.Principal, id int64) (store.TokenInfo, error) {
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	var t store.TokenInfo
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if t, err = tx.RevokeToken(ctx, id); err != nil {
			return err
		}
		if err := mayAdminister(by, t.Tenant); err != nil {
			return err
		}
		return audit(ctx, tx, by, t.TenantID, "revoke", "Token", strconv.FormatInt(id, 10), map[string]any{
			"before": map[string]any{"connector": t.Connector, "active": t.RevokedAt == nil},
			"after":  map[string]any{"connector": t.Connector, "active": false}})
	})
	return t, err
}

// SetProfile sets the compatibility profile of the named connector of the
// named tenant, creating both if missing.
func (e *Engine) SetProfile(ctx context.Context, by store.Principal, tenant, connector, profile string) error {
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	if err := mayAdminister(by, tenant); err != nil {
		return err
	}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := ensureConnector(ctx, tx, by, tenant, connector)
		if err != nil || c.Profile == profile {
			return err
		}
		if err := tx.SetProfile(ctx, c.ID, profile); err != nil {
			return err
		}
		before := connectorDoc(c)
		c.Profile = profile
		return audit(ctx, tx, by, c.TenantID, "update", "Connector", c.Name, map[string]any{"before": before, "after": connectorDoc(c)})
	})
}

// SetConnectorAdmin makes the named connector of the named tenant (both
// created if missing) an admin connector, scoped to the org unit at
// orgUnit ("" for the whole tenant). A connector that already pushes SCIM
// users stays what it is: a [*store.LimitError].
func (e *Engine) SetConnectorAdmin(ctx context.Context, by store.Principal, tenant, connector, orgUnit string) error {
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	if err := mayAdminister(by, tenant); err != nil {
		return err
	}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := ensureConnector(ctx, tx, by, tenant, connector)
		if err != nil {
			return err
		}
		after, err := tx.SetAdmin(ctx, c, orgUnit)
		if err != nil || after.Kind == c.Kind && after.OrgUnit == c.OrgUnit {
			return err
		}
		return audit(ctx, tx, by, c.TenantID, "update", "Connector", c.Name, map[string]any{"before": connectorDoc(c), "after": connectorDoc(after)})
	})
}

// SaveConfig checks a connector configuration for by's tenant and saves
// it (see [ParseTenantConfig]); from the next write on, every replica maps
// through it. It returns the configuration's new version. A configuration
// with problems is a [*rules.Error] listing each; nothing is saved.
//
// from is the version the edit started from (0: none was saved), or
// [AnyVersion]: a save over another version, saved since, is a
// [*VersionError] and saves nothing, so that of two administrators
// editing at once the second does not undo the first unseen.
func (e *Engine) SaveConfig(ctx context.Context, by store.Principal, text string, from int64) (int64, error) {
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	if err := mayAdminister(by, by.TenantName); err != nil {
		return 0, err
	}
	cfg, err := ParseTenantConfig(by.TenantName, text)
	if err != nil {
		return 0, err
	}
	var version int64
	err = e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		old, oldVersion, err := tx.TenantConfig(ctx, by.TenantID)
		if err != nil {
			return err
		}
		if from >= 0 && from != oldVersion {
			return &VersionError{Stored: oldVersion, From: from}
		}
		if t, ok := cfg.Tenant(by.TenantName); ok {
			for _, c := range t.Connectors {
				if c.Kind == rules.KindOIDC {
					if _, err := ensureKind(ctx, tx, by, by.TenantName, c.Name, store.KindOIDC); err != nil {
						return err
					}
				}
			}
		}
		if version, err = tx.SetTenantConfig(ctx, by.TenantID, text, from); errors.Is(err, store.ErrStale) {
			// Saved by another, between the read and the update.
			stored, err := tx.TenantConfigVersion(ctx, by.TenantID)
			if err != nil {
				return err
			}
			return &VersionError{Stored: stored, From: from}
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "replace", "Config", by.TenantName, map[string]any{
			"before": map[string]any{"version": oldVersion, "yaml": old},
			"after":  map[string]any{"version": version, "yaml": text}})
	})
	return version, err
}

// AnyVersion is [Engine.SaveConfig]'s from that saves over any version.
const AnyVersion int64 = -1

// VersionError is a configuration save refused because another was saved
// since the version the edit started from.
type VersionError struct {
	Stored, From int64 // the version stored, and the edit's
}

func (e *VersionError) Error() string {
	from := fmt.Sprintf("version %d", e.From)
	if e.From == 0 {
		from = "no saved version"
	}
	return fmt.Sprintf("the configuration was saved as version %d since this edit started from %s: "+
		"reload it, make the edit again and save", e.Stored, from)
}

// CreateOrgUnit creates the org unit at path in by's tenant, and any
// missing unit above it, so that rules may grant it. An org unit's
// administrator creates units below their own only. A unit that exists
// already is a [*store.ConflictError].
func (e *Engine) CreateOrgUnit(ctx context.Context, by store.Principal, path string) (store.OrgUnit, error) {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return store.OrgUnit{}, &InputError{Attribute: "path", Msg: fmt.Sprintf("path %q: an org unit path is names joined by /, none of them empty (Medicine/Radiology)", path)}
		}
	}
	if by.OrgUnit != "" && !strings.HasPrefix(store.Fold(strings.Join(parts, "/")), store.Fold(by.OrgUnit)+"/") {
		return store.OrgUnit{}, &ForbiddenError{fmt.Sprintf("administrators of org unit %s create units below it only (%s/…)", by.OrgUnit, by.OrgUnit)}
	}
	var u store.OrgUnit
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		// Units that exist keep the case they were created with.
		for i := range parts {
			o, err := tx.OrgUnit(ctx, by.TenantID, strings.Join(parts[:i+1], "/"))
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
			if i == len(parts)-1 {
				return &store.ConflictError{Attribute: "path"}
			}
			copy(parts, strings.Split(o.Path, "/"))
		}
		var err error
		if u, err = tx.EnsureOrgUnit(ctx, by.TenantID, strings.Join(parts, "/")); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "create", "OrgUnit", u.Path, map[string]any{"after": map[string]any{"path": u.Path}})
	})
	return u, err
}

// CreateGroup creates a group named displayName in by's tenant, with no
// members, so that rules may grant it. Groups belong to the whole tenant,
// so this takes a tenant-wide administrator. A name the tenant already
// uses (in any case) is a [*store.ConflictError].
func (e *Engine) CreateGroup(ctx context.Context, by store.Principal, displayName string) (store.Group, error) {
	if err := mayAdminister(by, by.TenantName); err != nil {
		return store.Group{}, err
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" {
		return store.Group{}, &InputError{Attribute: "displayName", Msg: "displayName is required: the group's name"}
	}
	g := store.Group{TenantID: by.TenantID, DisplayName: displayName, Attrs: map[string]any{"displayName": displayName}}
	err := e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		// The unique index on the folded name refuses a taken name.
		// Managed by no connector, the group is one an IdP's push of the
		// same name adopts.
		if err := tx.InsertGroup(ctx, &g); err != nil {
			return err
		}
		return audit(ctx, tx, by, by.TenantID, "create", "Group", g.ID, map[string]any{"after": g.Attrs})
	})
	return g, err
}

// mayAdminister refuses an admin connector's principal a change outside
// its tenant, or of the whole tenant when it is scoped to an org unit.
// The command line may change anything.
func mayAdminister(by store.Principal, tenant string) error {
	switch {
	case by.ConnectorID == 0:
		return nil
	case by.TenantName != tenant:
		return &ForbiddenError{fmt.Sprintf("an admin connector of tenant %s cannot change tenant %s", by.TenantName, tenant)}
	case by.OrgUnit != "":
		return &ForbiddenError{fmt.Sprintf("administrators of org unit %s cannot do this; it takes a tenant-wide admin connector", by.OrgUnit)}
	}
	return nil
}

// ensureConnector returns the named connector of the named tenant,
// creating either if missing; a connector created is audited.
func ensureConnector(ctx context.Context, tx *store.Tx, by store.Principal, tenant, connector string) (store.Connector, error) {
	_, err := tx.ConnectorPrincipal(ctx, tenant, connector)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		return store.Connector{}, err
	}
	_, c, err := tx.EnsureConnector(ctx, tenant, connector)
	if err != nil || !created {
		return c, err
	}
	return c, audit(ctx, tx, by, c.TenantID, "create", "Connector", c.Name, map[string]any{"after": connectorDoc(c)})
}

// SetConnectorKind makes the named connector of the named tenant (both
// created if missing) an identity source of the given kind: store.KindSCIM
// or store.KindOIDC. A connector that already provisions users, or an
// admin connector, keeps its kind: a [*store.LimitError].
func (e *Engine) SetConnectorKind(ctx context.Context, by store.Principal, tenant, connector, kind string) error {
	defer e.db.PrincipalsChanged() // after the commit, before the notification arrives
	if err := mayAdminister(by, tenant); err != nil {
		return err
	}
	if kind != store.KindSCIM && kind != store.KindOIDC {
		return &InputError{Attribute: "kind", Msg: fmt.Sprintf("connector kind %q: use scim or oidc", kind)}
	}
	return e.db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := ensureKind(ctx, tx, by, tenant, connector, kind)
		return err
	})
}

// ensureKind returns the named connector, created if missing, of the given
// kind, changing its kind (with an audit event) if need be.
func ensureKind(ctx context.Context, tx *store.Tx, by store.Principal, tenant, connector, kind string) (store.Connector, error) {
	c, err := ensureConnector(ctx, tx, by, tenant, connector)
	if err != nil || c.Kind == kind {
		return c, err
	}
	after, err := tx.SetKind(ctx, c, kind)
	if err != nil {
		return store.Connector{}, err
	}
	return after, audit(ctx, tx, by, c.TenantID, "update", "Connector", c.Name, map[string]any{"before": connectorDoc(c), "after": connectorDoc(after)})
}

// connectorDoc is a connector as its audit events show it.
func connectorDoc(c store.Connector) map[string]any {
	return map[string]any{"kind": c.Kind, "profile": c.Profile, "orgUnit": c.OrgUnit}
}

// withActor adds to an audit event's detail the person acting through
// by, when one is (store.Principal.ActorID): "actor": {userId, userName}.
// It returns detail, made if nil.
func withActor(by store.Principal, detail map[string]any) map[string]any {
	if by.ActorID == "" {
		return detail
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["actor"] = map[string]any{"userId": by.ActorID, "userName": by.ActorUserName}
	return detail
}

// audit appends the event of an administrative change made by by.
func audit(ctx context.Context, tx *store.Tx, by store.Principal, tenantID int64, action, resourceType, resourceID string, detail map[string]any) error {
	source := SourceAdmin
	if by.ConnectorID == 0 {
		source = SourceCLI
	}
	err := tx.AppendAudit(ctx, &store.AuditEvent{TenantID: tenantID, Source: string(source), ConnectorID: by.ConnectorID,
		Action: action, ResourceType: resourceType, ResourceID: resourceID, Detail: withActor(by, detail)})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
