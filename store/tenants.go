package store

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Tenant is an organisation. Every user, group and connector belongs to one.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
}

// Connector is one identity source feeding one tenant: an Okta app, an
// Entra enterprise app, later an OIDC provider or a CSV layout. It owns
// tokens and its own external-ID space.
type Connector struct {
	bun.BaseModel `bun:"table:connectors"`

	ID       int64  `bun:"id,pk,autoincrement"`
	TenantID int64  `bun:"tenant_id"`
	Name     string `bun:"name"`
	// Profile names the identity provider's compatibility behaviour.
	Profile string `bun:"profile,nullzero,default:'default'"`
	// Mode is ModeLive or ModeShadow (see [ModeShadow]).
	Mode string `bun:"mode,nullzero,default:'live'"`
	// Kind is KindSCIM for an identity source pushing over SCIM, KindOIDC
	// for one people sign in with (its tokens open the ID-token hook),
	// KindAdmin for the admin API, KindCSV for one whose users arrive in CSV
	// files.
	Kind string `bun:"kind,nullzero,default:'scim'"`
	// OrgUnit scopes an admin connector to a unit and what is below it;
	// "" is the whole tenant.
	OrgUnit   string    `bun:"org_unit,nullzero"`
	CreatedAt time.Time `bun:"created_at"`
}

// Token is a connector's bearer token as stored: its SHA-256, never the
// token itself.
type Token struct {
	bun.BaseModel `bun:"table:tokens"`

	ID          int64      `bun:"id,pk,autoincrement"`
	ConnectorID int64      `bun:"connector_id"`
	Hash        []byte     `bun:"hash"`
	Hint        string     `bun:"hint"`
	CreatedAt   time.Time  `bun:"created_at"`
	RevokedAt   *time.Time `bun:"revoked_at"`
}

// TokenInfo is a token as an admin lists it.
type TokenInfo struct {
	ID          int64
	TenantID    int64
	Tenant      string
	ConnectorID int64
	Connector   string
	Hint        string
	CreatedAt   time.Time
	RevokedAt   *time.Time
	// LastUsedAt is when a SCIM request last carried the token, to the
	// minute (migration 0025); nil: never, or not since it was recorded.
	LastUsedAt *time.Time
}

// Connector kinds.
const (
	KindSCIM  = "scim"
	KindOIDC  = "oidc"
	KindAdmin = "admin"
	// KindCSV is an identity source whose users arrive in CSV files.
	KindCSV = "csv"
)

// Principal is who a request acts as: a connector of a tenant.
type Principal struct {
	TenantID      int64
	TenantName    string
	ConnectorID   int64
	ConnectorName string
	// TokenID is the token the request carried; 0 for a principal not
	// read from a token (a command's, the console's session).
	TokenID int64
	Profile string
	// Mode is the connector's, ModeLive or ModeShadow: a shadow
	// connector's writes are planned and kept in its shadow store.
	Mode string
	// Kind and OrgUnit are the connector's (see [Connector]).
	Kind    string
	OrgUnit string
	// ConfigVersion is the version of the tenant's configuration saved
	// through the admin API when the principal was read (0: none).
	ConfigVersion int64
	// ActorID and ActorUserName are the person acting through an admin
	// principal, when one signed in: a console administrator signed in
	// through SSO (their SCIM id and userName), whom audit events name.
	// Both are empty for a token, a bootstrap link or the command line.
	ActorID, ActorUserName string
}

// MaxActiveTokens is how many unrevoked tokens a connector may hold: two, so
// that a token can be rotated without downtime.
const MaxActiveTokens = 2

// Tenant returns the tenant with the given name.
func (r reader) Tenant(ctx context.Context, name string) (Tenant, error) {
	var t Tenant
	err := r.idb.NewSelect().Model(&t).Where("name = ?", name).Scan(ctx)
	return t, mapError(err)
}

