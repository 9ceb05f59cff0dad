package jit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestCookie: the session cookie holds the secret only, and is HttpOnly,
// SameSite=Lax, Path=/, expiring with the session, and Secure over TLS
// or behind an https base URL (TLS ended at a proxy), not over plain
// http. Sent back, it resolves to the person.
func TestCookie(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var tenant store.Tenant
		var conn store.Connector
		u := store.User{UserName: "ann", Active: true, Attrs: map[string]any{"userName": "ann"}}
		err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			if tenant, conn, err = tx.EnsureConnector(ctx, "acme", "oidc"); err != nil {
				return err
			}
			u.TenantID = tenant.ID
			return tx.InsertUser(ctx, &u)
		})
		if err != nil {
			t.Fatal(err)
		}
		engine := reconcile.New(db, nil)
		for _, c := range []struct {
			name    string
			baseURL string
			tls     bool
			secure  bool
		}{
			{"plain http", "", false, false},
			{"TLS", "", true, true},
			{"https base URL, TLS ended in front", "https://id.example.com", false, true},
		} {
			sessions := jit.NewSessions(jit.SessionConfig{BaseURL: c.baseURL}, engine)
			var issued reconcile.IssuedSession
			mux := http.NewServeMux()
			mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
				var err error
				if issued, err = engine.StartSession(r.Context(), reconcile.SessionStart{TenantID: tenant.ID, ConnectorID: conn.ID, UserID: u.ID}); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				sessions.SetCookie(w, r, issued)
			})
			mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
				ls, err := sessions.Resolve(r, "acme")
				if err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				w.Write([]byte(ls.UserID))
			})
			srv := httptest.NewUnstartedServer(mux)
			if c.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			client := srv.Client()
			res, err := client.Get(srv.URL + "/login")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			cookies := res.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("%s: Set-Cookie %v", c.name, res.Header["Set-Cookie"])
			}
			k := cookies[0]
			if k.Name != jit.CookieName || k.Value != issued.Secret || !k.HttpOnly || k.SameSite != http.SameSiteLaxMode ||
				k.Path != "/" || k.Domain != "" || k.Secure != c.secure || !k.Expires.Equal(issued.ExpiresAt.Truncate(time.Second)) {
				t.Errorf("%s: cookie %q, want the secret alone, HttpOnly, SameSite=Lax, Path=/, Secure %v, expiring at %v",
					c.name, res.Header.Get("Set-Cookie"), c.secure, issued.ExpiresAt)
			}
			if strings.Contains(res.Header.Get("Set-Cookie"), u.ID) {
				t.Errorf("%s: the cookie names the user", c.name)
			}
			req, _ := http.NewRequest("GET", srv.URL+"/whoami", nil)
			req.AddCookie(&http.Cookie{Name: k.Name, Value: k.Value})
			res, err = client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			buf := make([]byte, 64)
			n, _ := res.Body.Read(buf)
			b.Write(buf[:n])
			res.Body.Close()
			if res.StatusCode != http.StatusOK || b.String() != u.ID {
				t.Errorf("%s: the cookie sent back resolves to %d %q, want %s", c.name, res.StatusCode, b.String(), u.ID)
			}
			srv.Close()
		}
	})
}
