package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestIndexBacked shows, with EXPLAIN on PostgreSQL, that every key an
// identity provider matches on is found through an index: with sequential
// scans disabled, a plan that still reads users or groups sequentially
// has no index it could use.
func TestIndexBacked(t *testing.T) {
	db := storetest.Open(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	f := newFixture(t, db, "acme", "okta")
	// Enough users that reading the whole tenant costs more than any index.
	users := make([]store.User, 2000)
	for i := range users {
		name := fmt.Sprintf("user%04d@example.com", i)
		if i == len(users)-1 {
			name = "zed@unusual.test" // an ending no other user shares
		}
		users[i] = store.User{TenantID: f.tenant.ID, UserName: name, DisplayName: "User " + name, Active: true,
			Attrs: map[string]any{"userName": name, "emails": []any{map[string]any{"value": name, "type": "work"}},
				"name": map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%04d", i)}}}
	}
	if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.InsertUsers(ctx, users); err != nil {
			return err
		}
		for i, u := range users {
			if err := tx.SetUserExternalID(ctx, f.connector.ID, u.PK, fmt.Sprintf("00u%d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// 100 groups of 5 members each, so that no table is trivially small.
	var g store.Group
	for i := range 100 {
		var members []store.Member
		for j := range 5 {
			u := users[(i*5+j)%len(users)]
			members = append(members, store.Member{Type: "User", PK: u.PK})
		}
		g = f.addGroup(t, fmt.Sprintf("Group %d", i), members...)
	}
	// One local user, a member of g: the last group's first member.
	if _, err := db.Exec(ctx, fmt.Sprintf(`UPDATE users SET "local" = true WHERE pk = %d`, users[495].PK)); err != nil {
		t.Fatal(err)
	}
	// VACUUM moves the GIN indexes' pending entries into the index proper,
	// as autovacuum does on a live database.
	if _, err := db.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}

	// An unhinted deep page finds its first row from the live users'
	// index alone (migration 0023), not by reading the users.
	plan, err := db.ExplainUsersProbe(ctx, store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, StartIndex: 1901})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Index Only Scan using users_tenant_live ") {
		t.Errorf("the deep page probe reads more than the live users' index:\n%s", plan)
	}

	// Which local users a group holds starts from the local users' index,
	// however large the group.
	statements := db.Statements()
	locals, err := db.Reader().LocalMembers(ctx, f.tenant.ID, g.PK)
	if err != nil || len(locals) != 1 || locals[0].PK != users[495].PK {
		t.Fatalf("LocalMembers: %+v, %v", locals, err)
	}
	sql := statements()
	if len(sql) != 1 {
		t.Fatalf("LocalMembers ran %d statements", len(sql))
	}
	if plan, err = db.PlanOf(ctx, sql[0]); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "users_tenant_local") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("LocalMembers does not start from the local users:\n%s", plan)
	}

	for _, tt := range []struct {
		kind, filter string
		indexes      []string // the plan must use each
	}{
		{"users", `userName eq "USER0007@example.com"`, []string{"users_tenant_user_name"}},
		{"users", `userName sw "USER000"`, []string{"users_tenant_user_name"}},
		{"users", `userName co "ER0007@"`, []string{"users_user_name_trgm"}},
		{"users", `userName ew "@UNUSUAL.TEST"`, []string{"users_user_name_trgm"}},
		{"users", `name.familyName eq "FAMILY0007"`, []string{"users_tenant_family_name"}},
		{"users", `externalId eq "00u7"`, []string{"user_external_ids_value"}},
		{"users", `emails.value eq "user0007@example.com"`, []string{"users_email_values"}},
		{"users", `emails[type eq "work"].value eq "user0007@example.com"`, []string{"users_email_values"}},
		{"users", `displayName eq "user user0007@example.com"`, []string{"users_tenant_display_name"}},
		{"users", fmt.Sprintf(`id eq %q`, users[7].ID), []string{"users_id_key"}},
		{"users", fmt.Sprintf(`groups.value eq %q`, g.ID), []string{"groups_id_key", "group_users_pkey"}},
		{"users", `meta.lastModified gt "2099-01-01T00:00:00Z"`, []string{"users_tenant_updated"}},
		{"groups", `displayName eq "group 7"`, []string{"groups_tenant_display_name"}},
		{"groups", fmt.Sprintf(`members.value eq %q`, users[3].ID), []string{"users_id_key", "group_users_user"}},
	} {
		raw := tt.filter
		if strings.Contains(raw, "].value") { // Entra's form, as the SCIM layer rewrites it
			raw = `emails[type eq "work" and value eq "user0007@example.com"]`
		}
		expr, err := filter.ParseFilterNumber([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		q := store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, Filter: expr}
		var plan string
		if tt.kind == "users" {
			plan, err = db.ExplainUsers(ctx, q)
		} else {
			plan, err = db.ExplainGroups(ctx, q)
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		ok := !strings.Contains(plan, "Seq Scan")
		for _, index := range tt.indexes {
			ok = ok && strings.Contains(plan, " "+index+" ")
		}
		if !ok {
			t.Errorf("%s %s does not use %v:\n%s", tt.kind, tt.filter, tt.indexes, plan)
		} else {
			t.Logf("%s %s:\n%s", tt.kind, tt.filter, plan)
		}
	}
}