// Principal returns the principal whose token has the given SHA-256, if the
// token is not revoked.
func (r reader) Principal(ctx context.Context, hash []byte) (Principal, Token, error) {
	var row struct {
		Token
		TenantID      int64  `bun:"tenant_id"`
		TenantName    string `bun:"tenant_name"`
		ConnectorName string `bun:"connector_name"`
		Profile       string `bun:"profile"`
		Mode          string `bun:"mode"`
		Kind          string `bun:"kind"`
		OrgUnit       string `bun:"org_unit"`
		ConfigVersion int64  `bun:"config_version"`
	}
	err := r.idb.NewSelect().Model(&row).
		ModelTableExpr("tokens AS t").
		ColumnExpr("t.*, c.tenant_id, n.name AS tenant_name, c.name AS connector_name, c.profile, c.mode, c.kind, COALESCE(c.org_unit, '') AS org_unit, n.config_version").
		Join("JOIN connectors AS c ON c.id = t.connector_id").
		Join("JOIN tenants AS n ON n.id = c.tenant_id").
		Where("t.hash = ?", hash).
		Where("t.revoked_at IS NULL").
		Scan(ctx)
	if err != nil {
		return Principal{}, Token{}, mapError(err)
	}
	return Principal{
		TenantID:      row.TenantID,
		TenantName:    row.TenantName,
		ConnectorID:   row.ConnectorID,
		ConnectorName: row.ConnectorName,
		TokenID:       row.Token.ID,
		Profile:       row.Profile,
		Mode:          row.Mode,
		Kind:          row.Kind,
		OrgUnit:       row.OrgUnit,
		ConfigVersion: row.ConfigVersion,
	}, row.Token, nil
}

// ConnectorPrincipal returns the principal of a tenant's connector by
// their names, or [ErrNotFound]: what a command acting for a connector
// (a preview) runs as.
func (r reader) ConnectorPrincipal(ctx context.Context, tenant, connector string) (Principal, error) {
	var p Principal
	err := r.idb.NewSelect().TableExpr("connectors AS c").
		ColumnExpr("c.tenant_id, n.name AS tenant_name, c.id AS connector_id, c.name AS connector_name, c.profile, c.mode, c.kind, COALESCE(c.org_unit, ''), n.config_version").
		Join("JOIN tenants AS n ON n.id = c.tenant_id").
		Where("n.name = ? AND c.name = ?", tenant, connector).
		Scan(ctx, &p.TenantID, &p.TenantName, &p.ConnectorID, &p.ConnectorName, &p.Profile, &p.Mode, &p.Kind, &p.OrgUnit, &p.ConfigVersion)
	return p, mapError(err)
}

// TenantConfig returns the connector configuration saved for a tenant
// through the admin API, and its version; version 0 means none was saved.
func (r reader) TenantConfig(ctx context.Context, tenantID int64) (text string, version int64, err error) {
	var cfg *string
	err = r.idb.NewSelect().TableExpr("tenants").ColumnExpr("config, config_version").
		Where("id = ?", tenantID).Scan(ctx, &cfg, &version)
	if cfg != nil {
		text = *cfg
	}
	return text, version, mapError(err)
}

// TenantConfigVersion returns the version of the tenant's configuration
// saved through the admin API; 0 means none was saved.
func (r reader) TenantConfigVersion(ctx context.Context, tenantID int64) (int64, error) {
	var version int64
	err := r.idb.NewSelect().TableExpr("tenants").Column("config_version").Where("id = ?", tenantID).Scan(ctx, &version)
	return version, mapError(err)
}

// SetTenantConfig saves a tenant's connector configuration, which the
// caller has checked, over version from (0: none saved yet; negative:
// any), and returns its new version. [ErrStale] when the stored version
// is not from: someone saved since. The check is the update's own, so
// of two saves over one version, one wins.
func (tx *Tx) SetTenantConfig(ctx context.Context, tenantID int64, text string, from int64) (int64, error) {
	q := tx.idb.NewUpdate().Table("tenants").Set("config = ?", text).Set("config_version = config_version + 1").Where("id = ?", tenantID)
	if from >= 0 {
		q = q.Where("config_version = ?", from)
	}
	res, err := q.Exec(ctx)
	missing := ErrNotFound
	if from >= 0 {
		missing = ErrStale
	}
	if err := checkOne(res, err, missing); err != nil {
		return 0, err
	}
	_, version, err := tx.TenantConfig(ctx, tenantID)
	return version, err
}

// ConnectorNames maps the ids of a tenant's connectors to their names.
func (r reader) ConnectorNames(ctx context.Context, tenantID int64) (map[int64]string, error) {
	var cs []Connector
	if err := r.idb.NewSelect().Model(&cs).Where("tenant_id = ?", tenantID).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	names := make(map[int64]string, len(cs))
	for _, c := range cs {
		names[c.ID] = c.Name
	}
	return names, nil
}

