package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// people is the filter suite's data: one tenant, each user a full SCIM
// document, as the SCIM layer would store it.
var people = []map[string]any{
	{
		"userName": "alice@example.com", "displayName": "Alice Ångström", "active": true, "title": "Dr.",
		"name":     map[string]any{"givenName": "Alice", "familyName": "Ångström"},
		"emails":   []any{map[string]any{"value": "alice@example.com", "type": "work", "primary": true}, map[string]any{"value": "ally@home.example", "type": "home"}},
		enterprise: map[string]any{"department": "Radiology", "employeeNumber": "701", "manager": map[string]any{"value": "m-1", "displayName": "Boss"}},
	},
	{
		"userName": "Bob@Example.com", "displayName": "Bob", "active": true,
		"name":     map[string]any{"givenName": "Bob", "familyName": "Builder"},
		"emails":   []any{map[string]any{"value": "BOB@EXAMPLE.COM", "type": "work"}},
		enterprise: map[string]any{"department": "Cardiology", "employeeNumber": "702"},
	},
	{
		"userName": "carol_50%@example.org", "active": false,
		"name":   map[string]any{"givenName": "Carol", "familyName": "Smith"},
		"emails": []any{map[string]any{"value": "carol@example.org", "type": "home", "primary": true}},
	},
	{
		"userName": "dave", "active": true, "nickName": `quote"back\slash`,
		"x509Certificates": []any{},
	},
}

