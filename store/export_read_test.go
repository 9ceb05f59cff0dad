package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestLiveUsersIndexed: an export's page, however deep, is an index range
// of users starting at its key on PostgreSQL (EXPLAIN with sequential
// scans disabled), and pages hold each live user once, in order.
func TestLiveUsersIndexed(t *testing.T) {
	db := storetest.Open(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	f := newFixture(t, db, "acme", "okta")
	users := make([]store.User, 2500)
	for i := range users {
		name := fmt.Sprintf("user%04d@example.com", i)
		users[i] = store.User{TenantID: f.tenant.ID, UserName: name, Active: true, Attrs: map[string]any{"userName": name}}
	}
	if err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.InsertUsers(ctx, users); err != nil {
			return err
		}
		return tx.SetUserExternalID(ctx, f.connector.ID, users[1700].PK, "00u1700")
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	recorded := db.Statements()
	var all []store.User
	for after := int64(0); ; {
		page, err := db.LiveUsers(ctx, f.tenant.ID, f.connector.ID, "", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].PK
	}
	if len(all) != len(users) || all[1700].UserName != users[1700].UserName || all[1700].ExternalID != "00u1700" {
		t.Fatalf("pages: %d users, user 1700 %+v", len(all), all[1700])
	}
	statements := recorded()
	deep := statements[2] // after 2,000 users
	plan, err := db.Explain(ctx, deep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index Cond: (pk > 2000)") {
		t.Fatalf("an export page does not start at its key on an index:\n%s\n%s", deep, plan)
	}
	t.Logf("%s", plan)
}