// Tokens lists the tokens of a tenant (every tenant when tenant is ""),
// newest first, revoked ones included.
func (r reader) Tokens(ctx context.Context, tenant string) ([]TokenInfo, error) {
	q := r.selectTokens().OrderExpr("t.id DESC")
	if tenant != "" {
		q = q.Where("n.name = ?", tenant)
	}
	return scanTokens(ctx, q)
}

// TokenInfo returns the token with the given id, or [ErrNotFound].
func (r reader) TokenInfo(ctx context.Context, id int64) (TokenInfo, error) {
	ts, err := scanTokens(ctx, r.selectTokens().Where("t.id = ?", id))
	if err != nil || len(ts) == 0 {
		return TokenInfo{}, cmp.Or(err, ErrNotFound)
	}
	return ts[0], nil
}

func (r reader) selectTokens() *bun.SelectQuery {
	return r.idb.NewSelect().TableExpr("tokens AS t").
		ColumnExpr("t.*, c.tenant_id, n.name AS tenant_name, c.name AS connector_name, tu.last_used_at").
		Join("JOIN connectors AS c ON c.id = t.connector_id").
		Join("JOIN tenants AS n ON n.id = c.tenant_id").
		Join("LEFT JOIN token_usage AS tu ON tu.token_id = t.id")
}

// ConnectorTokens lists the tokens of one connector, newest first,
// revoked ones included.
func (r reader) ConnectorTokens(ctx context.Context, connectorID int64) ([]TokenInfo, error) {
	return scanTokens(ctx, r.selectTokens().Where("t.connector_id = ?", connectorID).OrderExpr("t.id DESC"))
}

// TouchTokens records that the tokens with the given ids were used at
// at (table token_usage): one statement, ids of tokens that no longer
// exist skipped.
func (tx *Tx) TouchTokens(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.idb.NewRaw("INSERT INTO token_usage (token_id, last_used_at) SELECT id, ? FROM tokens WHERE id IN (?) "+
		"ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at", at.UTC().Truncate(time.Microsecond), bun.List(ids)).Exec(ctx)
	return mapError(err)
}

func scanTokens(ctx context.Context, q *bun.SelectQuery) ([]TokenInfo, error) {
	var rows []struct {
		Token
		TenantID      int64      `bun:"tenant_id"`
		TenantName    string     `bun:"tenant_name"`
		ConnectorName string     `bun:"connector_name"`
		LastUsedAt    *time.Time `bun:"last_used_at"`
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, mapError(err)
	}
	out := make([]TokenInfo, len(rows))
	for i, row := range rows {
		out[i] = TokenInfo{ID: row.ID, TenantID: row.TenantID, Tenant: row.TenantName, ConnectorID: row.ConnectorID,
			Connector: row.ConnectorName, Hint: row.Hint, CreatedAt: row.CreatedAt, RevokedAt: row.RevokedAt, LastUsedAt: row.LastUsedAt}
	}
	return out, nil
}

// EnsureConnector returns the named connector of the named tenant, creating
// either if missing.
func (tx *Tx) EnsureConnector(ctx context.Context, tenant, connector string) (Tenant, Connector, error) {
	t := Tenant{Name: tenant, CreatedAt: now()}
	if _, err := tx.idb.NewInsert().Model(&t).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
		return Tenant{}, Connector{}, fmt.Errorf("create tenant: %w", mapError(err))
	}
	if err := tx.idb.NewSelect().Model(&t).Where("name = ?", tenant).Scan(ctx); err != nil {
		return Tenant{}, Connector{}, fmt.Errorf("read tenant: %w", mapError(err))
	}
	c := Connector{TenantID: t.ID, Name: connector, CreatedAt: now()}
	if _, err := tx.idb.NewInsert().Model(&c).On("CONFLICT (tenant_id, name) DO NOTHING").Exec(ctx); err != nil {
		return Tenant{}, Connector{}, fmt.Errorf("create connector: %w", mapError(err))
	}
	if err := tx.idb.NewSelect().Model(&c).Where("tenant_id = ? AND name = ?", t.ID, connector).Scan(ctx); err != nil {
		return Tenant{}, Connector{}, fmt.Errorf("read connector: %w", mapError(err))
	}
	return t, c, nil
}

