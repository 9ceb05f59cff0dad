package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestAdministrationIsAudited: every token, connector, configuration, org
// unit and group change is one audited engine operation naming who made
// it, before and after; no event holds a token or its hash.
func TestAdministrationIsAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := reconcile.New(db, nil)
		var all []store.AuditEvent
		// events returns the resource's events and checks that the last
		// one is action by source.
		events := func(tenantID int64, resourceType, id, action string, source reconcile.Source) store.AuditEvent {
			t.Helper()
			evs, err := db.AuditEvents(ctx, tenantID, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				t.Fatalf("%s %s: no audit event", resourceType, id)
			}
			last := evs[len(evs)-1]
			if last.ResourceType != resourceType || last.Action != action || last.Source != string(source) {
				t.Fatalf("%s %s: last event %+v, want %s by %s", resourceType, id, last, action, source)
			}
			all = append(all, last)
			return last
		}

		tok, err := e.IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		events(tok.TenantID, "Connector", "okta", "create", reconcile.SourceCLI)
		events(tok.TenantID, "Token", strconv.FormatInt(tok.ID, 10), "issue", reconcile.SourceCLI)

		if err := e.SetProfile(ctx, reconcile.CommandLine, "acme", "okta", "entra"); err != nil {
			t.Fatal(err)
		}
		ev := events(tok.TenantID, "Connector", "okta", "update", reconcile.SourceCLI)
		if fmt.Sprint(ev.Detail["before"].(map[string]any)["profile"], " ", ev.Detail["after"].(map[string]any)["profile"]) != "default entra" {
			t.Fatalf("profile event %v, want default → entra", ev.Detail)
		}

		if err := e.SetConnectorAdmin(ctx, reconcile.CommandLine, "acme", "admins", ""); err != nil {
			t.Fatal(err)
		}
		ev = events(tok.TenantID, "Connector", "admins", "update", reconcile.SourceCLI)
		if ev.Detail["after"].(map[string]any)["kind"] != store.KindAdmin {
			t.Fatalf("admin event %v", ev.Detail)
		}
		admin, err := db.ConnectorPrincipal(ctx, "acme", "admins")
		if err != nil {
			t.Fatal(err)
		}

		if _, err := e.RevokeToken(ctx, reconcile.CommandLine, tok.ID); err != nil {
			t.Fatal(err)
		}
		events(tok.TenantID, "Token", strconv.FormatInt(tok.ID, 10), "revoke", reconcile.SourceCLI)

		version, err := e.SaveConfig(ctx, admin, "tenants:\n  - name: acme\n    connectors: [{name: okta}]\n", 0)
		if err != nil || version != 1 {
			t.Fatalf("SaveConfig: %d, %v", version, err)
		}
		// A second edit that started from no saved version, too, does not
		// undo the first unseen.
		_, err = e.SaveConfig(ctx, admin, "tenants:\n  - name: acme\n    connectors: [{name: entra}]\n", 0)
		if ve, ok := errors.AsType[*reconcile.VersionError](err); !ok || ve.Stored != 1 || ve.From != 0 {
			t.Fatalf("a save over a version saved since: %v, want a VersionError naming version 1", err)
		}
		if text, v, err := db.TenantConfig(ctx, admin.TenantID); err != nil || v != 1 || !strings.Contains(text, "okta") {
			t.Fatalf("after the refused save: version %d %q, %v", v, text, err)
		}
		ev = events(admin.TenantID, "Config", "acme", "replace", reconcile.SourceAdmin)
		if ev.ConnectorID != admin.ConnectorID || !strings.Contains(fmt.Sprint(ev.Detail["after"]), "name: okta") {
			t.Fatalf("config event %+v, want by the admin connector, with the YAML after", ev)
		}

		u, err := e.CreateOrgUnit(ctx, admin, "Medicine/Cardiology")
		if err != nil || u.Path != "Medicine/Cardiology" {
			t.Fatalf("CreateOrgUnit: %+v, %v", u, err)
		}
		events(admin.TenantID, "OrgUnit", "Medicine/Cardiology", "create", reconcile.SourceAdmin)
		var conflict *store.ConflictError
		if _, err := e.CreateOrgUnit(ctx, admin, "medicine/cardiology"); !errors.As(err, &conflict) {
			t.Fatalf("the same unit again: %v, want a conflict", err)
		}

		g, err := e.CreateGroup(ctx, admin, "Faculty")
		if err != nil {
			t.Fatal(err)
		}
		events(admin.TenantID, "Group", g.ID, "create", reconcile.SourceAdmin)
		if _, err := e.CreateGroup(ctx, admin, "FACULTY"); !errors.As(err, &conflict) {
			t.Fatalf("the same group name again: %v, want a conflict", err)
		}

		raw, _ := json.Marshal(all)
		hash := sha256.Sum256([]byte(tok.Secret))
		for _, secret := range []string{tok.Secret, tok.Secret[len(reconcile.TokenPrefix):20], hex.EncodeToString(hash[:])} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("an audit event holds the token or its hash: %s", raw)
			}
		}
	})
}

// TestScopedAdministration: an org unit's administrator creates units
// below theirs and nothing of the whole tenant; another tenant's admin
// nothing at all.
func TestScopedAdministration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := reconcile.New(db, nil)
		admin := func(tenant, name, unit string) store.Principal {
			t.Helper()
			if err := e.SetConnectorAdmin(ctx, reconcile.CommandLine, tenant, name, unit); err != nil {
				t.Fatal(err)
			}
			p, err := db.ConnectorPrincipal(ctx, tenant, name)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		wide := admin("acme", "admins", "")
		if _, err := e.CreateOrgUnit(ctx, wide, "Medicine"); err != nil {
			t.Fatal(err)
		}
		medicine := admin("acme", "medicine-admins", "Medicine")
		var denied *reconcile.ForbiddenError
		for what, err := range map[string]error{
			"a unit beside":       second(e.CreateOrgUnit(ctx, medicine, "Surgery")),
			"its own unit":        second(e.CreateOrgUnit(ctx, medicine, "Medicine")),
			"a group":             second(e.CreateGroup(ctx, medicine, "Faculty")),
			"the configuration":   second(e.SaveConfig(ctx, medicine, "tenants: [{name: acme}]\n", reconcile.AnyVersion)),
			"a token":             second(e.IssueToken(ctx, medicine, "acme", "okta")),
			"another tenant's":    second(e.IssueToken(ctx, wide, "globex", "okta")),
			"another's connector": e.SetProfile(ctx, wide, "globex", "okta", "strict"),
		} {
			if !errors.As(err, &denied) {
				t.Errorf("%s: %v, want forbidden", what, err)
			}
		}
		if u, err := e.CreateOrgUnit(ctx, medicine, "medicine/Radiology"); err != nil || u.Path != "Medicine/Radiology" {
			t.Fatalf("a unit below its own: %+v, %v", u, err)
		}
		var bad *reconcile.InputError
		if _, err := e.CreateOrgUnit(ctx, wide, "Medicine//X"); !errors.As(err, &bad) {
			t.Fatalf("an empty path segment: %v, want an input error", err)
		}
	})
}

func second[T any](_ T, err error) error { return err }
