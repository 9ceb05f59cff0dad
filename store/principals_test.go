package store_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestPrincipalListenerOutage: while the principal listener is cut off
// (its backend terminated, and kept from reconnecting), the cache is not
// used: every request reads its token, so a revocation whose notification
// nobody hears still refuses the next request. Once it listens again, a
// warm GET is one statement again.
func TestPrincipalListenerOutage(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	db := storetest.Open(t, dsn)
	statements := db.CountStatements()
	srv := httptest.NewServer(scim.NewHandler(scim.Config{}, db.Reader(), reconcile.New(db, nil)))
	defer srv.Close()
	other := storetest.Open(t, dsn) // another process: scimd token revoke
	issue := func() (string, int64) {
		tok, err := reconcile.New(other, nil).IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret, tok.ID
	}
	get := func(token string) (status int, stmts int64) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/scim/v2/acme/Users?filter="+url.QueryEscape(`userName eq "nobody"`), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		before := statements.Load()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, statements.Load() - before
	}
	until := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	cacheable := func() bool { _, ok := db.PrincipalEpoch(); return ok }

	token, id := issue()
	until("listening", cacheable)
	get(token)
	if status, n := get(token); status != 200 || n != 1 {
		t.Fatalf("warm GET: %d, %d statements; want 200 and 1", status, n)
	}

	release := db.HoldPrincipalListener()
	pid := db.PrincipalListenerPID()
	if _, err := other.Exec(ctx, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid)); err != nil {
		t.Fatal(err)
	}
	until("the cut noticed", func() bool { return !cacheable() })
	for range 3 {
		if status, n := get(token); status != 200 || n != 2 {
			t.Errorf("GET while the listener is cut off: %d, %d statements; want 200 and 2 (the token read each time)", status, n)
		}
	}
	// Revoked elsewhere, its notification unheard: refused all the same.
	if _, err := reconcile.New(other, nil).RevokeToken(ctx, reconcile.CommandLine, id); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(token); status != 401 {
		t.Errorf("GET with a token revoked while the listener was cut off: %d, want 401", status)
	}

	release()
	until("listening again", cacheable)
	if db.PrincipalListenerPID() == pid {
		t.Error("the listener did not reconnect")
	}
	fresh, _ := issue()
	get(fresh)
	if status, n := get(fresh); status != 200 || n != 1 {
		t.Errorf("warm GET after reconnecting: %d, %d statements; want 200 and 1", status, n)
	}
	if status, _ := get(token); status != 401 {
		t.Errorf("the revoked token after reconnecting: %d, want 401", status)
	}
}

// TestPrincipalListenerHeartbeat: the listener's idle check (a statement
// after each quiet heartbeat) keeps its connection: no reconnect, no new
// epoch, caching stays on.
func TestPrincipalListenerHeartbeat(t *testing.T) {
	defer store.SetPrincipalHeartbeat(20 * time.Millisecond)()
	db := storetest.Open(t, storetest.PostgresDSN(t))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := db.PrincipalEpoch(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not listening within 10 s")
		}
	}
	epoch, _ := db.PrincipalEpoch()
	pid := db.PrincipalListenerPID()
	time.Sleep(300 * time.Millisecond) // 15 heartbeats
	now, ok := db.PrincipalEpoch()
	if !ok || now != epoch || db.PrincipalListenerPID() != pid {
		t.Errorf("after 15 heartbeats: cacheable %v, epoch %d → %d, listener %d → %d; want the same connection throughout",
			ok, epoch, now, pid, db.PrincipalListenerPID())
	}
}

// TestListenVia: "off" caches no principals however long the store runs;
// another URL (the database's direct address behind a pooling proxy) is
// the one the listener connects to; SQLite, which caches none, refuses it.
func TestListenVia(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	off := storetest.Open(t, dsn)
	if err := off.ListenVia("off"); err != nil {
		t.Fatal(err)
	}
	direct := storetest.Open(t, dsn)
	if err := direct.ListenVia(dsn); err != nil {
		t.Fatal(err)
	}
	off.PrincipalEpoch() // would start its listener, if it had one
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := direct.PrincipalEpoch(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listening through the direct URL: not within 10 s")
		}
	}
	time.Sleep(100 * time.Millisecond) // as long again as a listener takes here
	if direct.PrincipalListenerPID() == 0 {
		t.Error("the direct URL's listener has no backend")
	}
	if _, ok := off.PrincipalEpoch(); ok {
		t.Error(`with ListenVia("off") a principal may be cached`)
	}
	if err := direct.ListenVia("postgres://%zz"); err == nil {
		t.Error("a malformed listener URL was taken")
	}
	lite := storetest.Open(t, "sqlite:"+t.TempDir()+"/x.db")
	if err := lite.ListenVia("off"); err == nil {
		t.Error("SQLite took a principal listener URL")
	}
}
