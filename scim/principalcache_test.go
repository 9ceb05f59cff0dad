package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// waitCacheable waits until db would cache principals: on PostgreSQL once
// its listener listens; never on SQLite, where it returns at once.
func waitCacheable(t *testing.T, db *store.DB) {
	t.Helper()
	if db.Dialect() != store.Postgres {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := db.PrincipalEpoch(); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the principal listener did not listen within 10 s")
		}
	}
}

// TestPrincipalCache: on a warm cache, GET /Users?filter=userName eq is one
// statement on PostgreSQL (the token is not read again); a token revoked
// and a profile changed by another process (scimd token revoke, connector
// set: a DB and an engine of their own) take effect within the
// notification's latency, and a revocation in this process at once.
// SQLite caches nothing, so there the lookup stays and every change is
// seen at once.
func TestPrincipalCache(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		statements := db.CountStatements()
		srv := newServer(t, db, scim.Config{})
		issue := func(connector string) (*client, int64) {
			tok, err := reconcile.New(db, nil).IssueToken(ctx, reconcile.CommandLine, "acme", connector)
			if err != nil {
				t.Fatal(err)
			}
			return &client{t: t, base: srv.URL + "/scim/v2/acme", token: tok.Secret}, tok.ID
		}
		c, id := issue("okta")
		uid := c.do("POST", "/Users", userBody("bjensen@example.com")).want(t, 201).str("id")
		query := "/Users?filter=" + url.QueryEscape(`userName eq "bjensen@example.com"`)
		waitCacheable(t, db)
		c.do("GET", query, nil).want(t, 200) // warms the cache

		want := int64(1)
		if db.Dialect() == store.SQLite {
			want = 2 // the token lookup, then the query
		}
		for range 3 {
			before := statements.Load()
			r := c.do("GET", query, nil).want(t, 200)
			if n := statements.Load() - before; n != want {
				t.Errorf("GET userName eq on a warm cache: %d statements, want %d", n, want)
			}
			if r.body["totalResults"] != float64(1) {
				t.Fatalf("GET userName eq: %s", r.raw)
			}
		}

		// Another process changes the connector's profile: a user PATCH
		// answers 204 under entra, 200 before.
		other := storetest.Open(t, dsn)
		patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "Barbara"}}}
		c.do("PATCH", "/Users/"+uid, patch).want(t, 200)
		if err := reconcile.New(other, nil).SetProfile(ctx, reconcile.CommandLine, "acme", "okta", "entra"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the profile set by another process", func() bool {
			return c.do("PATCH", "/Users/"+uid, patch).status == http.StatusNoContent
		})

		// Another process revokes the token.
		c.do("GET", query, nil).want(t, 200)
		if _, err := reconcile.New(other, nil).RevokeToken(ctx, reconcile.CommandLine, id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the token revoked by another process", func() bool {
			r := c.do("GET", query, nil)
			if r.status != 200 && r.status != 401 {
				t.Fatalf("GET after revocation: %d %s", r.status, r.raw)
			}
			return r.status == 401
		})
		for range 3 {
			c.do("GET", query, nil).want(t, 401)
		}

		// This process revokes a token: refused from the next request on.
		c2, id2 := issue("entra")
		c2.do("GET", query, nil).want(t, 200)
		c2.do("GET", query, nil).want(t, 200)
		if _, err := reconcile.New(db, nil).RevokeToken(ctx, reconcile.CommandLine, id2); err != nil {
			t.Fatal(err)
		}
		c2.do("GET", query, nil).want(t, 401)
	})
}

// waitFor polls ok until it holds, failing the test after a second: a
// notification between processes on one host arrives in well under that.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not in effect after %v", what, time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("%s: in effect after %v", what, time.Since(start).Round(time.Microsecond))
}
