package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestWithPrincipal: a request whose context carries an admin principal
// (the console's, in process) acts as it without a token, within its
// tenant and scope; a principal of another tenant or kind opens nothing.
func TestWithPrincipal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := reconcile.New(db, nil)
		token(t, e, "okta", "-")
		token(t, e, "admins", "")
		principal := func(name string) store.Principal {
			p, err := db.ConnectorPrincipal(ctx, "acme", name)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		if _, err := e.CreateOrgUnit(ctx, principal("admins"), "Medicine/Radiology"); err != nil {
			t.Fatal(err)
		}
		token(t, e, "radiology", "Medicine/Radiology")
		api := admin.NewHandler(admin.Config{}, db.Reader(), e)
		var as *store.Principal
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if as != nil {
				r = r.WithContext(admin.WithPrincipal(r.Context(), *as))
			}
			api.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)

		wide, okta, unit := principal("admins"), principal("okta"), principal("radiology")
		other := wide
		other.TenantName = "globex"
		for _, c := range []struct {
			name string
			as   *store.Principal
			path string
			want int
		}{
			{"tenant-wide admin", &wide, "/admin/v1/acme/users", http.StatusOK},
			{"tenant-wide admin, tenant-wide endpoint", &wide, "/admin/v1/acme/connectors/okta", http.StatusOK},
			{"org-unit admin", &unit, "/admin/v1/acme/users", http.StatusOK},
			{"org-unit admin, tenant-wide endpoint", &unit, "/admin/v1/acme/connectors/okta", http.StatusForbidden},
			{"another tenant's URL", &other, "/admin/v1/acme/users", http.StatusUnauthorized},
			{"a SCIM connector", &okta, "/admin/v1/acme/users", http.StatusUnauthorized},
			{"no principal, no token", nil, "/admin/v1/acme/users", http.StatusUnauthorized},
		} {
			as = c.as
			if got, doc, _ := call(t, "GET", srv.URL+c.path, "", ""); got != c.want {
				t.Errorf("%s: GET %s: %d %v, want %d", c.name, c.path, got, doc, c.want)
			}
		}
	})
}
