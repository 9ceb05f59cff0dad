package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestSpliceMatchesRender reads the same users through the list's fast
// path (no projection: the stored JSON copied, the server's members
// spliced in) and through the general one (decoded, rendered, encoded;
// excludedAttributes naming no attribute takes it and removes nothing),
// and wants the same documents: varied users, with and without the
// enterprise extension, one declaring it empty, externalIds, groups,
// escapes and non-ASCII text, and stored documents the fast path leaves
// to the general one (a reserved member, an escaped key, numbers).
func TestSpliceMatchesRender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newClient(t, db, newServer(t, db, scim.Config{}), "acme", "okta")
		core := "urn:ietf:params:scim:schemas:core:2.0:User"
		var ids []string
		for i, body := range []map[string]any{
			{"schemas": []string{core}, "userName": "minimal"},
			benchUser("full@example.com"),
			userBody("declared", "schemas", []string{core, enterpriseURN}, enterpriseURN, map[string]any{}),
			userBody("grouped", "externalId", "ext \"quoted\" <&>"),
			userBody("zoë", "displayName", "Zoë \u2028 \"Q\" \\ <b>&amp;</b> 😀", "title", "tab\there\nnewline",
				"active", false, "nickName", ""),
			userBody("managed", "schemas", []string{core, enterpriseURN}, enterpriseURN, map[string]any{"department": "R&D"}),
		} {
			r := c.do("POST", "/Users", body).want(t, http.StatusCreated)
			ids = append(ids, r.str("id"))
			if i == 3 {
				c.do("POST", "/Groups", groupBody("Zeta", r.str("id"))).want(t, http.StatusCreated)
				c.do("POST", "/Groups", groupBody("Alpha \"A\"", r.str("id"))).want(t, http.StatusCreated)
			}
		}
		// Documents that only the store writes: a member render sets
		// itself, an escaped key, numbers as the database keeps them.
		err := db.RunInTx(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			ten, _, err := tx.EnsureConnector(ctx, "acme", "okta")
			if err != nil {
				return err
			}
			users := []store.User{
				{TenantID: ten.ID, UserName: "reserved", Active: true, Attrs: map[string]any{"userName": "reserved", "groups": []any{"stored"}, "externalId": "stored"}},
				{TenantID: ten.ID, UserName: "escaped", Active: true, Attrs: map[string]any{"userName": "escaped", "we\"ird": "key", "n": 1.5e3, "big": 12345678901.0}},
			}
			return tx.InsertUsers(ctx, users)
		})
		if err != nil {
			t.Fatal(err)
		}
		fast := c.do("GET", "/Users?count=50", nil).want(t, http.StatusOK)
		general := c.do("GET", "/Users?count=50&excludedAttributes=noSuchAttribute", nil).want(t, http.StatusOK)
		if !reflect.DeepEqual(fast.body, general.body) {
			t.Errorf("the fast path's page differs from the general path's:\nfast:    %s\ngeneral: %s", fast.raw, general.raw)
		}
		var pages [2]struct{ Resources []json.RawMessage }
		for i, raw := range []string{fast.raw, general.raw} {
			if err := json.Unmarshal([]byte(raw), &pages[i]); err != nil {
				t.Fatal(err)
			}
		}
		if len(pages[0].Resources) != 8 || len(pages[1].Resources) != 8 {
			t.Fatalf("%d and %d resources, want 8", len(pages[0].Resources), len(pages[1].Resources))
		}
		for i, res := range pages[0].Resources {
			// The fast path writes meta's resourceType first; render's
			// sorted keys put created first. Only the two stored-only
			// documents go the general way.
			spliced := strings.Contains(string(res), `"meta":{"resourceType":`)
			if want := i < 6; spliced != want {
				t.Errorf("resource %d: spliced %v, want %v: %s", i, spliced, want, res)
			}
			var f, g map[string]any
			json.Unmarshal(res, &f)
			json.Unmarshal(pages[1].Resources[i], &g)
			if !reflect.DeepEqual(f, g) {
				t.Errorf("resource %d:\nfast:    %s\ngeneral: %s", i, res, pages[1].Resources[i])
			}
		}
		// The page carries what the users are: the declared-only
		// extension dropped but listed, groups, externalId.
		declared := fmt.Sprint(fast.body["Resources"].([]any)[2])
		if strings.Contains(declared, enterpriseURN+":map[]") || !strings.Contains(declared, enterpriseURN) {
			t.Errorf("declared-only extension: %s", declared)
		}
		grouped := fast.body["Resources"].([]any)[3].(map[string]any)
		if gs, _ := grouped["groups"].([]any); len(gs) != 2 || grouped["externalId"] != "ext \"quoted\" <&>" {
			t.Errorf("grouped user: %v", grouped)
		}
		// A user read alone (GET /Users/{id}) is the same document too.
		for i, id := range ids {
			one := c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
			if !reflect.DeepEqual(one.body, fast.body["Resources"].([]any)[i]) {
				t.Errorf("GET /Users/%s differs from its list entry:\n%s\n%s", id, one.raw, pages[0].Resources[i])
			}
		}
	})
}
