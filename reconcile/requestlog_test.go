package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// TestRequestLogBounds: the log keeps a connector's newest MaxRows
// requests and none older than MaxAge, leaves other connectors' alone,
// and a closed log drops and counts what it is handed.
func TestRequestLogBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var tenant store.Tenant
		var busy, quiet store.Connector
		err := db.RunInTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			if tenant, busy, err = tx.EnsureConnector(ctx, "acme", "okta"); err != nil {
				return err
			}
			_, quiet, err = tx.EnsureConnector(ctx, "acme", "entra")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		e := reconcile.New(db, nil)
		e.SetClock(func() time.Time { return now })
		l := e.StartRequestLog(reconcile.RequestLogConfig{MaxRows: 5, MaxAge: 24 * time.Hour, PruneEvery: time.Hour})
		defer l.Close(ctx)
		entry := func(c store.Connector, path string) store.LoggedRequest {
			return store.LoggedRequest{TenantID: tenant.ID, ConnectorID: c.ID, At: now, Method: "GET", Path: path, Status: 200}
		}
		for i := range 12 {
			if !l.Append(entry(busy, "/scim/v2/acme/Users?n="+string(rune('a'+i)))) {
				t.Fatal("a request was dropped with room in the queue")
			}
		}
		for range 3 {
			l.Append(entry(quiet, "/scim/v2/acme/Groups"))
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		count := func(c store.Connector) int64 {
			n, err := db.CountRequests(ctx, tenant.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n, m := count(busy), count(quiet); n != 5 || m != 3 {
			t.Fatalf("after 12 and 3 requests with MaxRows 5: %d and %d kept, want 5 and 3", n, m)
		}
		kept, err := db.Requests(ctx, tenant.ID, busy.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if kept[0].Path != "/scim/v2/acme/Users?n=l" || kept[4].Path != "/scim/v2/acme/Users?n=h" {
			t.Fatalf("kept %s … %s, want the newest five, l … h", kept[0].Path, kept[4].Path)
		}

		now = now.Add(25 * time.Hour)
		l.Append(entry(busy, "/scim/v2/acme/Users?late"))
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, m := count(busy), count(quiet); n != 1 || m != 0 {
			t.Fatalf("a day later: %d and %d kept, want only the new one", n, m)
		}

		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if l.Append(entry(busy, "/after")) || l.Dropped() != 1 {
			t.Fatalf("after Close: Dropped %d, want the one request appended", l.Dropped())
		}
	})
}

// TestRequestLogTouchesTokens: the writer records a token's use with the
// request that carried it, and again only once TouchEvery has passed
// since; a request of no token touches nothing.
func TestRequestLogTouchesTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := reconcile.New(db, nil)
		tok, err := e.IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Authenticate(ctx, "Bearer "+tok.Secret, "acme", store.KindSCIM)
		if err != nil || p.TokenID != tok.ID {
			t.Fatalf("principal's token %d (%v), want %d", p.TokenID, err, tok.ID)
		}
		l := e.StartRequestLog(reconcile.RequestLogConfig{})
		defer l.Close(ctx)
		t0 := time.Now().UTC().Truncate(time.Second)
		lastUsed := func(at time.Time, token int64) *time.Time {
			t.Helper()
			l.Append(store.LoggedRequest{TenantID: p.TenantID, ConnectorID: p.ConnectorID, TokenID: token, At: at, Method: "GET", Path: "/Users", Status: 200})
			if err := l.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			info, err := db.Reader().TokenInfo(ctx, tok.ID)
			if err != nil {
				t.Fatal(err)
			}
			return info.LastUsedAt
		}
		if got := lastUsed(t0, 0); got != nil {
			t.Fatalf("a request of no token: last used %v, want never", got)
		}
		for _, c := range []struct {
			at, want time.Time
		}{{t0, t0}, {t0.Add(30 * time.Second), t0}, {t0.Add(reconcile.TouchEvery), t0.Add(reconcile.TouchEvery)}} {
			if got := lastUsed(c.at, tok.ID); got == nil || !got.Equal(c.want) {
				t.Errorf("request at %v: last used %v, want %v", c.at, got, c.want)
			}
		}
	})
}