// SetAdmin makes connector c an admin connector, scoped to the org unit at
// orgUnit ("" for the whole tenant), and returns it so. A connector that
// already pushes SCIM users stays what it is: a [*LimitError].
func (tx *Tx) SetAdmin(ctx context.Context, c Connector, orgUnit string) (Connector, error) {
	n, err := tx.idb.NewSelect().TableExpr("user_links").Where("connector_id = ?", c.ID).Count(ctx)
	if err != nil {
		return Connector{}, mapError(err)
	}
	if c.Kind != KindAdmin && n > 0 {
		return Connector{}, &LimitError{What: fmt.Sprintf("connector %s already provisions %d users; give the administrators a connector of their own", c.Name, n)}
	}
	if orgUnit != "" {
		u, err := tx.OrgUnit(ctx, c.TenantID, orgUnit)
		if err != nil {
			return Connector{}, fmt.Errorf("org unit %q: %w", orgUnit, err)
		}
		orgUnit = u.Path
	}
	c.Kind, c.OrgUnit = KindAdmin, orgUnit
	_, err = tx.idb.NewUpdate().Model((*Connector)(nil)).Set("kind = ?", KindAdmin).
		Set("org_unit = ?", bun.NullZero(orgUnit)).Where("id = ?", c.ID).Exec(ctx)
	return c, mapError(err)
}

// SetKind makes connector c an identity source of the given kind,
// [KindSCIM], [KindOIDC] or [KindCSV], and returns it so. An admin connector stays
// one, and a connector that already provisions users keeps its kind: a
// [*LimitError] either way.
func (tx *Tx) SetKind(ctx context.Context, c Connector, kind string) (Connector, error) {
	if c.Kind == kind {
		return c, nil
	}
	if c.Kind == KindAdmin {
		return Connector{}, &LimitError{What: fmt.Sprintf("connector %s is an admin connector; give the identity source a connector of its own", c.Name)}
	}
	n, err := tx.idb.NewSelect().TableExpr("user_links").Where("connector_id = ?", c.ID).Count(ctx)
	if err != nil {
		return Connector{}, mapError(err)
	}
	if n > 0 {
		return Connector{}, &LimitError{What: fmt.Sprintf("connector %s already provisions %d users as a %s connector; give the %s source a connector of its own", c.Name, n, c.Kind, kind)}
	}
	c.Kind = kind
	_, err = tx.idb.NewUpdate().Model((*Connector)(nil)).Set("kind = ?", kind).Where("id = ?", c.ID).Exec(ctx)
	return c, mapError(err)
}

// SetProfile sets the compatibility profile of the connector with the
// given id.
func (tx *Tx) SetProfile(ctx context.Context, connectorID int64, profile string) error {
	_, err := tx.idb.NewUpdate().Model((*Connector)(nil)).Set("profile = ?", profile).Where("id = ?", connectorID).Exec(ctx)
	return mapError(err)
}

// AddToken stores a token's hash for a connector. It refuses with a
// [*LimitError] when the connector already has [MaxActiveTokens].
func (tx *Tx) AddToken(ctx context.Context, connectorID int64, hash []byte, hint string) (Token, error) {
	if tx.dialect == Postgres {
		// Serialise token creation per connector so that two concurrent
		// creations cannot both pass the count. SQLite's write lock,
		// taken at BEGIN, already does.
		if _, err := tx.idb.NewRaw("SELECT id FROM connectors WHERE id = ? FOR UPDATE", connectorID).Exec(ctx); err != nil {
			return Token{}, mapError(err)
		}
	}
	active, err := tx.idb.NewSelect().Model((*Token)(nil)).
		Where("connector_id = ? AND revoked_at IS NULL", connectorID).Count(ctx)
	if err != nil {
		return Token{}, mapError(err)
	}
	if active >= MaxActiveTokens {
		return Token{}, &LimitError{What: fmt.Sprintf(
			"the connector already has %d active tokens; revoke one first (scimd token list, scimd token revoke ID)", active)}
	}
	t := Token{ConnectorID: connectorID, Hash: hash, Hint: hint, CreatedAt: now()}
	if _, err := tx.idb.NewInsert().Model(&t).Returning("id").Exec(ctx); err != nil {
		return Token{}, mapError(err)
	}
	return t, nil
}

// RevokeToken revokes a token by id and returns it as it was before.
// Revoking twice is not an error; an unknown id is [ErrNotFound].
func (tx *Tx) RevokeToken(ctx context.Context, id int64) (TokenInfo, error) {
	t, err := tx.TokenInfo(ctx, id)
	if err != nil {
		return TokenInfo{}, err
	}
	_, err = tx.idb.NewUpdate().Model((*Token)(nil)).
		Set("revoked_at = COALESCE(revoked_at, ?)", now()).
		Where("id = ?", id).Exec(ctx)
	return t, mapError(err)
}
