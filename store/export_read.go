package store

import (
	"context"
	"slices"

	"github.com/uptrace/bun"
)

// LiveUsers returns up to limit of the tenant's live users (not deleted)
// after the user with pk after, in creation (pk) order, each with
// connectorID's external ID: the keyset pages of an export. With orgUnit
// ("" none) only the users holding that unit or one below it.
//
// Each page is a range of the (tenant_id, pk) index, however deep it is;
// the external ID is a subquery in the select list, one index lookup per
// row, rather than a join, for the reason [reader.externalIDs] gives.
func (r reader) LiveUsers(ctx context.Context, tenantID, connectorID int64, orgUnit string, after int64, limit int) ([]User, error) {
	from := "users AS u"
	if r.dialect == SQLite && orgUnit == "" {
		from += " INDEXED BY users_tenant_pk" // see pageTable
	}
	var us []User
	q := r.idb.NewSelect().Model(&us).ModelTableExpr(from).
		ColumnExpr("u.*, (SELECT x.value FROM user_external_ids AS x WHERE x.user_pk = u.pk AND x.connector_id = ?) AS external_id", connectorID).
		Where(r.tenantIs("u"), tenantID).Where(live).Where("u.pk > ?", after)
	err := orgUnitScope(orgUnit)(q).OrderExpr("u.tenant_id, u.pk").Limit(int64(limit)).Scan(ctx)
	return us, mapError(err)
}

// UsersByIDs returns the tenant's live users of the SCIM ids, by id, each
// with connectorID's external ID: one query per thousand ids. An id that
// names no live user is left out.
func (r reader) UsersByIDs(ctx context.Context, tenantID, connectorID int64, ids []string) (map[string]User, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !ValidID(id) })
	out := make(map[string]User, len(ids))
	for part := range slices.Chunk(ids, chunk) {
		var us []User
		err := r.selectUsers(&us, connectorID).Where("u.tenant_id = ? AND u.id IN (?)", tenantID, bun.List(part)).Scan(ctx)
		if err != nil {
			return nil, mapError(err)
		}
		for _, u := range us {
			out[u.ID] = u
		}
	}
	return out, nil
}
