package store

import (
	"context"
	"slices"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Found is what [reader.UsersByKeys] found for a batch of keys: the
// tenant's users by a connector's external ID, by folded userName and by
// folded email, each with that connector's external ID.
type Found struct {
	ByExternalID map[string][]User
	ByUserName   map[string]User
	ByEmail      map[string][]User
}

// UsersByKeys looks up, for a batch of writes (a CSV load), the tenant's
// users that connectorID knows by one of externalIDs, whose folded
// userName is one of userNames, or who hold one of the folded emails: a
// few queries, each on an index, for the whole batch instead of one per
// write. Keys are looked up a thousand at a time.
func (r reader) UsersByKeys(ctx context.Context, tenantID, connectorID int64, externalIDs, userNames, emails []string) (Found, error) {
	f := Found{ByExternalID: map[string][]User{}, ByUserName: map[string]User{}, ByEmail: map[string][]User{}}
	for part := range slices.Chunk(externalIDs, chunk) {
		var us []User
		var err error
		if r.dialect == Postgres {
			err = r.probeUsers(ctx, &us, connectorID, pgdialect.Array(part), "text",
				"SELECT u.* FROM (SELECT user_pk FROM user_external_ids WHERE connector_id = ? AND value = k.v OFFSET 0) AS e "+
					"CROSS JOIN LATERAL (SELECT * FROM users AS u WHERE u.pk = e.user_pk AND u.tenant_id = ? AND "+live+" OFFSET 0) AS u",
				connectorID, tenantID)
		} else {
			err = r.selectUsers(&us, connectorID).
				Where("u.tenant_id = ? AND u.pk IN (SELECT user_pk FROM user_external_ids WHERE connector_id = ? AND value IN (?))",
					tenantID, connectorID, bun.List(part)).
				OrderExpr("u.pk").Scan(ctx)
		}
		if err != nil {
			return Found{}, mapError(err)
		}
		for _, u := range us {
			f.ByExternalID[u.ExternalID] = append(f.ByExternalID[u.ExternalID], u)
		}
	}
	for part := range slices.Chunk(userNames, chunk) {
		var us []User
		var err error
		if r.dialect == Postgres {
			err = r.probeUsers(ctx, &us, connectorID, pgdialect.Array(part), "text",
				"SELECT * FROM users AS u WHERE u.tenant_id = ? AND u.user_name_folded = k.v AND "+live, tenantID)
		} else {
			err = r.selectUsers(&us, connectorID).
				Where("u.tenant_id = ? AND u.user_name_folded IN (?)", tenantID, bun.List(part)).Scan(ctx)
		}
		if err != nil {
			return Found{}, mapError(err)
		}
		for _, u := range us {
			f.ByUserName[u.UserNameFolded] = u
		}
	}
	for part := range slices.Chunk(emails, chunk) {
		var pairs []struct {
			UserPK int64  `bun:"user_pk"`
			Email  string `bun:"email"`
		}
		var err error
		if r.dialect == Postgres {
			err = r.idb.NewRaw("SELECT m.user_pk, m.email FROM unnest(?::text[]) AS k(v) CROSS JOIN LATERAL "+
				"(SELECT user_pk, email FROM user_emails WHERE tenant_id = ? AND email = k.v OFFSET 0) AS m ORDER BY m.user_pk",
				pgdialect.Array(part), tenantID).Scan(ctx, &pairs)
		} else {
			err = r.idb.NewSelect().TableExpr("user_emails").Column("user_pk", "email").
				Where("tenant_id = ? AND email IN (?)", tenantID, bun.List(part)).
				OrderExpr("user_pk").Scan(ctx, &pairs)
		}
		if err != nil {
			return Found{}, mapError(err)
		}
		if len(pairs) == 0 {
			continue
		}
		pks := make([]int64, len(pairs))
		for i, p := range pairs {
			pks[i] = p.UserPK
		}
		var us []User
		if r.dialect == Postgres {
			err = r.probeUsers(ctx, &us, connectorID, pgdialect.Array(slices.Compact(pks)), "bigint",
				"SELECT * FROM users AS u WHERE u.pk = k.v AND u.tenant_id = ? AND "+live, tenantID)
		} else {
			err = r.selectUsers(&us, connectorID).
				Where("u.tenant_id = ? AND u.pk IN (?)", tenantID, bun.List(slices.Compact(pks))).Scan(ctx)
		}
		if err != nil {
			return Found{}, mapError(err)
		}
		byPK := make(map[int64]User, len(us))
		for _, u := range us {
			byPK[u.PK] = u
		}
		for _, p := range pairs {
			if u, ok := byPK[p.UserPK]; ok && !slices.ContainsFunc(f.ByEmail[p.Email], func(o User) bool { return o.PK == u.PK }) {
				f.ByEmail[p.Email] = append(f.ByEmail[p.Email], u)
			}
		}
	}
	return f, nil
}

// LinksOf returns which of the users connectorID manages.
func (r reader) LinksOf(ctx context.Context, connectorID int64, userPKs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	for part := range slices.Chunk(userPKs, chunk) {
		var pks []int64
		err := r.idb.NewSelect().TableExpr("user_links").Column("user_pk").
			Where("connector_id = ? AND user_pk IN (?)", connectorID, bun.List(part)).Scan(ctx, &pks)
		if err != nil {
			return nil, mapError(err)
		}
		for _, pk := range pks {
			out[pk] = true
		}
	}
	return out, nil
}

// AttributeSourcesOf is [reader.AttributeSources] for many users.
func (r reader) AttributeSourcesOf(ctx context.Context, userPKs []int64) (map[int64]map[string]AttributeSource, error) {
	out := map[int64]map[string]AttributeSource{}
	for part := range slices.Chunk(userPKs, chunk) {
		var rows []AttributeSource
		if err := r.idb.NewSelect().Model(&rows).Where("user_pk IN (?)", bun.List(part)).Scan(ctx); err != nil {
			return nil, mapError(err)
		}
		for _, a := range rows {
			if out[a.UserPK] == nil {
				out[a.UserPK] = map[string]AttributeSource{}
			}
			out[a.UserPK][a.Attribute] = a
		}
	}
	return out, nil
}

// PasswordHashes returns the stored password hash of each of the users
// that has one: for a writer to tell whether a hash it brings is new.
// Only a write transaction reads them.
func (tx *Tx) PasswordHashes(ctx context.Context, userPKs []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for part := range slices.Chunk(userPKs, chunk) {
		var rows []struct {
			PK   int64  `bun:"pk"`
			Hash string `bun:"password_hash"`
		}
		err := tx.idb.NewSelect().TableExpr("users").Column("pk", "password_hash").
			Where("pk IN (?) AND password_hash IS NOT NULL", bun.List(part)).Scan(ctx, &rows)
		if err != nil {
			return nil, mapError(err)
		}
		for _, row := range rows {
			out[row.PK] = row.Hash
		}
	}
	return out, nil
}

// UserGrant is one grant of one user, for [Tx.AddGrants].
type UserGrant struct {
	UserPK int64
	Grant  Grant
}

// AddGrants is [Tx.AddGrant] for many grants at once: the grants, then
// the memberships the group grants give, a thousand rows per statement.
func (tx *Tx) AddGrants(ctx context.Context, grants []UserGrant) error {
	at := now()
	rows := make([]userGrant, 0, len(grants))
	var members []groupUser
	for _, g := range grants {
		row := userGrant{UserPK: g.UserPK, Grant: g.Grant}
		if row.GrantedAt.IsZero() {
			row.GrantedAt = at
		}
		rows = append(rows, row)
		if g.Grant.Kind == GrantGroup {
			members = append(members, groupUser{GroupPK: g.Grant.TargetPK, UserPK: g.UserPK})
		}
	}
	for part := range slices.Chunk(rows, chunk) {
		if _, err := tx.idb.NewInsert().Model(&part).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return mapError(err)
		}
	}
	for part := range slices.Chunk(members, chunk) {
		if _, err := tx.idb.NewInsert().Model(&part).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// probeUsers reads into dst, on PostgreSQL, the live users that inner (a
// query of users AS u for one key, k.v) finds for each of keys, an array
// of pgType, with connectorID's external ID: one index probe per key, in
// pk order. A bulk load writes and reads back its tables in one
// transaction, which no autovacuum sees until it commits, so the planner
// keeps the statistics of the tables before the load (near empty): given
// "userName IN (1,000 names)" it scanned the tenant's users instead of
// probing the index, and each batch's lookups took 2 ms longer per 1,000
// rows already loaded, two seconds a batch at a million. A probe per key
// from unnest, behind OFFSET 0 so that the planner cannot flatten it into
// a join of its choosing, has one plan whatever the statistics say.
func (r reader) probeUsers(ctx context.Context, dst *[]User, connectorID int64, keys any, pgType, inner string, args ...any) error {
	q := "SELECT u.*, x.value AS external_id FROM unnest(?::" + pgType + "[]) AS k(v) CROSS JOIN LATERAL (" + inner + " OFFSET 0) AS u " +
		"LEFT JOIN user_external_ids AS x ON x.user_pk = u.pk AND x.connector_id = ? ORDER BY u.pk"
	return mapError(r.idb.NewRaw(q, append(append([]any{keys}, args...), connectorID)...).Scan(ctx, dst))
}
