package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// claimsConfig is a login (sso, OIDC) whose rules read the sign-in's
// claims (it-admins, contractors) and a stored attribute (readers, by
// title: reader is the title readers grant).
func claimsConfig(reader string) string {
	return fmt.Sprintf(`
tenants:
  - name: acme
    roles:
      - name: scimd-admin
      - name: reader
    connectors:
      - name: sso
        kind: oidc
        oidc: {issuer: https://idp.example.com, clientId: scimd}
        allow: {roles: [scimd-admin, reader]}
        rules:
          - name: it-admins
            if: has(claims.groups) && "IT" in claims.groups
            roles: [scimd-admin]
          - name: contractors
            if: has(claims.contractor)
            accessEnd: "2030-06-30"
          - name: readers
            if: title == %q
            roles: [reader]
`, reader)
}

// TestReapplyKeepsWhatClaimsGranted: a rule change re-applied to a login's
// users does not re-run the rules that read claims, which only a sign-in
// has: the roles and the access window they gave stay (the impact says
// so, and which rules), while a rule reading stored attributes is re-run;
// the next sign-in decides the claims' rules again.
func TestReapplyKeepsWhatClaimsGranted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, claimsConfig("Dr"))
		w.tx(func(ctx context.Context, tx *store.Tx) error {
			var err error
			w.conns["sso"], err = tx.SetKind(ctx, w.conns["sso"], store.KindOIDC)
			return err
		})
		for _, r := range []string{"scimd-admin", "reader"} {
			w.role(r)
		}
		signIn := func(claims map[string]any) *reconcile.Plan {
			t.Helper()
			in := via(w.input("sso", reconcile.Upsert, "sub-ann", user("ann", "title", "Dr")), reconcile.SourceOIDC)
			in.Claims = claims
			p, err := w.e.SignIn(ctx, in, true, map[string]any{"sub": "sub-ann"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		end := time.Date(2030, 6, 30, 0, 0, 0, 0, time.UTC)
		ann := signIn(map[string]any{"sub": "sub-ann", "groups": []any{"IT"}, "contractor": true}).User.ID
		if g := w.grants(ann); !slices.Contains(g, "role:scimd-admin") || !slices.Contains(g, "role:reader") || !w.stored(ann).AccessEnd.Equal(end) {
			t.Fatalf("signed in: grants %v, access end %v", g, w.stored(ann).AccessEnd)
		}

		by := store.Principal{TenantID: w.tenant.ID, TenantName: w.tenant.Name}
		next := claimsConfig("Prof")
		var impacts []reconcile.UserImpact
		rep, err := w.e.Impact(ctx, by, next, func(ui reconcile.UserImpact) { impacts = append(impacts, ui) })
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"sso/it-admins", "sso/contractors"}; !slices.Equal(rep.Undecided, want) {
			t.Fatalf("undecided %v, want %v", rep.Undecided, want)
		}
		if len(impacts) != 1 || len(impacts[0].Grants) != 1 || impacts[0].Grants[0].Name != "reader" || impacts[0].Grants[0].Op != "remove" ||
			len(impacts[0].Changes) != 0 {
			t.Fatalf("impact %+v, want reader revoked and nothing else", impacts)
		}

		if _, err := w.e.SaveConfig(ctx, by, next, reconcile.AnyVersion); err != nil {
			t.Fatal(err)
		}
		j, _, err := w.e.StartReapply(ctx, by)
		if err != nil {
			t.Fatal(err)
		}
		if j, err = w.e.RunReapply(ctx, by, j.ID, nil); err != nil || j.State != store.ReapplyDone || j.UsersChanged != 1 {
			t.Fatalf("re-apply %+v, %v", j, err)
		}
		if g := w.grants(ann); !slices.Equal(g, []string{"role:scimd-admin"}) || !w.stored(ann).AccessEnd.Equal(end) {
			t.Fatalf("re-applied: grants %v, access end %v; want scimd-admin and the window kept, reader revoked", g, w.stored(ann).AccessEnd)
		}

		// A sign-in knows the claims: out of IT, no contractor, both go.
		signIn(map[string]any{"sub": "sub-ann", "groups": []any{"Sales"}})
		if g := w.grants(ann); len(g) != 0 || !w.stored(ann).AccessEnd.IsZero() {
			t.Fatalf("signed in again: grants %v, access end %v; want none", g, w.stored(ann).AccessEnd)
		}
	})
}