func TestFilterTranslation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "acme", "okta")
		byName := map[string]store.User{}
		for i, doc := range people {
			u := store.User{TenantID: f.tenant.ID, UserName: doc["userName"].(string), Attrs: doc}
			u.Active, _ = doc["active"].(bool)
			u.DisplayName, _ = doc["displayName"].(string)
			err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				if err := tx.InsertUser(ctx, &u); err != nil {
					return err
				}
				return tx.SetUserExternalID(ctx, f.connector.ID, u.PK, fmt.Sprintf("ext-%d", i))
			})
			if err != nil {
				t.Fatal(err)
			}
			byName[u.UserName] = u
			time.Sleep(2 * time.Millisecond) // distinct meta.created
		}
		alice, bob := byName["alice@example.com"], byName["Bob@Example.com"]
		staff := f.addGroup(t, "Staff", store.Member{Type: "User", PK: alice.PK, ID: alice.ID})
		_ = staff
		A, B, C, D := "alice@example.com", "Bob@Example.com", "carol_50%@example.org", "dave"
		all := []string{A, B, C, D}
		mid := bob.CreatedAt.Format(time.RFC3339Nano)

		tests := []struct {
			filter string
			want   []string
		}{
			// Every operator on a case-insensitive column.
			{`userName eq "BOB@example.com"`, []string{B}},
			{`userName ne "bob@example.com"`, []string{A, C, D}},
			{`userName co "EXAMPLE"`, []string{A, B, C}},
			{`userName sw "CA"`, []string{C}},
			{`userName ew ".COM"`, []string{A, B}},
			{`userName gt "bob@example.com"`, []string{C, D}},
			{`userName ge "bob@example.com"`, []string{B, C, D}},
			{`userName lt "bob@example.com"`, []string{A}},
			{`userName le "bob@example.com"`, []string{A, B}},
			{`userName pr`, all},
			{`userName co "_50%"`, []string{C}},
			{`userName co "r_l"`, nil}, // _ is literal, not a wildcard
			// %, _ and \ match themselves in sw, co and ew, in columns
			// and in JSON, multi-valued attributes included.
			{`userName sw "%"`, nil},
			{`userName ew "50%@example.org"`, []string{C}},
			{`userName sw "carol_"`, []string{C}},
			{`userName sw "carol%"`, nil},
			{`emails.value sw "%"`, nil},
			{`emails.value co "_"`, nil},
			{`emails.value ew "%"`, nil},
			{`emails[value sw "%"]`, nil},
			{`nickName co "\\"`, []string{D}},
			{`nickName co "k\\s"`, []string{D}},
			{`nickName sw "quote\"b"`, []string{D}},
			{`nickName ew "\\"`, nil},
			{`title co "%"`, nil},
			// JSON attributes: case-insensitive, Unicode included.
			{`displayName eq "ALICE ÅNGSTRÖM"`, []string{A}},
			{`name.familyName eq "ångström"`, []string{A}},
			{`name.familyName sw "B"`, []string{B}},
			{`name.givenName pr`, []string{A, B, C}},
			{`name pr`, []string{A, B, C}},
			{`title eq "dr."`, []string{A}},
			{`title pr`, []string{A}},
			{`not (title pr)`, []string{B, C, D}},
			{`title ne "Dr."`, []string{B, C, D}},
			{`nickName eq "quote\"back\\slash"`, []string{D}},
			{`title eq null`, []string{B, C, D}},
			// Booleans, Entra's string booleans too.
			{`active eq true`, []string{A, B, D}},
			{`active eq "False"`, []string{C}},
			{`active ne true`, []string{C}},
			// Multi-valued attributes and value paths.
			{`emails.value eq "bob@example.com"`, []string{B}},
			{`emails eq "ALLY@home.example"`, []string{A}},
			{`emails.value co "@home"`, []string{A}},
			{`emails.type eq "home"`, []string{A, C}},
			{`emails[type eq "work" and value co "example.com"]`, []string{A, B}},
			{`emails[type eq "home" and primary eq true]`, []string{C}},
			{`emails[type eq "work" or primary eq true]`, []string{A, B, C}},
			{`emails[not (type eq "work")]`, []string{A, C}},
			{`emails[value eq "carol@EXAMPLE.org"]`, []string{C}},
			{`emails pr`, []string{A, B, C}},
			{`x509Certificates pr`, nil},
			// Extension attributes by full URN, mixed with core ones.
			{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "radiology"`, []string{A}},
			{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ge "702"`, []string{B}},
			{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1"`, []string{A}},
			{`userName sw "a" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr`, []string{A}},
			// Nested logic.
			{`(userName sw "a" or userName sw "b") and not (active eq false)`, []string{A, B}},
			{`userName sw "a" or userName sw "b" and active eq false`, []string{A}},
			{`not (userName sw "a" or emails.type eq "home")`, []string{B, D}},
			// id, externalId, meta dates.
			{fmt.Sprintf(`id eq %q`, bob.ID), []string{B}},
			{fmt.Sprintf(`id ne %q`, bob.ID), []string{A, C, D}},
			{`id eq "nope"`, nil},
			{`externalId eq "ext-2"`, []string{C}},
			{`externalId eq "EXT-2"`, nil}, // caseExact
			{`externalId sw "ext-"`, all},
			{fmt.Sprintf(`meta.created ge %q`, mid), []string{B, C, D}},
			{fmt.Sprintf(`meta.created lt %q`, mid), []string{A}},
			{fmt.Sprintf(`meta.lastModified gt %q`, mid), []string{C, D}},
			{`meta.created gt "2000-01-01T00:00:00Z"`, all},
			{`meta.lastModified lt "2000-01-01T00:00:00+01:00"`, nil},
			// Memberships, as rows.
			{fmt.Sprintf(`groups.value eq %q`, staff.ID), []string{A}},
			{`groups pr`, []string{A}},
			{`not (groups pr)`, []string{B, C, D}},
			// Injection attempts are just strings.
			{`userName eq "x' OR '1'='1"`, nil},
			{`userName eq "x\" OR 1=1 --"`, nil},
		}
		for _, tt := range tests {
			if got := f.users(t, tt.filter); !slices.Equal(got, tt.want) {
				t.Errorf("filter %s: got %q, want %q", tt.filter, got, tt.want)
			}
		}

		groupTests := []struct {
			filter string
			want   []string
		}{
			{fmt.Sprintf(`members.value eq %q`, alice.ID), []string{"Staff"}},
			{fmt.Sprintf(`members[value eq %q]`, alice.ID), []string{"Staff"}},
			{fmt.Sprintf(`members eq %q`, bob.ID), nil},
			{`members pr`, []string{"Staff"}},
			{`displayName eq "STAFF"`, []string{"Staff"}},
		}
		for _, tt := range groupTests {
			expr, err := filter.ParseFilterNumber([]byte(tt.filter))
			if err != nil {
				t.Fatal(err)
			}
			page, err := db.Groups(ctx, store.Query{TenantID: f.tenant.ID, ConnectorID: f.connector.ID, Filter: expr, Count: 10})
			if err != nil {
				t.Fatalf("groups %s: %v", tt.filter, err)
			}
			var got []string
			for _, g := range page.Items {
				got = append(got, g.DisplayName)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("group filter %s: got %q, want %q", tt.filter, got, tt.want)
			}
		}
	})
}
